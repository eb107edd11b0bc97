//! `cargo xtask test`: every suite, with the real services they need.

use std::process::Command;

use anyhow::Result;

use crate::{dist, engines, k8s_validate, postgres, prometheus, redis, run_checked, s3, setup, workspace_root};

pub fn run() -> Result<()> {
    setup::ensure(setup::Purpose::Test)?;
    let root = workspace_root();
    // The app embeds shell-ui/dist at compile time: build the UI first, so the
    // one debug build of the app below is the one the e2e tests drive.
    setup::build_shell_ui(&root)?;
    // The product remotes' dist/ (published by the shell's e2e tests), then
    // their and the shared modules' vitest suites (a few seconds).
    setup::build_remotes(&root)?;
    setup::test_remotes(&root)?;
    // Build everything once up front so test binaries do not compete for the
    // two cores while timing-sensitive tests (timeouts, kills) run.
    run_checked(Command::new("cargo").current_dir(&root).args(["build", "--workspace", "--all-targets", "--locked"]))?;
    // The local-stack suites run against real engines: Docker and Podman's
    // Docker-compatible API, on private sockets, stopped when the guards drop.
    let static_bins = engines::build_stack_binaries()?;
    let docker = engines::ensure_docker()?;
    let podman = engines::ensure_podman()?;
    // One PostgreSQL server for the run (the auth service's suites make a
    // database each on it), stopped when the guard drops.
    let postgres = postgres::start()?;
    // The registry server's S3 tests run against a real S3-compatible server
    // (moto) on loopback, one bucket for all of them (each test its own prefix).
    let s3 = s3::start_local_s3("augment-tests")?;
    // One Redis for the run (the gateway's shared rate limits), no persistence.
    let redis = redis::start()?;
    // The Kubernetes schemas the manifests in docker/k8s are validated
    // against (crates/stack/tests/deploy_files.rs), offline.
    let k8s_validator = k8s_validate::ensure()?;
    // The monitoring profile's Prometheus and promtool (the Debian package,
    // unpacked into target/tools), for tests/stack/monitoring.rs.
    let prometheus = prometheus::ensure()?;
    let keyring_home = tempfile::tempdir()?;
    // A private D-Bus session with an unlocked gnome-keyring: the secrets tests
    // talk to a real Secret Service and read items back with `secret-tool`.
    let script = r#"printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@""#;
    let mut tests = Command::new("dbus-run-session");
    tests
        .current_dir(&root)
        .env("XDG_DATA_HOME", keyring_home.path())
        // The stack's images and the registry-server image test
        // (registry-server tests/server/deploy.rs) are made from these.
        .env("AUGMENT_STACK_BIN_DIR", &static_bins)
        // The desktop-notification test starts dunst (with an Xvfb of its own) on this session bus.
        .env("AUGMENT_NOTIFICATION_DAEMON_TESTS", "1")
        .args(["--", "sh", "-c", script, "sh"])
        .args(["cargo", "test", "--workspace", "--locked", "--no-fail-fast"]);
    docker.apply(&mut tests);
    podman.apply(&mut tests);
    postgres.apply(&mut tests);
    s3.apply_test_env(&mut tests);
    redis.apply(&mut tests);
    k8s_validate::apply(&k8s_validator, &mut tests);
    prometheus.apply(&mut tests);
    run_checked(&mut tests)?;
    drop((postgres, s3, redis));
    // Last, the packages, and the .deb installed and started offline
    // (tests/package), whose CLI then starts the stack from the packaged
    // binaries. They are made from the debug build already there: a
    // release build of the app would add about ten minutes on two cores, a
    // quarter of the CI budget, to check what the packaging does the same
    // way for both (`cargo xtask dist` itself builds the release).
    let packages = dist::run(dist::DistArgs { signing_key: None, bundles: "deb,rpm".to_owned(), debug: true })?;
    let deb = packages.deb.ok_or_else(|| anyhow::anyhow!("cargo xtask dist made no .deb"))?;
    // The installed CLI starts the local stack on the same Docker engine.
    let mut package = Command::new("cargo");
    package.current_dir(&root).env("AUGMENT_PACKAGE_DEB", &deb).args([
        "test",
        "--workspace",
        "--locked",
        "--test",
        "package",
        "--",
        "--ignored",
    ]);
    docker.apply(&mut package);
    run_checked(&mut package)
}
