//! Exit codes that mean something, and how a failure is printed.

use std::process::ExitCode;

/// Refused: metadata or a file failed verification.
pub const REFUSED: u8 = 3;
/// A wanted remote has no version this app can use.
pub const INCOMPATIBLE: u8 = 4;
/// The registry cannot be reached and nothing is cached.
pub const UNREACHABLE: u8 = 5;
/// `cache verify` found damage.
pub const DAMAGED: u8 = 6;
/// `stack status`: not every service is running and healthy.
pub const NOT_HEALTHY: u8 = 7;

/// `run start|resume`: the run stopped before every request was sent
/// (cancelled, or paused because a provider went away): `augment run resume RUN`.
pub const RUN_UNFINISHED: u8 = 8;
/// `run start|resume`: the run completed, but some requests failed for good.
pub const RUN_FAILURES: u8 = 9;
/// A data store refused the connection's token (401/403): `augment data connect` it again.
pub const DATASTORE_REFUSED: u8 = 10;
/// `run export --to`: some rows were not written (listed); running it again retries them.
pub const WRITE_BACK_FAILURES: u8 = 11;
/// Bad input: a usage error from clap, or a name or id that names nothing.
pub const USAGE: u8 = 2;

/// Prints the error chain and maps its kind to an exit code.
pub fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    let code = code_for(err);
    if json {
        let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
        let body = serde_json::json!({ "error": { "code": code, "message": chain.join(": ") } });
        println!("{body}");
    } else {
        eprintln!("error: {err:#}");
    }
    ExitCode::from(code)
}

fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|cause| cause.is::<crate::workflow::UsageError>()) {
        return USAGE;
    }
    let store_error = err.chain().find_map(|cause| cause.downcast_ref::<datastores::Error>()).or_else(|| {
        err.chain().find_map(|cause| match cause.downcast_ref::<datastore_sync::Error>() {
            Some(datastore_sync::Error::Service(inner)) => Some(inner),
            _ => None,
        })
    });
    match store_error {
        Some(datastores::Error::Unauthorized { .. }) => return DATASTORE_REFUSED,
        Some(datastores::Error::Network { .. }) => return UNREACHABLE,
        Some(
            datastores::Error::NotFound { .. }
            | datastores::Error::Config { .. }
            | datastores::Error::MissingColumns { .. },
        ) => return USAGE,
        _ => {}
    }
    if let Some(
        datastore_sync::Error::Invalid(_)
        | datastore_sync::Error::NoConnection { .. }
        | datastore_sync::Error::NoCredential { .. },
    ) = err.chain().find_map(|cause| cause.downcast_ref::<datastore_sync::Error>())
    {
        return USAGE;
    }
    let data_error = err.chain().find_map(|cause| {
        cause.downcast_ref::<local_data::Error>().or_else(|| match cause.downcast_ref::<runs::Error>() {
            Some(runs::Error::Data(inner)) => Some(inner),
            Some(_) => None,
            None => match cause.downcast_ref::<datastore_sync::Error>() {
                Some(datastore_sync::Error::Store(inner)) => Some(inner),
                _ => None,
            },
        })
    });
    if let Some(data_error) = data_error {
        // What the caller gave is wrong (a name taken, a field the dataset lacks, a
        // bad value, a run in the wrong state), not the machine: a usage error.
        return match data_error {
            local_data::Error::Invalid { .. }
            | local_data::Error::NameTaken { .. }
            | local_data::Error::NotFound { .. }
            | local_data::Error::MissingFields { .. }
            | local_data::Error::TemplateSyntax { .. }
            | local_data::Error::Schema { .. }
            | local_data::Error::Assertion { .. }
            | local_data::Error::NothingToRun
            | local_data::Error::State(_) => USAGE,
            _ => 1,
        };
    }
    match err.chain().find_map(|cause| cause.downcast_ref::<api::ApiError>()) {
        Some(api_err) => match api_err.kind() {
            api::ErrorKind::Refused => REFUSED,
            api::ErrorKind::Incompatible => INCOMPATIBLE,
            api::ErrorKind::Unreachable => UNREACHABLE,
            _ => 1,
        },
        None => 1,
    }
}
