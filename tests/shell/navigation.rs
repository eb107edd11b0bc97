//! Issue 16, points 1 and 5, in the real app: one screen at a time, the
//! workflow's five steps in order in the sidebar, every header button shows
//! its page and hides the others, a route in the URL opens its screen,
//! back/forward move between screens, and the last screen and the theme come
//! back after a restart. Every page is saved as a screenshot in light and
//! dark.

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::json;

use crate::harness::{
    Driver, app_args, axe_violations, publish, remote_dist, screenshot, serial, show, wait_for, wait_until,
};

const WORKFLOW: [&str; 5] =
    ["record-collector", "prompt-templates", "request-reviewer", "insight-assembler", "admin-dashboard"];
const PAGES: [&str; 3] = ["remotes", "stack", "settings"];

/// The remote slots shown now (not hidden, nor inside something hidden).
async fn shown_remotes(app: &Client) -> Vec<String> {
    let value = app
        .execute(
            r#"return [...document.querySelectorAll("section.remote-slot")]
                 .filter((s) => s.offsetParent !== null).map((s) => s.dataset.remote);"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(value).unwrap()
}

async fn route(app: &Client) -> String {
    app.execute("return location.hash;", vec![]).await.unwrap().as_str().unwrap_or_default().to_owned()
}

/// Waits until the hash is `expected` and only `remote` (or none) is shown.
async fn wait_for_screen(app: &Client, expected: &str, remote: Option<&str>) {
    let wanted: Vec<String> = remote.iter().map(|r| r.to_string()).collect();
    wait_until(
        &format!("on {expected} showing {remote:?} (hash, shown)"),
        async || (route(app).await, shown_remotes(app).await),
        |(hash, shown)| hash == expected && *shown == wanted,
    )
    .await;
}

/// Which page panels are on screen (the Remotes, Local stack and Settings pages).
async fn pages_shown(app: &Client) -> Vec<String> {
    let mut shown = Vec::new();
    for (page, css) in [
        ("remotes", r#"[data-testid="remotes-panel"]"#),
        ("stack", r#"[data-testid="stack-panel"]"#),
        ("settings", r#"[data-testid="settings"]"#),
    ] {
        if let Ok(element) = app.find(Locator::Css(css)).await
            && element.is_displayed().await.unwrap_or(false)
        {
            shown.push(page.to_owned());
        }
    }
    shown
}

#[tokio::test]
async fn one_screen_at_a_time_routed_restored_and_themed() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    for remote in WORKFLOW {
        let out = sandbox.publish(&remote_dist(remote));
        assert!(out.status.success(), "publishing {remote}: {}", integration_tests::describe(&out));
    }
    publish(&sandbox, &["alpha-1.0.0"]);
    let args = app_args(&sandbox, &sandbox.registry().display().to_string());
    let driver = Driver::start();
    let app = driver.open(&args).await;
    for remote in WORKFLOW.iter().chain(&["alpha"]) {
        wait_for(&app, &format!(r#"section[data-remote="{remote}"][data-state="mounted"]"#)).await;
    }

    // The workflow's steps in order, then the other remotes; the first step is the first screen.
    let sidebar = app
        .execute(
            r#"return [...document.querySelectorAll('[data-testid="remote-nav"] li')].map((li) => li.dataset.remote);"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        sidebar,
        json!([
            "record-collector",
            "prompt-templates",
            "request-reviewer",
            "insight-assembler",
            "admin-dashboard",
            "alpha"
        ])
    );
    wait_for_screen(&app, "#/remote/record-collector", Some("record-collector")).await;

    // Each header button shows its page and hides every other page and remote.
    for page in PAGES {
        wait_for(&app, &format!(r#"[data-testid="open-{page}"]"#)).await.click().await.unwrap();
        wait_for_screen(&app, &format!("#/{page}"), None).await;
        wait_until(&format!("only the {page} page shown"), async || pages_shown(&app).await, |shown| *shown == [page])
            .await;
        let current = wait_for(&app, &format!(r#"[data-testid="open-{page}"]"#)).await;
        assert_eq!(current.attr("aria-current").await.unwrap().as_deref(), Some("page"));
    }

    // Each remote from the sidebar; every one stays mounted while hidden.
    for remote in WORKFLOW {
        show(&app, remote).await;
        wait_for_screen(&app, &format!("#/remote/{remote}"), Some(remote)).await;
        assert!(pages_shown(&app).await.is_empty());
    }
    let mounted = app.find_all(Locator::Css(r#"section.remote-slot[data-mounted="true"]"#)).await.unwrap().len();
    assert_eq!(mounted, 6, "hidden remotes stay mounted, their work kept");

    // A route in the URL is a deep link; back and forward move between screens.
    app.execute(r##"location.hash = "#/remote/prompt-templates";"##, vec![]).await.unwrap();
    wait_for_screen(&app, "#/remote/prompt-templates", Some("prompt-templates")).await;
    app.back().await.unwrap();
    wait_for_screen(&app, "#/remote/admin-dashboard", Some("admin-dashboard")).await;
    app.forward().await.unwrap();
    wait_for_screen(&app, "#/remote/prompt-templates", Some("prompt-templates")).await;
    app.execute(r##"location.hash = "#/remote/nowhere";"##, vec![]).await.unwrap();
    let missing = wait_for(&app, r#"[data-testid="no-screen"]"#).await;
    assert!(missing.text().await.unwrap().contains("nowhere is not installed"));

    // The keyboard: Alt+3 opens the third step; ? lists the shortcuts in a modal; Escape closes it.
    let body = app.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&format!("{}3{}", Key::Alt, Key::Null)).await.unwrap();
    wait_for_screen(&app, "#/remote/request-reviewer", Some("request-reviewer")).await;
    body.send_keys("?").await.unwrap();
    let help = wait_for(&app, r#"dialog[data-testid="shortcuts-help"][open]"#).await;
    assert!(help.text().await.unwrap().contains("Alt+5"), "every shortcut is listed");
    screenshot(&app, "16-shortcuts-help").await;
    let focused = app.active_element().await.unwrap().attr("data-testid").await.unwrap();
    assert_eq!(focused.as_deref(), Some("shortcuts-close"), "focus moves into the dialog");
    app.active_element().await.unwrap().send_keys(&Key::Escape).await.unwrap();
    let help_open = async || app.find(Locator::Css(r#"dialog[data-testid="shortcuts-help"][open]"#)).await.is_ok();
    wait_until("closed the shortcuts with Escape (open)", help_open, |open| !open).await;

    // Every page in light and in dark, each checked by axe (contrast
    // included); the choice reaches the remotes' kit variables.
    let mut problems = Vec::new();
    for theme in ["light", "dark"] {
        wait_for(&app, r#"[data-testid="theme"]"#).await.select_by_value(theme).await.unwrap();
        wait_for(&app, &format!(r#"html[data-theme="{theme}"]"#)).await;
        for page in PAGES {
            wait_for(&app, &format!(r#"[data-testid="open-{page}"]"#)).await.click().await.unwrap();
            wait_for_screen(&app, &format!("#/{page}"), None).await;
            screenshot(&app, &format!("16-page-{page}-{theme}")).await;
            problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("{page}, {theme}: {v}")));
        }
        for remote in WORKFLOW {
            show(&app, remote).await;
            screenshot(&app, &format!("16-screen-{remote}-{theme}")).await;
            problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("{remote}, {theme}: {v}")));
        }
    }
    assert!(problems.is_empty(), "axe found {} accessibility problems:\n{}", problems.len(), problems.join("\n"));
    let background = app
        .execute(
            r#"return getComputedStyle(document.querySelector('section[data-remote="admin-dashboard"] .aui-page')).backgroundColor;"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(background, json!("rgb(20, 24, 31)"), "the dark kit background (--aui-bg) reaches the remote");

    // Insight Assembler in dark is where the person stops; the next start opens it, in dark.
    show(&app, "insight-assembler").await;
    wait_for_screen(&app, "#/remote/insight-assembler", Some("insight-assembler")).await;
    wait_for_saved(&sandbox, "/remote/insight-assembler").await;
    app.close().await.unwrap();

    let app = driver.open(&args).await;
    wait_for(&app, r#"section[data-remote="insight-assembler"][data-state="mounted"]"#).await;
    wait_for_screen(&app, "#/remote/insight-assembler", Some("insight-assembler")).await;
    wait_for(&app, r#"html[data-theme="dark"]"#).await;
    let choice = wait_for(&app, r#"[data-testid="theme"]"#).await.prop("value").await.unwrap();
    assert_eq!(choice.as_deref(), Some("dark"));
    app.close().await.unwrap();
}

/// Waits until ui.json holds `route` (it is written after each navigation).
async fn wait_for_saved(sandbox: &Sandbox, route: &str) {
    let file = sandbox.path().join("config/ui.json");
    let read = async || -> serde_json::Value {
        std::fs::read(&file).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    };
    wait_until(&format!("saw {route} in ui.json"), read, |saved| saved["lastRoute"] == route).await;
}
