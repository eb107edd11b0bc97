//! Webhook endpoints and their delivery log (schema 11, `crates/notify-hooks`).
//!
//! An endpoint row holds what may be shown: its name, preset, events and
//! the URL's host. The URL itself (a Slack or Teams webhook URL is a
//! secret) and the signing secret live in the OS keychain, keyed by the
//! endpoint's id. The log keeps one row per delivery attempt, the newest
//! [`MAX_HOOK_DELIVERIES`]; it outlives a deleted endpoint (no foreign key).

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use crate::{Error, Store, now_millis};

/// Rows the delivery log keeps; older ones are deleted as new ones come.
pub const MAX_HOOK_DELIVERIES: i64 = 5000;

/// Longest endpoint name.
const MAX_NAME_CHARS: usize = 100;

/// A configured webhook endpoint, without its URL or secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEndpoint {
    pub id: i64,
    pub name: String,
    /// `generic`, `slack` or `teams`.
    pub preset: String,
    /// The events it receives (`run.finished` …).
    pub events: Vec<String>,
    /// The URL's host (and port), all that is shown of the URL.
    pub host: String,
    /// Milliseconds since the epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: i64,
}

/// One attempt as the log holds it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookDelivery {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub event_id: String,
    pub event: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub endpoint_id: i64,
    pub endpoint: String,
    pub host: String,
    pub attempt: u32,
    /// `delivered`, `retrying` or `failed`.
    pub outcome: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// Milliseconds since the epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: i64,
}

/// A delivery queued and not finished: what resuming it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHookDelivery {
    pub event_id: String,
    pub endpoint_id: i64,
    /// The event as JSON.
    pub event: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// An attempt to log.
#[derive(Debug, Clone)]
pub struct NewHookDelivery<'a> {
    pub event_id: &'a str,
    pub event: &'a str,
    pub endpoint_id: i64,
    pub endpoint: &'a str,
    pub host: &'a str,
    pub attempt: u32,
    pub outcome: &'a str,
    pub status: Option<u16>,
    pub error: Option<&'a str>,
}

