//! What the REST connectors (NocoDB, Airtable) share: one HTTP client setup,
//! URLs built segment by segment (ids and table names are escaped, a base URL's
//! own path is kept), the credential as a header value reqwest never prints,
//! and answers turned into [`Error`]s that quote the service's own reason.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::pacing::{Pacer, network_error};
use crate::{Credential, Error, FailedRow, Secret, WriteReport, WriteRow};

/// A page of 1,000 records can take a while on a slow self-hosted server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// What a 404 to an update is about: a record (deleted since the import), not the table.
pub(crate) const ROW_OF_BATCH: &str = "a record of the batch";
/// How much of a refusal's text is quoted in an error.
const MAX_REASON_CHARS: usize = 300;

pub(crate) fn http_client(service: &'static str) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .user_agent(concat!("augment-desktop-datastores/", env!("CARGO_PKG_VERSION")))
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| Error::Config { service, message: format!("cannot set up HTTP: {e}") })
}

/// The one steady pace (see [`Pacer::steady`]) of `service` at `scope` (a
/// NocoDB server, an Airtable base) and `per_second` in this process, with
/// `default_wait` after a 429 without `Retry-After`. Clients made per call
/// (the connector service makes one per request) share it, so together they
/// keep the service's limit instead of each starting with a fresh allowance.
pub(crate) fn shared_pacer(
    service: &'static str,
    scope: &str,
    per_second: NonZeroU32,
    default_wait: Option<Duration>,
) -> Arc<Pacer> {
    type Key = (&'static str, String, NonZeroU32);
    static PACERS: OnceLock<Mutex<HashMap<Key, Weak<Pacer>>>> = OnceLock::new();
    let mut pacers = PACERS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    let key = (service, scope.to_owned(), per_second);
    if let Some(pacer) = pacers.get(&key).and_then(Weak::upgrade) {
        return pacer;
    }
    pacers.retain(|_, pacer| pacer.strong_count() > 0);
    let pacer = Pacer::steady(service, per_second);
    let pacer = Arc::new(match default_wait {
        Some(wait) => pacer.with_default_wait(wait),
        None => pacer,
    });
    pacers.insert(key, Arc::downgrade(&pacer));
    pacer
}

/// `prefix` and the credential as a header value marked sensitive (reqwest
/// and `http` print it as `Sensitive`).
pub(crate) fn secret_header(
    service: &'static str,
    prefix: &str,
    credential: &Credential,
) -> Result<HeaderValue, Error> {
    if credential.0.is_empty() {
        return Err(Error::Config {
            service,
            message: format!("the token is empty; store one with `augment data connect {service}`"),
        });
    }
    // A Secret, so the copy with the prefix is zeroed when dropped too.
    let text = Secret::new(format!("{prefix}{}", credential.0.expose()));
    let mut value = HeaderValue::from_str(text.expose()).map_err(|_| Error::Config {
        service,
        message: format!(
            "the token holds characters an HTTP header cannot carry; store it again with `augment data connect {service}`"
        ),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `base` with `segments` appended to its path, each escaped.
pub(crate) fn endpoint(service: &'static str, base: &Url, segments: &[&str]) -> Result<Url, Error> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::Config { service, message: format!("`{base}` is not an http(s) URL") })?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The columns to create before writing `rows`: those `create` names that
/// `existing` lacks. Columns the rows name that are neither existing nor to
/// be created refuse the whole write-back before anything is sent.
pub(crate) fn columns_to_create(
    service: &'static str,
    rows: &[WriteRow],
    create: &[String],
    existing: &HashSet<&str>,
) -> Result<Vec<String>, Error> {
    let mut seen = HashSet::new();
    let to_create: Vec<String> =
        create.iter().filter(|c| !existing.contains(c.as_str()) && seen.insert(c.as_str())).cloned().collect();
    let mut missing: Vec<String> = Vec::new();
    for name in rows.iter().flat_map(|r| r.fields.keys()) {
        if !existing.contains(name.as_str()) && !to_create.contains(name) && !missing.contains(name) {
            missing.push(name.clone());
        }
    }
    if missing.is_empty() { Ok(to_create) } else { Err(Error::MissingColumns { service, columns: missing }) }
}

/// Sends `rows` in batches of `size` through `send`, counting the rows
/// written and listing those of refused batches, so the rest still go and a
/// re-run of the failed keys finishes the job. A refused credential ends the
/// write-back (every batch would fail); so does a service out of reach
/// (network, still rate-limited), whose unsent rows are all listed as failed.
pub(crate) async fn write_in_batches<'a, F, Fut>(
    service: &'static str,
    rows: &'a [WriteRow],
    size: usize,
    report: &mut WriteReport,
    mut send: F,
) -> Result<(), Error>
where
    F: FnMut(&'a [WriteRow]) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let fail = |report: &mut WriteReport, rows: &mut dyn Iterator<Item = &WriteRow>, reason: &str| {
        report.failed.extend(rows.map(|row| FailedRow { key: row.key.clone(), reason: reason.to_owned() }));
    };
    let mut batches = rows.chunks(size.max(1));
    while let Some(batch) = batches.next() {
        match send(batch).await {
            Ok(()) => report.updated += batch.len() as u64,
            Err(error @ Error::Unauthorized { .. }) => return Err(error),
            Err(error @ (Error::Network { .. } | Error::RateLimited { .. })) => {
                tracing::warn!(service, %error, "write-back stopped");
                fail(report, &mut batch.iter().chain(batches.by_ref().flatten()), &error.to_string());
            }
            Err(error) => {
                tracing::warn!(service, rows = batch.len(), %error, "a write-back batch was refused");
                fail(report, &mut batch.iter(), &error.to_string());
            }
        }
    }
    Ok(())
}

/// The JSON body of a successful answer, or the error a refusal means.
pub(crate) async fn read_json<T: DeserializeOwned>(
    service: &'static str,
    response: Response,
    what: &str,
) -> Result<T, Error> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| network_error(service, &e))?;
    if !status.is_success() {
        return Err(refusal(service, status, &body, what));
    }
    serde_json::from_slice(&body).map_err(|e| Error::Protocol { service, message: format!("{what}: {e}") })
}

/// The error for a non-success answer about `what` (the table, a column…).
pub(crate) fn refusal(service: &'static str, status: StatusCode, body: &[u8], what: &str) -> Error {
    let message = reason(status, body);
    match status.as_u16() {
        401 | 403 => Error::Unauthorized { service, status: status.as_u16(), message },
        404 => Error::NotFound { service, what: what.to_owned(), message },
        code => Error::Service { service, status: code, message },
    }
}

/// The service's own words: NocoDB's `message`/`msg`, Airtable's
/// `error.message`, `errors[0].message` or bare `error` code; else the text.
fn reason(status: StatusCode, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        ["/message", "/msg", "/error/message", "/errors/0/message", "/error/type", "/error"]
            .iter()
            .find_map(|path| v.pointer(path).and_then(Value::as_str).filter(|s| !s.is_empty()))
            .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("no reason given").to_owned();
    }
    text.chars().take(MAX_REASON_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_from_each_services_error_shape() {
        let s = StatusCode::UNPROCESSABLE_ENTITY;
        assert_eq!(reason(s, br#"{"msg":"bad"}"#), "bad");
        assert_eq!(reason(s, br#"{"error":"X","message":"Field 'a' not found"}"#), "Field 'a' not found");
        assert_eq!(
            reason(s, br#"{"error":{"type":"UNKNOWN_FIELD_NAME","message":"Unknown field name: \"a\""}}"#),
            "Unknown field name: \"a\""
        );
        assert_eq!(reason(s, br#"{"errors":[{"error":"RATE_LIMIT_REACHED","message":"slow down"}]}"#), "slow down");
        assert_eq!(reason(s, br#"{"error":"NOT_FOUND"}"#), "NOT_FOUND");
        assert_eq!(reason(s, b"plain words"), "plain words");
        assert_eq!(reason(s, b""), "Unprocessable Entity");
    }

    #[test]
    fn clients_of_one_scope_share_one_pace() {
        let rate = NonZeroU32::MIN;
        let first = shared_pacer("test", "https://a.example", rate, None);
        assert!(Arc::ptr_eq(&first, &shared_pacer("test", "https://a.example", rate, None)));
        assert!(!Arc::ptr_eq(&first, &shared_pacer("test", "https://b.example", rate, None)));
        assert!(!Arc::ptr_eq(&first, &shared_pacer("other", "https://a.example", rate, None)));
        assert!(!Arc::ptr_eq(&first, &shared_pacer("test", "https://a.example", NonZeroU32::MAX, None)));
    }

    #[test]
    fn endpoints_keep_the_base_path_and_escape_segments() {
        let base = Url::parse("https://example.com/nocodb/").unwrap();
        let url = endpoint("test", &base, &["api", "v2", "tables", "a b/c"]).unwrap();
        assert_eq!(url.as_str(), "https://example.com/nocodb/api/v2/tables/a%20b%2Fc");
    }
}
