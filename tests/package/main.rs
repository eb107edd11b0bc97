//! The installed package (issue 16, point 6). `cargo xtask test` builds the
//! .deb with `cargo xtask dist` and runs this suite with `AUGMENT_PACKAGE_DEB`
//! naming it: the package is installed with apt on this machine, and the
//! installed app is started under Xvfb from an empty home, outside any
//! checkout, with no registry configured and no network at all (its own
//! network namespace): the five product screens must mount from the seed
//! registry the package carries. Then the installed CLI starts the local
//! stack on the run's Docker engine (`DOCKER_HOST`, started by `cargo xtask
//! test`) from the service binaries the package carries, with no checkout in
//! sight, and stops it. The package is removed afterwards.
//!
//! Ignored in a plain `cargo test`: it installs system packages (as root).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

const PRODUCT_SCREENS: [&str; 5] =
    ["record-collector", "prompt-templates", "request-reviewer", "insight-assembler", "admin-dashboard"];
/// Where the bundler puts the app's resources for a binary in /usr/bin.
const RESOURCES: &str = "/usr/lib/Augment-It";
/// A cold WebKit start plus five remotes from a fresh cache, on a busy CI machine.
const MOUNT_DEADLINE: Duration = Duration::from_secs(120);

#[test]
#[ignore = "installs the .deb as root: run by `cargo xtask test` after `cargo xtask dist`"]
fn the_installed_app_opens_the_five_product_screens_offline_on_first_start() -> Result<()> {
    let deb = PathBuf::from(
        std::env::var_os("AUGMENT_PACKAGE_DEB").context("AUGMENT_PACKAGE_DEB names the .deb to install")?,
    );
    let installed = Installed::install(&deb)?;

    for path in ["/usr/bin/augment-desktop", "/usr/bin/augment"] {
        ensure!(Path::new(path).is_file(), "{path} is not installed");
    }
    let entry = desktop_entry()?;
    ensure!(entry.contains("Exec=augment-desktop"), "the desktop entry does not start the app:\n{entry}");
    ensure!(entry.contains("Icon=augment-desktop"), "the desktop entry has no icon:\n{entry}");
    ensure!(
        Path::new("/usr/share/icons/hicolor/128x128/apps/augment-desktop.png").is_file(),
        "no 128x128 icon installed"
    );
    for resource in ["seed-registry/root.json", "seed-registry/snapshot.json", "seed-registry.pub", "stack-bin/parsers"]
    {
        ensure!(Path::new(RESOURCES).join(resource).is_file(), "{RESOURCES}/{resource} is not installed");
    }
    let version = Command::new("/usr/bin/augment").arg("--version").output()?;
    ensure!(version.status.success(), "the installed CLI does not run: {}", String::from_utf8_lossy(&version.stderr));

    let home = tempfile::tempdir()?;
    let log_path = home.path().join("app.log");
    let mut app = start_offline(home.path(), &log_path)?;
    let outcome = wait_for_mounts(&mut app, &log_path);
    let _ = Command::new("kill").arg("--").arg(format!("-{}", app.id())).status();
    let _ = app.kill();
    let _ = app.wait();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    outcome.with_context(|| format!("the installed app's log:\n{log}"))?;

    // The Local stack page builds its images from the packaged binaries.
    let bin_dir = logged_value(&log, "local stack: service binaries", "bin_dir=")
        .context("the app logged no stack binary folder")?;
    let resolved =
        std::fs::canonicalize(&bin_dir).with_context(|| format!("the logged folder {bin_dir} does not exist"))?;
    ensure!(resolved == Path::new(RESOURCES).join("stack-bin"), "the app looks for the stack's binaries in {bin_dir}");

    installed_stack_starts(home.path())?;
    drop(installed);
    Ok(())
}

