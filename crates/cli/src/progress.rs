//! Download progress on standard error, hidden for `--json` and non-terminals.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An indicatif bar fed by the resolver's progress events.
#[derive(Debug)]
pub struct DownloadBar {
    bar: ProgressBar,
}

impl DownloadBar {
    pub fn new(json: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if json {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let style = ProgressStyle::with_template("{msg:30} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Self { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl api::Progress for DownloadBar {
    fn event(&self, event: api::ProgressEvent) {
        match event {
            api::ProgressEvent::DownloadStarted { total_bytes } => {
                self.bar.set_length(total_bytes);
                self.bar.set_message("downloading");
            }
            api::ProgressEvent::Downloaded { bytes } => self.bar.inc(bytes),
            api::ProgressEvent::Installed { name, version } => {
                self.bar.set_message(format!("installed {name} {version}"));
            }
            _ => {}
        }
    }
}

/// A bar on standard error for long workflow steps (an import, a download,
/// a run), hidden for `--json`; indicatif draws nothing when standard error
/// is not a terminal.
pub fn work_bar(json: bool, length: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}
