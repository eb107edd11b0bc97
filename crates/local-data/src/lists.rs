//! The lists the app pages through, records, requests and responses, as the
//! host's list commands serve them: a page by cursor (keyset, see
//! `keyset.rs`), the cursors of the pages beside it, and the list's total.
//!
//! Counting a filtered list reads every matching row, many times the cost of
//! a page, so a total is counted once and reused while the database is
//! unchanged: SQLite's `data_version` moves when another connection (a run,
//! the CLI) commits, and the connection's own `total_changes` when this one
//! writes. A total is never stale, and paging through an unchanged list
//! counts it once.
//!
//! A page by `offset` is still served for remotes of host API 1.6 and
//! earlier, which know nothing else (deprecated: it reads and drops `offset`
//! rows first).

use std::sync::Mutex;

use crate::{
    Error, Page, PageStart, RecordQuery, RecordRow, RequestQuery, RequestRow, ResponseQuery, ResponseRow, Store,
};

/// How many totals are kept: a few lists with their filters are open at once.
const KEPT_TOTALS: usize = 16;

/// Totals already counted, each with the state of the database it holds for.
#[derive(Debug, Default)]
pub(crate) struct CountCache {
    entries: Mutex<Vec<Counted>>,
}

#[derive(Debug, Clone)]
struct Counted {
    list: String,
    stamp: Stamp,
    total: u64,
}

/// The database's state as this connection sees it: equal stamps, same rows.
type Stamp = (i64, u64);

impl Store {
    fn stamp(&self) -> Result<Stamp, Error> {
        let data_version: i64 = self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok((data_version, self.conn.total_changes()))
    }

    /// The total of `list` (a name with its filters), counted by `count`
    /// only if the database changed since it was last counted.
    pub(crate) fn count_once(&self, list: String, count: impl FnOnce() -> Result<u64, Error>) -> Result<u64, Error> {
        let stamp = self.stamp()?;
        let mut entries = self.counts.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = entries.iter().find(|e| e.list == list && e.stamp == stamp) {
            return Ok(hit.total);
        }
        let total = count()?;
        entries.retain(|e| e.list != list);
        entries.insert(0, Counted { list, stamp, total });
        entries.truncate(KEPT_TOTALS);
        Ok(total)
    }

    /// A page of a dataset's records for the host: from `cursor` (a page's
    /// `next_cursor` or `previous_cursor`), or the first page, with the
    /// dataset's (or the filter's) total. `query.offset` above 0 without a
    /// cursor is the deprecated offset page.
    pub fn list_records(
        &self,
        dataset_id: i64,
        query: &RecordQuery,
        cursor: Option<&str>,
    ) -> Result<Page<RecordRow>, Error> {
        let Some(start) = page_start(cursor, query.offset, query.limit)? else {
            return self.records(dataset_id, query);
        };
        let page = self.records_page(dataset_id, query, &start)?;
        let total = self.records_total(&self.dataset(dataset_id)?, query)?;
        Ok(Page::from_keyset(total, page))
    }

    /// A page of requests for the host, as [`Store::list_records`].
    pub fn list_requests(&self, query: &RequestQuery, cursor: Option<&str>) -> Result<Page<RequestRow>, Error> {
        let Some(start) = page_start(cursor, query.offset, query.limit)? else {
            return self.requests(query);
        };
        let page = self.requests_page(query, &start)?;
        Ok(Page::from_keyset(self.requests_total(query)?, page))
    }

    /// A page of responses for the host, as [`Store::list_records`].
    pub fn list_responses(&self, query: &ResponseQuery, cursor: Option<&str>) -> Result<Page<ResponseRow>, Error> {
        let Some(start) = page_start(cursor, query.offset, query.limit)? else {
            return self.responses(query);
        };
        let page = self.responses_page(query, &start)?;
        Ok(Page::from_keyset(self.responses_total(query)?, page))
    }
}

/// Where a listed page starts: `None` for the deprecated offset page. The
/// page is checked before anything is looked up, so a bad page is reported
/// as such whatever the list.
fn page_start(cursor: Option<&str>, offset: u64, limit: u32) -> Result<Option<PageStart>, Error> {
    crate::page_bounds(offset, limit)?;
    match (cursor, offset) {
        (Some(_), 1..) => Err(Error::invalid(
            "offset",
            "a page is asked for by its cursor or by its offset, not both: send the cursor alone (the offset is deprecated)",
        )),
        (Some(token), 0) => Ok(Some(PageStart::from_token(token)?)),
        (None, 0) => Ok(Some(PageStart::First)),
        (None, 1..) => Ok(None),
    }
}

impl<T> Page<T> {
    fn from_keyset(total: u64, page: crate::KeysetPage<T>) -> Page<T> {
        let (next_cursor, previous_cursor) = (page.next_token(), page.previous_token());
        Page { total, items: page.items, next_cursor, previous_cursor }
    }
}
