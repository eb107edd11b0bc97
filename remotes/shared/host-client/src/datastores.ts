// The data-store connectors' commands (issue 19 point 1,
// src-tauri/src/commands/datastores.rs): saved connections to a NocoDB,
// Airtable or Databricks table, a preview with inferred column types, an
// import under a column mapping, and a run's answers written back.
//
// The shapes are generated (ts-rs); only a connection's `source` is narrowed
// here: Rust sends it as JSON (`datastores::Source`, tagged by `kind`), which
// is exactly `DatastoreSource` below (crates/datastores/src/{nocodb,airtable,databricks}.rs).
import type { DatastoreConnection as GeneratedConnection } from "./generated/views";

export type {
  ColumnPreview,
  ColumnPreview as DatastoreColumn,
  DatastoreColumnMapping,
  DatastoreColumnMapping as ColumnMapping,
  DatastoreMapping,
  DatastorePreview,
  FailedWrite,
  WriteBackColumns,
  WriteReport,
} from "./generated/views";

export type DatastoreKind = GeneratedConnection["kind"];

/** nocodb::Table; the credential goes in `xc-token` (API token) or `xc-auth` (session). */
export type NocodbSource = {
  kind: "nocodb";
  base_url: string;
  table_id: string;
  view_id?: string | null;
  token_kind: "xc-token" | "xc-auth";
  /** Absent: the table's primary key, as its meta API says. */
  key_column?: string | null;
};

/** airtable::Table (a personal access token). */
export type AirtableSource = {
  kind: "airtable";
  api_url: string;
  base_id: string;
  table: string;
  view?: string | null;
};

/** databricks::Table (a personal access token, a SQL warehouse). */
export type DatabricksSource = {
  kind: "databricks";
  host: string;
  warehouse_id: string;
  table: string;
  key_column: string;
};

/** Where a table's rows live (`datastores::Source`). Never a secret. */
export type DatastoreSource = NocodbSource | AirtableSource | DatabricksSource;

/** A saved connection. The credential is write-only: the reply says only whether the keychain holds one. */
export type DatastoreConnection = Omit<GeneratedConnection, "source"> & { source: DatastoreSource };
