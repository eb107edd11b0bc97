//! The app log says what happened to each remote in exactly one line per
//! event: a mount, a failure (with its phase), a rollback, each with the
//! remote's name and version. The log capture is process-wide (see
//! `crate::common::captured_logs`, shared with `team.rs`): it reads only the
//! lines naming its own remote.

use augment_desktop::ShellState;
use serde_json::json;
use test_support::CapturedLogs;

/// Installs `name@version` and makes it active.
fn install(h: &crate::common::DataHarness, name: &str, version: &str) {
    let cache = &tauri::Manager::state::<ShellState>(&h.app).inner().cache;
    crate::common::install_remote(cache, name, version, "^1.0.0");
}

/// The captured lines that mention `remote` and say `what`.
fn lines(captured: &CapturedLogs, remote: &str, what: &str) -> Vec<String> {
    captured
        .text()
        .lines()
        .filter(|line| line.contains(&format!("name={remote}")) && line.contains(what))
        .map(str::to_owned)
        .collect()
}

#[test]
fn one_line_per_mount_failure_and_rollback_with_name_and_versions() {
    let captured = crate::common::captured_logs();
    let h = crate::common::DataHarness::new();
    install(&h, "logged", "1.2.0");
    h.ok("mark_known_good", json!({ "name": "logged", "version": "1.2.0", "mountMs": 12.5 }));
    let mounted = lines(&captured, "logged", "remote mounted");
    assert_eq!(mounted.len(), 1, "one line per mount: {mounted:?}");
    assert!(mounted[0].contains("version=1.2.0") && mounted[0].contains("mount_ms=\"12.5\""), "{mounted:?}");

    install(&h, "logged", "1.3.0");
    let outcome = h.ok(
        "report_load_failure",
        json!({ "name": "logged", "version": "1.3.0", "reason": "TypeError: rows.map is not a function", "phase": "render" }),
    );
    assert_eq!(outcome["rolledBack"]["to"], "1.2.0");
    let failed = lines(&captured, "logged", "remote failed");
    assert_eq!(failed.len(), 1, "one line per failure: {failed:?}");
    assert!(failed[0].contains("version=1.3.0") && failed[0].contains("phase=render"), "{failed:?}");
    assert!(failed[0].contains("rows.map is not a function"), "the reason is in the line: {failed:?}");
    let rolled_back = lines(&captured, "logged", "remote rolled back");
    assert_eq!(rolled_back.len(), 1, "one line per rollback: {rolled_back:?}");
    assert!(rolled_back[0].contains("from=1.3.0") && rolled_back[0].contains("to=1.2.0"), "{rolled_back:?}");

    // 1.2.0 is pinned and known good: a failure of it is logged, with nothing to roll back to.
    h.ok("report_load_failure", json!({ "name": "logged", "version": "1.2.0", "reason": "slow", "phase": "timeout" }));
    assert_eq!(lines(&captured, "logged", "remote failed").len(), 2);
    assert_eq!(lines(&captured, "logged", "remote rolled back").len(), 1, "no second rollback");

    // A rollback the user asks for is logged the same way.
    h.ok("unpin_remote", json!({ "name": "logged" }));
    h.ok("pin_remote", json!({ "name": "logged", "version": "1.3.0" }));
    tauri::Manager::state::<ShellState>(&h.app).inner().cache.set_active("logged", "1.3.0").expect("activate");
    h.ok("rollback_remote", json!({ "name": "logged" }));
    let rolled_back = lines(&captured, "logged", "remote rolled back");
    assert_eq!(rolled_back.len(), 2, "{rolled_back:?}");
    assert!(rolled_back[1].contains("from=1.3.0") && rolled_back[1].contains("to=1.2.0"), "{rolled_back:?}");
}