/// `augment stack up` from the installed CLI, outside any checkout: every
/// service healthy, each image made from the packaged binary (images are
/// tagged with their binary's sha256), then `augment stack down`.
fn installed_stack_starts(home: &Path) -> Result<()> {
    let engine =
        std::env::var("DOCKER_HOST").context("DOCKER_HOST names the Docker engine (`cargo xtask test` starts one)")?;
    let stack = InstalledStack { home: home.to_owned(), engine };
    let up = stack.json(&["stack", "up"])?;
    let services = up["services"].as_array().context("`stack up` listed no services")?;
    ensure!(services.len() == 3, "expected parsers, gateway and connector, got {up}");
    for service in services {
        let (name, image) = (service["service"].as_str().unwrap_or("?"), service["image"].as_str().unwrap_or(""));
        let binary = std::fs::read(Path::new(RESOURCES).join("stack-bin").join(name))
            .with_context(|| format!("the package carries no binary for {name}"))?;
        let sha = sha256_hex(&binary);
        ensure!(
            image.ends_with(&format!(":{}", &sha[..12])),
            "{name}'s image {image} is not made from the packaged binary {sha}"
        );
    }
    let status = stack.json(&["stack", "status"])?;
    ensure!(status["healthy"] == true, "the installed stack is not healthy: {status}");
    let down = stack.json(&["stack", "down"])?;
    ensure!(down["containers"].as_array().is_some_and(|c| c.len() == 3), "`stack down` removed {down}");
    Ok(())
}

/// The installed CLI against the run's engine; stops the stack on drop, also when a check failed.
struct InstalledStack {
    home: PathBuf,
    engine: String,
}

impl InstalledStack {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("/usr/bin/augment");
        command
            .arg("--json")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("DOCKER_HOST", &self.engine)
            .current_dir(&self.home);
        command
    }

    fn json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let out = run(&mut self.command(args))?;
        serde_json::from_str(&out).with_context(|| format!("`augment {}` printed no JSON: {out}", args.join(" ")))
    }
}

impl Drop for InstalledStack {
    fn drop(&mut self) {
        let _ = self.command(&["stack", "down"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The package, installed; removed again on drop (also when the test fails).
struct Installed {
    name: String,
}

impl Installed {
    fn install(deb: &Path) -> Result<Self> {
        let name = run(Command::new("dpkg-deb").args(["--field"]).arg(deb).arg("Package"))?.trim().to_owned();
        ensure!(!name.is_empty(), "{} has no package name", deb.display());
        run(Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "--allow-downgrades", "--reinstall"])
            .arg(std::path::absolute(deb)?)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        Ok(Self { name })
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", &self.name]).stdout(Stdio::null()).status();
    }
}

fn desktop_entry() -> Result<String> {
    for entry in std::fs::read_dir("/usr/share/applications")? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("Name=Augment-It") {
            return Ok(text);
        }
    }
    bail!("no desktop entry named Augment-It in /usr/share/applications")
}

/// The installed app under Xvfb, in a network namespace of its own (no
/// interface but a downed loopback), from an empty home, outside any
/// checkout, with nothing of this run's environment but PATH.
fn start_offline(home: &Path, log: &Path) -> Result<Child> {
    let log_file = std::fs::File::create(log)?;
    let mut command = Command::new("unshare");
    command
        .args(["--net", "--", "xvfb-run", "-a", "-s", "-screen 0 1280x900x24", "/usr/bin/augment-desktop"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1")
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    // Its own process group, so the test can stop xvfb-run, Xvfb and the app together.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().context("starting the installed app (needs unshare and xvfb-run)")
}

/// Waits until the app has logged a mount of every product screen.
fn wait_for_mounts(app: &mut Child, log: &Path) -> Result<()> {
    let started = Instant::now();
    loop {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(log) {
            file.read_to_string(&mut text)?;
        }
        let missing: Vec<&str> = PRODUCT_SCREENS.iter().copied().filter(|name| !mounted(&text, name)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        if let Some(status) = app.try_wait()? {
            bail!("the installed app exited ({status}) before {} mounted", missing.join(", "));
        }
        if started.elapsed() > MOUNT_DEADLINE {
            bail!("within {} s, these screens did not mount: {}", MOUNT_DEADLINE.as_secs(), missing.join(", "));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn mounted(log: &str, name: &str) -> bool {
    log.lines().any(|line| line.contains("remote mounted") && line.contains(&format!("name={name} ")))
}

/// The value of `field` on the first log line containing `message`.
fn logged_value(log: &str, message: &str, field: &str) -> Option<String> {
    let line = log.lines().find(|line| line.contains(message))?;
    let start = line.find(field)? + field.len();
    Some(line[start..].split_whitespace().next()?.to_owned())
}

fn run(command: &mut Command) -> Result<String> {
    let out = command.output().with_context(|| format!("starting {command:?}"))?;
    ensure!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
