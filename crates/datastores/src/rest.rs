//! What the REST connectors (NocoDB, Airtable) share: one HTTP client setup,
//! URLs built segment by segment (ids and table names are escaped, a base URL's
//! own path is kept), the credential as a header value reqwest never prints,
//! and answers turned into [`Error`]s that quote the service's own reason.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::pacing::network_error;
use crate::{Credential, Error};

/// A page of 1,000 records can take a while on a slow self-hosted server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
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

/// The credential as a header value marked sensitive (reqwest and `http`
/// print it as `Sensitive`).
pub(crate) fn secret_header(service: &'static str, credential: &Credential) -> Result<HeaderValue, Error> {
    if credential.0.is_empty() {
        return Err(Error::Config {
            service,
            message: format!("the token is empty; store one with `augment data connect {service}`"),
        });
    }
    let mut value = HeaderValue::from_str(credential.0.expose()).map_err(|_| Error::Config {
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
    fn endpoints_keep_the_base_path_and_escape_segments() {
        let base = Url::parse("https://example.com/nocodb/").unwrap();
        let url = endpoint("test", &base, &["api", "v2", "tables", "a b/c"]).unwrap();
        assert_eq!(url.as_str(), "https://example.com/nocodb/api/v2/tables/a%20b%2Fc");
    }
}
