// The data-store connectors' commands (issue 19 point 1,
// src-tauri/src/commands/datastores.rs): saved connections to a NocoDB,
// Airtable or Databricks table, a preview with inferred column types, an
// import under a column mapping, and a run's answers written back.
//
// Written by hand until the generated contract (`cargo xtask contract`) has
// these commands: then `DatastoreCommands` below must stay a valid narrowing
// of the generated ones (move them into `Narrowed` in commands.ts, where
// `NarrowingsFit` checks it) and `datastores` can call through `call`.
import type { ColumnType, Dataset, JsonValue } from "./generated/views";

export type DatastoreKind = "nocodb" | "airtable" | "databricks";

/** crates/datastores nocodb::Table; the credential goes in `xc-token` (API token) or `xc-auth` (session). */
export interface NocodbSource {
  kind: "nocodb";
  base_url: string;
  table_id: string;
  view_id?: string | null;
  token_kind: "xc-token" | "xc-auth";
  /** `null`: the table's primary key, as its meta API says. */
  key_column?: string | null;
}

/** crates/datastores airtable::Table (a personal access token). */
export interface AirtableSource {
  kind: "airtable";
  api_url: string;
  base_id: string;
  table: string;
  view?: string | null;
}

/** crates/datastores databricks::Table (a personal access token, a SQL warehouse). */
export interface DatabricksSource {
  kind: "databricks";
  host: string;
  warehouse_id: string;
  table: string;
  key_column: string;
}

/** Where a table's rows live, tagged by `kind` (serde's `crates/datastores::Source`). Never a secret. */
export type DatastoreSource = NocodbSource | AirtableSource | DatabricksSource;

/** A saved connection. The credential is write-only: the reply says only whether the keychain holds one. */
export interface DatastoreConnection {
  name: string;
  kind: DatastoreKind;
  source: DatastoreSource;
  hasCredential: boolean;
}

/** One source column of a preview: the type inferred from the rows read, the service's own type, a few values. */
export interface DatastoreColumn {
  name: string;
  inferred: ColumnType;
  serviceType: string | null;
  samples: JsonValue[];
}

export interface DatastorePreview {
  columns: DatastoreColumn[];
  rows: Record<string, JsonValue>[];
  /** The dataset column that keeps each row's key (what write-back finds the row by). */
  keyColumn: string;
}

/** A source column kept, under the name it gets in the dataset. */
export interface ColumnMapping {
  source: string;
  target: string;
}

/** The columns an import keeps (others are left out); the key column is always kept. */
export interface DatastoreMapping {
  keyColumn: string;
  columns: ColumnMapping[];
}

/** Which source columns receive a run's answers, tags and notes. */
export interface WriteBackColumns {
  answer?: string | null;
  tags?: string | null;
  notes?: string | null;
}

export interface WriteReport {
  updated: number;
  createdColumns: string[];
  /** Writing again retries these (it updates, never duplicates). */
  failed: { key: string; reason: string }[];
  /** Answered records without a key: nothing to find their row by. */
  withoutKey: number;
}

/** Each command's arguments and result, as commands.ts types the generated ones. */
export interface DatastoreCommands {
  list_datastore_connections: { args: undefined; result: DatastoreConnection[] };
  /** `credential` is stored in the OS keychain; absent keeps the one stored. */
  save_datastore_connection: { args: { name: string; source: DatastoreSource; credential?: string }; result: DatastoreConnection };
  delete_datastore_connection: { args: { name: string }; result: null };
  preview_datastore: { args: { connection: string; rows?: number }; result: DatastorePreview };
  import_datastore: { args: { connection: string; name: string; mapping: DatastoreMapping }; result: Dataset };
  write_back_run: { args: { run: number; connection: string; columns: WriteBackColumns; createColumns: boolean }; result: WriteReport };
}

export type DatastoreCommand = keyof DatastoreCommands;
