//! The data-store pipeline the CLI (`augment data connect|import`, `augment
//! run export --to …`) and the app (`commands/datastores.rs`) share, so both
//! follow one set of rules:
//!
//! - [`connections`]: saved connections: a name, the table's place (a
//!   `datastores::Source`, stored in `local.db`) and a credential in the OS
//!   keychain under the account `datastore-<name>` (or the variable
//!   `AUGMENT_DATASTORE_<NAME>_API_KEY`), never in settings, the database,
//!   logs or replies;
//! - [`preview`]: the first rows with each column's inferred type and the key column;
//! - [`import`]: every page fetched, mapped and spooled as JSON Lines to a
//!   temporary file, then stored in one transaction with the dataset's
//!   origin, so a failure at any point stores nothing;
//! - [`write`]: a run's answers, tags and notes written back to the rows its
//!   dataset came from, found by the key column the import filled.
//!
//! The app reaches a store through the local stack's connector service when
//! the stack is up and healthy and the table is not on this computer's
//! loopback ([`Connections::connector_via`]); otherwise, and always from the
//! CLI, in process. Both speak the same `datastores::Connector` calls.

pub mod connections;
mod error;
pub mod import;
pub mod preview;
pub mod write;

pub use connections::{Connections, Route, SavedConnection, check_connection_name, keychain_account};
pub use error::Error;
pub use import::{Spool, check_dataset_name, check_mapping, fetch, import, store_spool};
pub use preview::{PREVIEW_ROWS, Preview, preview};
pub use write::{WriteBackReport, WriteColumns, WritePlan, plan_write_back, same_table, write_back};
