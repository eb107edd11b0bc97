//! The aggregates behind the dashboards' charts (issue 16, point 4): the
//! cache's size over time and each remote's mounts and failures (from the
//! bundle cache's history), what runs sent per day and how each provider
//! answered, and per model and tag what a dataset's answers hold (from the
//! local database). Every figure is summed in Rust; the page only draws.

use std::time::{SystemTime, UNIX_EPOCH};

use local_data::{DayWindow, ResponseStats, RunActivity};
use tauri::State;

use super::data::DataState;
use crate::error::{CommandError, CommandResult};
use crate::shell::ShellState;

/// The window when the page does not say: the last 30 days.
const DEFAULT_DAYS: u32 = 30;

/// The cache's size after each install or gc that changed it, oldest first
/// (at most `cache::SIZE_SAMPLES_KEPT`): bytes of the referenced blobs, blob
/// and version counts. `at` is Unix seconds.
#[tauri::command]
pub async fn cache_size_history(state: State<'_, ShellState>) -> CommandResult<Vec<cache::CacheSizeSample>> {
    Ok(state.cache.size_history()?)
}

/// Mounts and load failures per remote over the last `days` days (default
/// 30, at most 366), with the mean mount time, by name.
#[tauri::command]
pub async fn remote_load_stats(
    state: State<'_, ShellState>,
    days: Option<u32>,
) -> CommandResult<Vec<cache::RemoteLoadStats>> {
    let days = checked_days(days)?;
    let since = now_ms() / 1000 - i64::from(days) * 86_400;
    Ok(state.cache.load_stats(since)?)
}

/// Per local day of the last `days` (default 30, at most 366; the page's
/// `utcOffsetMinutes` east of UTC decides where a day starts): requests
/// answered and failed, tokens and list-price cost; and each provider's
/// answers, failures and median and 95th-percentile latency over them.
#[tauri::command]
pub async fn run_activity(
    data: State<'_, DataState>,
    days: Option<u32>,
    utc_offset_minutes: Option<i32>,
) -> CommandResult<RunActivity> {
    let window = DayWindow::new(days.unwrap_or(DEFAULT_DAYS), utc_offset_minutes.unwrap_or(0), now_ms())?;
    data.with(move |store| store.run_activity(window)).await
}

/// Per provider and model, the answers and failures of a dataset (and one
/// template version, if given), mean answer length, tokens and list-price
/// cost; and its most used tags.
#[tauri::command]
pub async fn response_stats(
    data: State<'_, DataState>,
    dataset_id: i64,
    template_version_id: Option<i64>,
) -> CommandResult<ResponseStats> {
    data.with(move |store| store.response_stats(dataset_id, template_version_id)).await
}

fn checked_days(days: Option<u32>) -> CommandResult<u32> {
    match days.unwrap_or(DEFAULT_DAYS) {
        days @ 1..=local_data::MAX_STATS_DAYS => Ok(days),
        other => Err(CommandError::invalid(format!(
            "days: a chart covers 1 to {} days, not {other}",
            local_data::MAX_STATS_DAYS
        ))),
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
