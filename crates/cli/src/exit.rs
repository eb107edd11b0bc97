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
