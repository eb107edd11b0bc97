//! Reading the OS keychain from outside the process under test, as a person
//! with `secret-tool` (libsecret) would.

use std::process::Command;

/// What `secret-tool` finds for `provider` under service `augment-it`;
/// `None` when nothing is stored.
pub fn secret_tool_lookup(provider: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "augment-it", "username", provider])
        .output()
        .expect("secret-tool is missing: apt-get install libsecret-tools");
    // secret-tool exits 1 with no output when nothing matches.
    if out.status.success() {
        Some(String::from_utf8(out.stdout).expect("secret-tool prints text"))
    } else {
        assert!(out.stdout.is_empty(), "unexpected output: {out:?}");
        None
    }
}
