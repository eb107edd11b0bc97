/// What an install is doing, for progress bars and UI events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Downloads are about to start; `total_bytes` is what is missing from the cache.
    DownloadStarted {
        total_bytes: u64,
    },
    Downloaded {
        bytes: u64,
    },
    Installed {
        name: String,
        version: String,
    },
}

/// Receives [`ProgressEvent`]s; called from the resolving task.
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent);
}

/// Ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: ProgressEvent) {}
}
