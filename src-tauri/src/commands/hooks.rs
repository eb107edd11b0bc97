//! Word when a run or an import ends (issue 19, point 2): outgoing
//! webhooks through `crates/notify-hooks` and desktop notifications
//! through `tauri-plugin-notification`, on `run.finished`, `run.failed`,
//! `run.budget_reached` and `import.done`.
//!
//! [`HooksState`] is managed by `lib::run` (and by tests that want it); the
//! run and import paths call [`fire`], which does nothing without it, only
//! queues (the dispatcher's background queue; a notification is a D-Bus
//! message on its own task), and never fails what caused it.
//!
//! The commands are `ShellOnly`: an endpoint decides where the workflow's
//! news goes and carries secrets (its URL, its signing secret), like
//! `add_provider` and `set_api_key`. The Admin Dashboard's Notifications
//! section calls them from the shell's realm; no grant opens them to a
//! sandboxed remote. Replies carry an endpoint's host, never its URL or secret.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use local_data::{HookDelivery, HookEndpoint, RunProgress, RunStatus, Store};
use notify_hooks::{Delivery, Dispatcher, Endpoints, Event, EventKind, NewEndpoint, Preset, RetryPolicy, StoreLog};
use runs::RunEvent;
use secrets::{KeyStore, Secret};
use serde::Serialize;
use serde_json::json;
use tauri::{AppHandle, Manager as _, Runtime, State};

use crate::commands::data::{DataState, positive};
use crate::error::{CommandError, CommandResult, ErrorCode};

/// Shows a desktop notification. The app's is [`PluginNotifier`]; a test
/// may observe the calls.
pub trait Notify: Send + Sync {
    fn notify(&self, title: &str, body: &str);
}

/// Desktop notifications through `tauri-plugin-notification` (on Linux a
/// D-Bus `org.freedesktop.Notifications` call).
#[derive(Debug)]
pub struct PluginNotifier<R: Runtime>(pub AppHandle<R>);

impl<R: Runtime> Notify for PluginNotifier<R> {
    fn notify(&self, title: &str, body: &str) {
        use tauri_plugin_notification::NotificationExt as _;
        if let Err(err) = self.0.notification().builder().title(title).body(body).show() {
            tracing::warn!(%err, "a desktop notification could not be shown");
        }
    }
}

/// Webhooks and notifications, shared by the commands and the event paths.
pub struct HooksState {
    endpoints: Endpoints,
    dispatcher: Dispatcher,
    store: Arc<Mutex<Store>>,
    notifier: Arc<dyn Notify>,
    /// Read once at start and kept with every change, so firing never reads SQLite.
    desktop: AtomicBool,
}

impl std::fmt::Debug for HooksState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HooksState").field("desktop", &self.desktop).finish_non_exhaustive()
    }
}

impl HooksState {
    /// Over a connection of its own to the local database, the OS keychain,
    /// and a delivery worker on `runtime`.
    pub fn open(
        data: &DataState,
        keys: KeyStore,
        notifier: Arc<dyn Notify>,
        runtime: &tokio::runtime::Handle,
        policy: RetryPolicy,
    ) -> CommandResult<Self> {
        let store = Arc::new(Mutex::new(data.open_connection()?));
        let desktop = lock(&store).desktop_notifications()?;
        let endpoints = Endpoints::new(store.clone(), keys);
        let dispatcher =
            Dispatcher::start(runtime, Arc::new(endpoints.clone()), Arc::new(StoreLog::new(store.clone())), policy)
                .map_err(CommandError::from)?;
        Ok(Self { endpoints, dispatcher, store, notifier, desktop: AtomicBool::new(desktop) })
    }

