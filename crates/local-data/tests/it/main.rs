//! Integration tests of the local store on real SQLite files in temp dirs.

// Tests may unwrap, helpers included (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

mod ai_cache;
mod compare;
mod datastores;
mod export;
mod import;
mod keyset;
mod lists;
mod review;
mod sort;
mod stability;
mod streaming;
mod structured;
mod templates;

use local_data::{ImportOptions, Store};
use records::Format;

/// A fresh store in its own temp dir (kept alive by the returned guard).
pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("data.sqlite")).unwrap();
    (dir, store)
}

/// Imports `text` as a dataset called `name`.
pub fn import(store: &mut Store, name: &str, format: Format, text: &str) -> local_data::Dataset {
    store.import(text.as_bytes(), &ImportOptions::new(name, format), |_| {}).unwrap()
}
