//! The webview stays on the shell page, and only the shell page reaches Rust
//! (issue 20, point 4).
//!
//! Tauri counts every page of a registered custom scheme as "local", so the
//! capability file cannot tell the shell (`tauri://localhost`) from a
//! bundle's own HTML page (`mfe://localhost/<remote>/<version>/page.html`):
//! both would get every granted command. Two checks in Rust close that:
//!
//! - [`plugin`]: a top-level navigation to anything but the shell's own
//!   origin (and, in a `tauri dev` build, its `devUrl`) is refused, logged,
//!   and reported to the page as a `navigation-refused` event;
//! - [`check_invoke`]: the app's invoke handler answers a command only when
//!   the invoking webview shows the shell page and the request's `Origin`
//!   (when the IPC channel sends one) is the shell's; anything else is
//!   rejected with `refused` before the command runs.
//!
//! Remotes run inside the shell page (Module Federation), so these checks do
//! not tell one remote from another: that is the permission model's job.

use serde::Serialize;
use tauri::plugin::TauriPlugin;
use tauri::{Emitter as _, Manager as _, Runtime, Url};

use crate::error::{CommandError, ErrorCode};

/// The shell page's origins: `tauri://localhost` on Linux and macOS,
/// `http(s)://tauri.localhost` on Windows.
pub const SHELL_ORIGINS: &[&str] = &["tauri://localhost", "http://tauri.localhost", "https://tauri.localhost"];

/// The event telling the shell page that a navigation was refused; payload: [`NavigationRefused`].
pub const NAVIGATION_REFUSED: &str = "navigation-refused";

/// Payload of [`NAVIGATION_REFUSED`].
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NavigationRefused {
    pub url: String,
}

/// Whether `url` is the shell page (any path on the shell's origin), or on
/// `dev_url`'s origin when the app is built for `tauri dev`.
pub fn is_shell_page(url: &Url, dev_url: Option<&Url>) -> bool {
    let origin = url.origin().ascii_serialization();
    // Custom schemes have opaque origins in the URL standard: compare
    // scheme and host, which is what the webview itself does.
    let scheme_host = match url.host_str() {
        Some(host) => format!("{}://{host}", url.scheme()),
        None => return false,
    };
    if url.port().is_none() && SHELL_ORIGINS.contains(&scheme_host.as_str()) {
        return true;
    }
    dev_url.is_some_and(|dev| dev.origin() == url.origin() && origin != "null")
}

/// The dev server the shell page comes from in a `tauri dev` build; none otherwise.
fn dev_url(config: &tauri::Config) -> Option<Url> {
    if tauri::is_dev() { config.build.dev_url.clone() } else { None }
}

/// Whether `url` is the page sandboxed remotes run in (`scheme::sandbox_url`).
/// Frames navigate through the same check as the window, so their one
/// allowed page is named here; it has no IPC ([`check_invoke`] refuses it).
pub fn is_sandbox_page(url: &Url) -> bool {
    let base = Url::parse(&crate::scheme::sandbox_url()).ok();
    base.is_some_and(|base| {
        url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port() == base.port()
            && url.path() == base.path()
    })
}

/// Refuses every navigation, of the window or of a frame, to anything but
/// the shell page or the sandbox page: a sandboxed remote cannot send its
/// frame, and whatever it put in the URL, to another server.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("webview-guard")
        .on_navigation(|webview, url| {
            let dev_url = dev_url(webview.config());
            if is_shell_page(url, dev_url.as_ref()) || is_sandbox_page(url) {
                return true;
            }
            tracing::warn!(%url, webview = webview.label(), "refused a navigation away from the shell page");
            let refused = NavigationRefused { url: url.to_string() };
            if let Err(err) = webview.emit_to(webview.label(), NAVIGATION_REFUSED, refused) {
                tracing::error!(%err, "could not tell the page about a refused navigation");
            }
            false
        })
        .build()
}

/// `Ok` when an IPC command comes from the shell page; otherwise why not.
pub fn check_invoke<R: Runtime>(message: &tauri::ipc::InvokeMessage<R>) -> Result<(), CommandError> {
    let webview = message.webview_ref();
    let dev_url = dev_url(webview.config());
    let page = webview.url().map_err(|err| refused(message.command(), &format!("the page is unknown ({err})")))?;
    if !is_shell_page(&page, dev_url.as_ref()) {
        return Err(refused(message.command(), page.as_str()));
    }
    // The IPC protocol sends the calling document's origin; a frame of
    // another origin inside the shell page would show up here.
    if let Some(origin) = message.headers().get(http::header::ORIGIN) {
        let origin = origin.to_str().ok().and_then(|o| Url::parse(o).ok());
        if !origin.as_ref().is_some_and(|o| is_shell_page(o, dev_url.as_ref())) {
            return Err(refused(message.command(), &format!("{:?}", message.headers()[http::header::ORIGIN])));
        }
    }
    Ok(())
}

fn refused(command: &str, from: &str) -> CommandError {
    tracing::warn!(command, from, "refused an IPC command from outside the shell page");
    CommandError::new(ErrorCode::Refused, format!("{command} can only be called by the shell page, not from {from}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    /// Issue 20, point 4: the shell page and nothing else may navigate or call Rust.
    #[test]
    fn point_4_only_the_shell_page_counts_as_the_shell() {
        for shell in [
            "tauri://localhost",
            "tauri://localhost/",
            "tauri://localhost/index.html#settings",
            "http://tauri.localhost/index.html",
            "https://tauri.localhost/",
        ] {
            assert!(is_shell_page(&url(shell), None), "{shell}");
        }
        for other in [
            "mfe://localhost/alpha/1.0.0/page.html",
            "http://mfe.localhost/alpha/1.0.0/page.html",
            "mfe://localhost/@dev/alpha/0/page.html",
            "tauri://evil.example/",
            "tauri://localhost.evil.example/",
            "http://tauri.localhost:8080/",
            "http://localhost:5173/remoteEntry.js",
            "https://example.com/",
            "about:blank",
            "data:text/html,<script>1</script>",
            "file:///etc/passwd",
            "ipc://localhost/get_settings",
        ] {
            assert!(!is_shell_page(&url(other), None), "{other}");
        }
        // The sandbox page is a page frames may show, and not the shell.
        assert!(is_sandbox_page(&url("mfe://localhost/@sandbox/index.html?remote=rogue")));
        assert!(!is_shell_page(&url("mfe://localhost/@sandbox/index.html"), None));
        for other in [
            "mfe://localhost/@sandbox/other.html",
            "mfe://localhost/rogue/1.0.0/index.html",
            "mfe://evil/@sandbox/index.html",
            "http://127.0.0.1:9/@sandbox/index.html",
        ] {
            assert!(!is_sandbox_page(&url(other)), "{other}");
        }
        // `tauri dev`: the dev server's origin is the shell page, nothing wider.
        let dev = url("http://localhost:1420/");
        assert!(is_shell_page(&url("http://localhost:1420/index.html"), Some(&dev)));
        assert!(!is_shell_page(&url("http://localhost:1421/index.html"), Some(&dev)));
        assert!(!is_shell_page(&url("mfe://localhost/alpha/1.0.0/page.html"), Some(&dev)));
    }
}