    /// Queues the event for its endpoints and shows it on the desktop (if on).
    pub fn fire(&self, event: Event) {
        if self.desktop.load(Ordering::Relaxed) {
            self.notifier.notify(event.kind.title(), &event.summary);
        }
        tracing::info!(event = %event.kind, event_id = %event.id, "event for webhooks and notifications");
        self.dispatcher.dispatch(event);
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Fires `event` if the app has webhooks and notifications (tests without them skip it).
pub fn fire<R: Runtime>(app: &AppHandle<R>, event: Event) {
    if let Some(hooks) = app.try_state::<HooksState>() {
        hooks.fire(event);
    }
}

impl From<notify_hooks::Error> for CommandError {
    fn from(err: notify_hooks::Error) -> Self {
        match err {
            notify_hooks::Error::Invalid(message) => CommandError::invalid(message),
            notify_hooks::Error::Data(inner) => inner.into(),
            notify_hooks::Error::Keychain(inner) => inner.into(),
            other => CommandError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

/// What a run's events come to for webhooks: watches one run's events and
/// says which hook event its end is, if any.
#[derive(Debug, Default)]
pub struct RunWatch {
    /// The code of the run's clean stop (`budget_reached`, `quota_exhausted`, `paused`).
    stop_code: Option<String>,
}

impl RunWatch {
    /// The hook event `event` ends the run with: completed is `run.finished`;
    /// stopped by its budget, `run.budget_reached`; stopped for any other
    /// reason but the person (offline, quota, an error), `run.failed`. A
    /// pause or cancel by the person is news to no one.
    pub fn observe(&mut self, event: &RunEvent) -> Option<Event> {
        match event {
            RunEvent::Stopping { code, .. } => {
                self.stop_code.get_or_insert_with(|| code.clone());
                None
            }
            RunEvent::Finished { progress } => self.finished(progress),
            _ => None,
        }
    }

    fn finished(&self, p: &RunProgress) -> Option<Event> {
        let data = json!({
            "runId": p.run_id, "status": p.status.as_str(), "total": p.total, "answered": p.answered,
            "failed": p.failed, "queued": p.queued, "note": p.note,
        });
        let counts = format!("{} answered, {} failed of {}", p.answered, p.failed, p.total);
        let note = p.note.as_deref().unwrap_or("stopped");
        let (kind, summary) = match (p.status, self.stop_code.as_deref()) {
            (RunStatus::Completed, _) => (EventKind::RunFinished, format!("Run {} finished: {counts}", p.run_id)),
            (RunStatus::Paused, Some("budget_reached")) => {
                (EventKind::RunBudgetReached, format!("Run {}: {note}; {counts}", p.run_id))
            }
            (RunStatus::Paused, Some("paused")) | (RunStatus::Cancelled, _) | (RunStatus::Running, _) => return None,
            (RunStatus::Paused, _) => (EventKind::RunFailed, format!("Run {} stopped: {note}; {counts}", p.run_id)),
        };
        Some(Event::new(kind, summary, data))
    }
}

/// The `import.done` event of a saved dataset.
pub fn import_done(dataset: &local_data::Dataset, parser: &str) -> Event {
    Event::new(
        EventKind::ImportDone,
        format!("Imported “{}”: {} rows", dataset.name, dataset.row_count),
        json!({ "datasetId": dataset.id, "name": dataset.name, "rows": dataset.row_count, "parser": parser }),
    )
}

/// Whether desktop notifications are shown.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    pub desktop: bool,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, notify_hooks::Error> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("a webhook task failed: {err}")))?
        .map_err(CommandError::from)
}

/// The webhook endpoints (name, preset, events, the URL's host); never a URL or secret.
#[tauri::command]
pub async fn list_hook_endpoints(hooks: State<'_, HooksState>) -> CommandResult<Vec<HookEndpoint>> {
    let endpoints = hooks.endpoints.clone();
    blocking(move || endpoints.list()).await
}

/// Adds a webhook endpoint: `preset` is `generic` (signed JSON), `slack` or
/// `teams`; `events` some of `run.finished`, `run.failed`,
/// `run.budget_reached`, `import.done`; `url` (https://, or http:// to this
/// computer) and `secret` (the signing secret, needed by `generic`, at
/// least 16 characters) go to the OS keychain. Replies the endpoint without them.
#[tauri::command]
pub async fn add_hook_endpoint(
    hooks: State<'_, HooksState>,
    name: String,
    preset: String,
    events: Vec<String>,
    url: String,
    secret: Option<String>,
) -> CommandResult<HookEndpoint> {
    let new = NewEndpoint {
        name,
        preset: Preset::from_str(&preset)?,
        events: events.iter().map(|e| EventKind::from_str(e)).collect::<Result<_, _>>()?,
        url: Secret::new(url),
        secret: secret.map(Secret::new),
    };
    let endpoints = hooks.endpoints.clone();
    blocking(move || endpoints.add(new)).await
}

/// Deletes an endpoint and its keychain entries; whether there was one.
#[tauri::command]
pub async fn delete_hook_endpoint(hooks: State<'_, HooksState>, id: i64) -> CommandResult<bool> {
    let id = positive("id", id)?;
    let endpoints = hooks.endpoints.clone();
    blocking(move || endpoints.delete(id)).await
}

/// Sends a `test` event to the endpoint now, one attempt without retries
/// (logged like any other), and replies how it went.
#[tauri::command]
pub async fn test_hook_endpoint(hooks: State<'_, HooksState>, id: i64) -> CommandResult<Delivery> {
    let id = positive("id", id)?;
    let endpoints = hooks.endpoints.clone();
    let target = blocking(move || endpoints.target(id)).await?;
    let event = Event::new(
        EventKind::Test,
        format!("A test of the webhook endpoint “{}” from Augment-It.", target.name),
        json!({ "endpoint": target.name }),
    );
    Ok(hooks.dispatcher.send_once(&target, &event).await)
}

/// The newest delivery attempts (of one endpoint if `endpointId` is given), newest first; `limit` 1–1000, default 100.
#[tauri::command]
pub async fn hook_deliveries(
    hooks: State<'_, HooksState>,
    endpoint_id: Option<i64>,
    limit: Option<u32>,
) -> CommandResult<Vec<HookDelivery>> {
    let store = hooks.store.clone();
    let limit = limit.unwrap_or(100).clamp(1, local_data::MAX_PAGE);
    blocking(move || Ok(lock(&store).hook_deliveries(endpoint_id, limit)?)).await
}

/// Whether desktop notifications are shown.
#[tauri::command]
pub async fn notification_settings(hooks: State<'_, HooksState>) -> CommandResult<NotificationSettings> {
    Ok(NotificationSettings { desktop: hooks.desktop.load(Ordering::Relaxed) })
}

/// Turns desktop notifications on or off (webhooks are not affected).
#[tauri::command]
pub async fn set_desktop_notifications(
    hooks: State<'_, HooksState>,
    enabled: bool,
) -> CommandResult<NotificationSettings> {
    let store = hooks.store.clone();
    blocking(move || Ok(lock(&store).set_desktop_notifications(enabled)?)).await?;
    hooks.desktop.store(enabled, Ordering::Relaxed);
    Ok(NotificationSettings { desktop: enabled })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(status: RunStatus, note: Option<&str>) -> RunProgress {
        RunProgress {
            run_id: 4,
            status,
            total: 10,
            queued: 0,
            in_flight: 0,
            answered: 9,
            failed: 1,
            note: note.map(str::to_owned),
            cached: None,
            repeats: None,
        }
    }

    fn end(stop: Option<&str>, status: RunStatus, note: Option<&str>) -> Option<EventKind> {
        let mut watch = RunWatch::default();
        if let Some(code) = stop {
            assert!(watch.observe(&RunEvent::Stopping { run_id: 4, code: code.into(), reason: "r".into() }).is_none());
        }
        watch.observe(&RunEvent::Finished { progress: progress(status, note) }).map(|e| e.kind)
    }

    #[test]
    fn a_runs_end_maps_to_its_hook_event() {
        assert_eq!(end(None, RunStatus::Completed, None), Some(EventKind::RunFinished));
        // Stopped cleanly after the last request was sent: the run completed.
        assert_eq!(end(Some("budget_reached"), RunStatus::Completed, None), Some(EventKind::RunFinished));
        assert_eq!(
            end(Some("budget_reached"), RunStatus::Paused, Some("budget reached ($1 of $1)")),
            Some(EventKind::RunBudgetReached)
        );
        assert_eq!(end(Some("quota_exhausted"), RunStatus::Paused, Some("quota")), Some(EventKind::RunFailed));
        assert_eq!(end(None, RunStatus::Paused, Some("openai is unreachable")), Some(EventKind::RunFailed));
        assert_eq!(end(Some("paused"), RunStatus::Paused, Some("paused by you")), None);
        assert_eq!(end(None, RunStatus::Cancelled, Some("cancelled by the user")), None);
    }

    #[test]
    fn the_event_says_what_happened() {
        let mut watch = RunWatch::default();
        let event = watch.observe(&RunEvent::Finished { progress: progress(RunStatus::Completed, None) }).unwrap();
        assert_eq!(event.summary, "Run 4 finished: 9 answered, 1 failed of 10");
        assert_eq!((event.data["runId"].as_i64(), event.data["failed"].as_u64()), (Some(4), Some(1)));
    }
}
