//! Issue 16, point 4: the charts in the real webview, after the analyst
//! flow's run (`analyst_flow.rs` calls [`charts_are_drawn_after_a_run`]).
//! What happy-dom cannot check: uPlot draws on a canvas with a size under the
//! shell's CSP, a chart mounted in a hidden remote draws once shown, a theme
//! change draws it again, nothing injects a `<style>` element, and axe
//! (colour contrast included) finds nothing.

use fantoccini::Client;
use serde_json::json;

use crate::harness::{axe_violations, screenshot, show, wait_for, wait_until};

fn chart(remote: &str, testid: &str) -> String {
    format!(r#"section[data-remote="{remote}"] [data-testid="{testid}"]"#)
}

/// Brings the element `css` into view, for the screenshot.
async fn scroll_to(app: &Client, css: &str) {
    app.execute("document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });", vec![json!(css)])
        .await
        .unwrap();
}

/// Width and height of the canvas of the chart `css`, once it is drawn.
async fn drawn_canvas(app: &Client, css: &str) -> (u64, u64) {
    wait_for(app, &format!(r#"{css}[data-drawn="true"] .uplot canvas"#)).await;
    let size = app
        .execute(
            "const c = document.querySelector(arguments[0] + ' .uplot canvas'); return [c.width, c.height];",
            vec![json!(css)],
        )
        .await
        .unwrap();
    (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0))
}

/// Every chart of the Insight Assembler (shown now) and of the Admin
/// Dashboard (hidden since start, so drawn only once shown) has a canvas
/// with a size; switching to the dark theme draws them again. Adds what
/// axe finds to `axe_problems`.
pub async fn charts_are_drawn_after_a_run(app: &Client, axe_problems: &mut Vec<String>) {
    let ia = "insight-assembler";
    let section = format!(r#"section[data-remote="{ia}"] [data-testid="ia-charts"]"#);
    wait_for(app, &section).await;
    for testid in ["chart-answer-length", "chart-cost"] {
        let (width, height) = drawn_canvas(app, &chart(ia, testid)).await;
        assert!(width > 0 && height > 0, "{testid} is drawn: {width}×{height}");
    }
    screenshot(app, "16-charts-insight-assembler").await;

    let admin = "admin-dashboard";
    show(app, admin).await;
    for testid in
        ["chart-cache-size", "chart-mounts", "chart-throughput", "chart-spend", "chart-latency", "chart-errors"]
    {
        let (width, height) = drawn_canvas(app, &chart(admin, testid)).await;
        assert!(width > 0 && height > 0, "{testid} is drawn after its remote was shown: {width}×{height}");
    }
    let styles = app.execute("return document.querySelectorAll('style').length;", vec![]).await.unwrap();
    assert_eq!(styles, json!(0), "no <style> element: the CSP has no 'unsafe-inline' for styles");
    scroll_to(app, &chart(admin, "chart-throughput")).await;
    screenshot(app, "16-charts-admin-dashboard-light").await;
    axe_problems.extend(axe_violations(app).await.into_iter().map(|v| format!("16-charts, light: {v}")));

    // Mark the plot drawn in light; a theme change replaces it with one drawn in the dark colours.
    let throughput = chart(admin, "chart-throughput");
    app.execute("document.querySelector(arguments[0] + ' .uplot').dataset.theme = 'light';", vec![json!(throughput)])
        .await
        .unwrap();
    wait_for(app, r#"[data-testid="theme"]"#).await.select_by_value("dark").await.unwrap();
    wait_for(app, r#"html[data-theme="dark"]"#).await;
    wait_until(
        "the throughput chart drawn again in the dark theme",
        async || {
            app.execute(
                "const u = document.querySelector(arguments[0] + ' .uplot'); return u ? (u.dataset.theme ?? 'redrawn') : null;",
                vec![json!(throughput)],
            )
            .await
            .unwrap()
        },
        |seen| seen == &json!("redrawn"),
    )
    .await;
    drawn_canvas(app, &throughput).await;
    scroll_to(app, &throughput).await;
    screenshot(app, "16-charts-admin-dashboard-dark").await;
    axe_problems.extend(axe_violations(app).await.into_iter().map(|v| format!("16-charts, dark: {v}")));
    wait_for(app, r#"[data-testid="theme"]"#).await.select_by_value("light").await.unwrap();
}
