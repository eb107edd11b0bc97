//! `augment cache-ai size|prune`: the AI response cache in the app's
//! database (`local_data`'s `ai_cache`, see ARCHITECTURE.md, "The AI
//! response cache"), the same calls as the Admin Dashboard's "AI cache"
//! figure and its "Clear AI cache" button.
//!
//! Nothing leaves the cache on its own: `prune` is the only way entries are
//! removed, so `size` is what a person has chosen to keep.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use local_data::AiCacheSize;
use serde::Serialize;

use crate::output::{Render, emit};
use crate::workflow::{DataDir, when};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Subcommand)]
pub enum CacheAiCommand {
    /// How many answers the AI response cache holds and their size (keys, answer texts and model
    /// names, without SQLite's page overhead).
    Size,
    /// Remove cached answers: all of them, or with --older-than-days N those stored more than N days ago.
    ///
    /// This is the only way answers leave the cache (the app's "Clear AI cache" does the same):
    /// nothing is evicted automatically. Answers already recorded for runs stay with their runs;
    /// a later request that is no longer cached is sent to its provider again.
    Prune {
        /// Remove only answers stored more than N days ago (a whole number of days, at least 1);
        /// leave the flag out to remove every answer.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
        older_than_days: Option<u32>,
    },
}

pub fn run(json: bool, dir: &DataDir, command: CacheAiCommand) -> Result<ExitCode> {
    let mut store = dir.open()?;
    match command {
        CacheAiCommand::Size => emit(json, &Size(store.ai_cache_size()?))?,
        CacheAiCommand::Prune { older_than_days } => {
            let before = store.ai_cache_size()?;
            let removed = store.prune_ai_cache(older_than_days.map(|days| DAY * days))?;
            let left = store.ai_cache_size()?;
            // The app may store answers meanwhile; the difference is what this prune removed
            // unless another process wrote at the same moment.
            let removed_bytes = before.bytes.saturating_sub(left.bytes);
            emit(json, &Pruned { removed_entries: removed, removed_bytes, older_than_days, left })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cache-ai size`: `{ entries, bytes, oldestStoredAt }`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Size(AiCacheSize);

impl Render for Size {
    fn human(&self) -> String {
        let size = &self.0;
        if size.entries == 0 {
            return "the AI response cache is empty".to_owned();
        }
        let mut out = format!("the AI response cache holds {}, {}", answers(size.entries), bytes(size.bytes));
        if let Some(oldest) = size.oldest_stored_at {
            out.push_str(&format!("; the oldest was stored {}", when(oldest)));
        }
        out.push_str(
            "\nanswers leave it only with `augment cache-ai prune [--older-than-days N]` (or the app's Clear AI cache)",
        );
        out
    }
}

/// `cache-ai prune`: what was removed and what is left.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pruned {
    removed_entries: u64,
    removed_bytes: u64,
    /// The flag as given; `null`: every answer was removed.
    older_than_days: Option<u32>,
    /// The cache after the prune.
    left: AiCacheSize,
}

impl Render for Pruned {
    fn human(&self) -> String {
        let which = match self.older_than_days {
            Some(1) => " stored more than a day ago".to_owned(),
            Some(days) => format!(" stored more than {days} days ago"),
            None => String::new(),
        };
        if self.removed_entries == 0 {
            return format!(
                "no answers{which} were in the AI response cache: nothing was removed ({} left)",
                answers(self.left.entries)
            );
        }
        format!(
            "removed {}{which} ({}) from the AI response cache; {} ({}) left",
            answers(self.removed_entries),
            bytes(self.removed_bytes),
            answers(self.left.entries),
            bytes(self.left.bytes)
        )
    }
}

fn answers(n: u64) -> String {
    if n == 1 { "1 answer".to_owned() } else { format!("{n} answers") }
}

/// `512 bytes`, `1.5 KiB (1536 bytes)`, `2.0 MiB (2097152 bytes)`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return if n == 1 { "1 byte".to_owned() } else { format!("{n} bytes") };
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit} ({n} bytes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB (3145728 bytes)");
        assert_eq!(answers(1), "1 answer");
        assert_eq!(answers(0), "0 answers");
    }

    #[test]
    fn prune_says_what_it_removed_and_what_is_left() {
        let left = AiCacheSize { entries: 2, bytes: 200, oldest_stored_at: None };
        let pruned = Pruned { removed_entries: 3, removed_bytes: 300, older_than_days: Some(30), left: left.clone() };
        assert_eq!(
            pruned.human(),
            "removed 3 answers stored more than 30 days ago (300 bytes) from the AI response cache; 2 answers (200 bytes) left"
        );
        let none = Pruned { removed_entries: 0, removed_bytes: 0, older_than_days: None, left };
        assert!(none.human().starts_with("no answers were in the AI response cache"), "{}", none.human());
    }
}