impl Store {
    /// Saves a new endpoint (the caller has checked preset, events and host).
    pub fn add_hook_endpoint(
        &self,
        name: &str,
        preset: &str,
        events: &[String],
        host: &str,
    ) -> Result<HookEndpoint, Error> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::Invalid {
                field: "name",
                message: format!("give the endpoint a name of 1 to {MAX_NAME_CHARS} characters"),
            });
        }
        if events.is_empty() {
            return Err(Error::Invalid { field: "events", message: "choose at least one event to send".into() });
        }
        let taken: bool =
            self.conn
                .query_row("SELECT EXISTS (SELECT 1 FROM hook_endpoints WHERE name = ?1)", [name], |r| r.get(0))?;
        if taken {
            return Err(Error::NameTaken { kind: "webhook endpoint", name: name.to_owned() });
        }
        let events_json = serde_json::to_string(events).map_err(crate::datasets::json_bug)?;
        self.conn.execute(
            "INSERT INTO hook_endpoints (name, preset, events, host, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, preset, events_json, host, now_millis()],
        )?;
        self.hook_endpoint(self.conn.last_insert_rowid())
    }

    /// Every endpoint, by name.
    pub fn hook_endpoints(&self) -> Result<Vec<HookEndpoint>, Error> {
        let mut statement = self
            .conn
            .prepare("SELECT id, name, preset, events, host, created_at FROM hook_endpoints ORDER BY name, id")?;
        let rows = statement.query_map([], endpoint_row)?;
        rows.map(|row| row?.into_endpoint()).collect()
    }

    /// One endpoint.
    pub fn hook_endpoint(&self, id: i64) -> Result<HookEndpoint, Error> {
        self.conn
            .query_row(
                "SELECT id, name, preset, events, host, created_at FROM hook_endpoints WHERE id = ?1",
                [id],
                endpoint_row,
            )
            .optional()?
            .ok_or(Error::NotFound { kind: "webhook endpoint", id })?
            .into_endpoint()
    }

    /// Deletes an endpoint (its log rows stay, its unfinished deliveries
    /// go); whether there was one.
    pub fn delete_hook_endpoint(&mut self, id: i64) -> Result<bool, Error> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM hook_outbox WHERE endpoint_id = ?1", [id])?;
        let deleted = tx.execute("DELETE FROM hook_endpoints WHERE id = ?1", [id])? > 0;
        tx.commit()?;
        Ok(deleted)
    }

    /// Logs an attempt and trims the log to [`MAX_HOOK_DELIVERIES`] rows; in
    /// the same transaction, the delivery's outbox row counts the attempt, or
    /// goes when the attempt delivered or gave up.
    pub fn record_hook_delivery(&mut self, d: &NewHookDelivery<'_>) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO hook_deliveries (event_id, event, endpoint_id, endpoint, host, attempt, outcome, status, error, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![d.event_id, d.event, d.endpoint_id, d.endpoint, d.host, d.attempt, d.outcome, d.status, d.error, now_millis()],
        )?;
        let newest = tx.last_insert_rowid();
        tx.execute("DELETE FROM hook_deliveries WHERE id <= ?1", [newest - MAX_HOOK_DELIVERIES])?;
        if d.outcome == "retrying" {
            tx.execute(
                "UPDATE hook_outbox SET attempts = ?3 WHERE event_id = ?1 AND endpoint_id = ?2",
                params![d.event_id, d.endpoint_id, d.attempt],
            )?;
        } else {
            tx.execute(
                "DELETE FROM hook_outbox WHERE event_id = ?1 AND endpoint_id = ?2",
                params![d.event_id, d.endpoint_id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Queues a delivery of `event` (its JSON) to an endpoint, before its
    /// first attempt. Queuing the same one again changes nothing.
    pub fn queue_hook_delivery(&self, event_id: &str, endpoint_id: i64, event: &str) -> Result<(), Error> {
        self.conn.execute(
            "INSERT OR IGNORE INTO hook_outbox (event_id, endpoint_id, event, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![event_id, endpoint_id, event, now_millis()],
        )?;
        Ok(())
    }

    /// Every delivery queued and not finished, oldest first.
    pub fn pending_hook_deliveries(&self) -> Result<Vec<PendingHookDelivery>, Error> {
        let mut statement = self.conn.prepare(
            "SELECT event_id, endpoint_id, event, attempts, created_at FROM hook_outbox ORDER BY created_at, rowid",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(PendingHookDelivery {
                event_id: r.get(0)?,
                endpoint_id: r.get(1)?,
                event: r.get(2)?,
                attempts: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Drops a queued delivery that will not be resumed (its endpoint is gone, or it is too old).
    pub fn drop_hook_delivery(&self, event_id: &str, endpoint_id: i64) -> Result<(), Error> {
        self.conn.execute(
            "DELETE FROM hook_outbox WHERE event_id = ?1 AND endpoint_id = ?2",
            params![event_id, endpoint_id],
        )?;
        Ok(())
    }

    /// The newest `limit` attempts (of one endpoint, if given), newest first.
    pub fn hook_deliveries(&self, endpoint_id: Option<i64>, limit: u32) -> Result<Vec<HookDelivery>, Error> {
        let mut statement = self.conn.prepare(
            "SELECT id, event_id, event, endpoint_id, endpoint, host, attempt, outcome, status, error, at
             FROM hook_deliveries WHERE ?1 IS NULL OR endpoint_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![endpoint_id, limit.min(crate::MAX_PAGE)], |r| {
            Ok(HookDelivery {
                id: r.get(0)?,
                event_id: r.get(1)?,
                event: r.get(2)?,
                endpoint_id: r.get(3)?,
                endpoint: r.get(4)?,
                host: r.get(5)?,
                attempt: r.get(6)?,
                outcome: r.get(7)?,
                status: r.get(8)?,
                error: r.get(9)?,
                at: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether desktop notifications are on (the default).
    pub fn desktop_notifications(&self) -> Result<bool, Error> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM hook_settings WHERE key = 'desktop_notifications'", [], |r| r.get(0))
            .optional()?;
        Ok(value.as_deref() != Some("off"))
    }

    /// Turns desktop notifications on or off.
    pub fn set_desktop_notifications(&self, on: bool) -> Result<(), Error> {
        self.conn.execute(
            "INSERT INTO hook_settings (key, value) VALUES ('desktop_notifications', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [if on { "on" } else { "off" }],
        )?;
        Ok(())
    }
}

struct EndpointRow {
    id: i64,
    name: String,
    preset: String,
    events: String,
    host: String,
    created_at: i64,
}

impl EndpointRow {
    fn into_endpoint(self) -> Result<HookEndpoint, Error> {
        let events = serde_json::from_str(&self.events).map_err(crate::datasets::json_bug)?;
        Ok(HookEndpoint {
            id: self.id,
            name: self.name,
            preset: self.preset,
            events,
            host: self.host,
            created_at: self.created_at,
        })
    }
}

fn endpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRow> {
    Ok(EndpointRow {
        id: r.get(0)?,
        name: r.get(1)?,
        preset: r.get(2)?,
        events: r.get(3)?,
        host: r.get(4)?,
        created_at: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("db.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn endpoints_are_added_listed_refused_twice_and_deleted() {
        let (_dir, mut store) = store();
        let events = vec!["run.finished".to_owned()];
        let added = store.add_hook_endpoint(" team ", "slack", &events, "hooks.slack.com").unwrap();
        assert_eq!((added.name.as_str(), added.events.clone()), ("team", events.clone()));
        assert!(matches!(store.add_hook_endpoint("team", "generic", &events, "h"), Err(Error::NameTaken { .. })));
        assert!(matches!(
            store.add_hook_endpoint("", "generic", &events, "h"),
            Err(Error::Invalid { field: "name", .. })
        ));
        assert!(matches!(
            store.add_hook_endpoint("x", "generic", &[], "h"),
            Err(Error::Invalid { field: "events", .. })
        ));
        assert_eq!(store.hook_endpoints().unwrap(), vec![added.clone()]);
        assert!(store.delete_hook_endpoint(added.id).unwrap());
        assert!(!store.delete_hook_endpoint(added.id).unwrap());
        assert!(matches!(store.hook_endpoint(added.id), Err(Error::NotFound { .. })));
    }

    #[test]
    fn the_log_is_newest_first_filtered_and_bounded() {
        let (_dir, mut store) = store();
        for i in 0..(MAX_HOOK_DELIVERIES + 3) {
            let endpoint_id = 1 + i % 2;
            let row = NewHookDelivery {
                event_id: "evt_1",
                event: "test",
                endpoint_id,
                endpoint: "e",
                host: "h",
                attempt: 1,
                outcome: "delivered",
                status: Some(200),
                error: None,
            };
            store.record_hook_delivery(&row).unwrap();
        }
        let all: i64 = store.conn.query_row("SELECT COUNT(*) FROM hook_deliveries", [], |r| r.get(0)).unwrap();
        assert_eq!(all, MAX_HOOK_DELIVERIES);
        let newest = store.hook_deliveries(None, 3).unwrap();
        assert_eq!(newest.len(), 3);
        assert!(newest[0].id > newest[1].id);
        assert!(store.hook_deliveries(Some(2), 10).unwrap().iter().all(|d| d.endpoint_id == 2));
    }

    #[test]
    fn desktop_notifications_default_on_and_turn_off() {
        let (_dir, store) = store();
        assert!(store.desktop_notifications().unwrap());
        store.set_desktop_notifications(false).unwrap();
        assert!(!store.desktop_notifications().unwrap());
        store.set_desktop_notifications(true).unwrap();
        assert!(store.desktop_notifications().unwrap());
    }
}
