//! What a webhook reports: an [`Event`] of one [`EventKind`], with an id a
//! receiver uses to drop duplicates (a retry, or a replay inside the
//! signature's tolerance) and a one-line summary for chat presets.

use std::fmt;
use std::str::FromStr;

use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The header carrying [`Event::id`]: the same on every attempt of one
/// delivery, so a receiver that already handled it answers 2xx and skips it.
pub const EVENT_ID_HEADER: &str = "X-Augment-Event-Id";

/// The header naming the event, for receivers that route before parsing.
pub const EVENT_KIND_HEADER: &str = "X-Augment-Event";

/// The events an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// A run sent every request (some may have failed one by one).
    #[serde(rename = "run.finished")]
    RunFinished,
    /// A run stopped before it was done for a reason other than the person
    /// (the provider unreachable, its quota used up, a database error).
    #[serde(rename = "run.failed")]
    RunFailed,
    /// A run stopped because its budget cap was reached.
    #[serde(rename = "run.budget_reached")]
    RunBudgetReached,
    /// A dataset was imported.
    #[serde(rename = "import.done")]
    ImportDone,
    /// Sent by "Test endpoint" only; no endpoint subscribes to it.
    #[serde(rename = "test")]
    Test,
}

impl EventKind {
    /// The events an endpoint may subscribe to (all but [`EventKind::Test`]).
    pub const SUBSCRIBABLE: [EventKind; 4] =
        [EventKind::RunFinished, EventKind::RunFailed, EventKind::RunBudgetReached, EventKind::ImportDone];

    /// The wire name (`run.finished` …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunFinished => "run.finished",
            EventKind::RunFailed => "run.failed",
            EventKind::RunBudgetReached => "run.budget_reached",
            EventKind::ImportDone => "import.done",
            EventKind::Test => "test",
        }
    }

    /// A title for a person (chat messages, desktop notifications).
    pub fn title(self) -> &'static str {
        match self {
            EventKind::RunFinished => "Run finished",
            EventKind::RunFailed => "Run stopped with a problem",
            EventKind::RunBudgetReached => "Run reached its budget",
            EventKind::ImportDone => "Import done",
            EventKind::Test => "Test from Augment-It",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [EventKind::Test].into_iter().chain(EventKind::SUBSCRIBABLE).find(|k| k.as_str() == s).ok_or_else(|| {
            crate::Error::Invalid(format!(
                "unknown event `{s}`: use run.finished, run.failed, run.budget_reached or import.done"
            ))
        })
    }
}

/// One occurrence of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per event (`evt_` and 32 hex digits); the same on every attempt and endpoint.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When it happened, unix seconds.
    pub created: u64,
    /// One line for a person: "Run 12 finished: 98 answered, 2 failed".
    pub summary: String,
    /// The event's facts (run id and counts, dataset id and rows …).
    pub data: serde_json::Value,
}

impl Event {
    /// A new event now, with a fresh id.
    pub fn new(kind: EventKind, summary: impl Into<String>, data: serde_json::Value) -> Self {
        let id = format!("evt_{}", hex::encode(rand::thread_rng().r#gen::<[u8; 16]>()));
        Self { id, kind, created: crate::unix_now(), summary: summary.into(), data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for kind in EventKind::SUBSCRIBABLE.into_iter().chain([EventKind::Test]) {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        let err = "run.done".parse::<EventKind>().unwrap_err().to_string();
        assert!(err.contains("run.done") && err.contains("run.finished"), "{err}");
    }

    #[test]
    fn ids_are_unique() {
        let (a, b) = (
            Event::new(EventKind::Test, "", serde_json::Value::Null),
            Event::new(EventKind::Test, "", serde_json::Value::Null),
        );
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 4 + 32);
    }
}
