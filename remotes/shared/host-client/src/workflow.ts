// The shapes of the workflow commands (src-tauri/src/commands/{data,runs}.rs).
// Rows of the local database mirror crates/local-data as serialized
// (snake_case fields); the shell's own replies are camelCase.

export type Format = "csv" | "json" | "jsonl" | "yaml" | "markdown";
export type ColumnType = "empty" | "boolean" | "integer" | "number" | "string" | "nested";
/** Which parser read a document: the local stack's service, or the app itself. */
export type Parser = "service" | "in-process";
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One page of a longer list and how many items match in all. */
export interface PageOf<T> {
  total: number;
  items: T[];
}

/**
 * A file the person chose in the shell's native dialog (`choose_file`,
 * `choose_save_path`): an opaque token for one use within 10 minutes, and
 * the file's name to show. The page never names a path itself.
 */
export interface FileChoice {
  token: string;
  name: string;
}

/** A document to import: pasted text, or the token of a chosen file Rust reads (large files never cross IPC). */
export type DocumentSource = { text: string; file?: undefined } | { file: string; text?: undefined };

/** `import_records`: one page of a parsed document, nothing saved. */
export interface ImportPreview {
  parser: Parser;
  parserReason: string | null;
  format: Format;
  columns: string[];
  types: ColumnType[];
  /** Rows `offset ..` of the table, cells in column order. */
  rows: Json[][];
  offset: number;
  totalRows: number;
  totalColumns: number;
  documentBytes: number;
  frontMatter?: Record<string, Json>;
  /** For a chosen file: a fresh token for it (the one given is used up), so Save can follow. */
  file?: FileChoice | null;
}

export interface Column {
  name: string;
  type: ColumnType;
}

export interface Dataset {
  id: number;
  name: string;
  format: Format;
  columns: Column[];
  row_count: number;
  /** Unix milliseconds. */
  created_at: number;
}

/** `save_dataset`: the new dataset and which parser read it. */
export interface SavedDataset {
  dataset: Dataset;
  parser: Parser;
  parserReason: string | null;
}

export interface RecordRow {
  id: number;
  /** 0-based row in the imported file. */
  position: number;
  fields: Record<string, Json>;
}

export interface FieldFilter {
  column: string;
  op: "equals" | "contains";
  value: string;
}

export interface RecordQuery {
  offset: number;
  /** 1 to 1000. */
  limit: number;
  filter?: FieldFilter | null;
}

export interface TemplateVersion {
  id: number;
  template_id: number;
  /** 1, 2, 3 … per template. */
  version: number;
  body: string;
  created_at: number;
}

export interface Template {
  id: number;
  name: string;
  current: TemplateVersion;
  version_count: number;
  created_at: number;
}

/** `check_template`: fields the body uses that the dataset lacks. */
export interface TemplateCheck {
  missing_fields: string[];
  /** A sentence for the UI when something is missing. */
  warning: string | null;
}

export interface ModelTarget {
  provider: string;
  model: string;
}

export type RequestStatus = "pending" | "approved" | "rejected";

export interface RequestRow {
  id: number;
  dataset_id: number;
  record_id: number;
  template_version_id: number;
  provider: string;
  model: string;
  rendered: string;
  /** The reviewer's replacement text; this is what is sent when set. */
  edited: string | null;
  status: RequestStatus;
  answered: boolean;
}

export interface RequestQuery {
  dataset_id: number;
  template_version_id?: number | null;
  status?: RequestStatus | null;
  target?: ModelTarget | null;
  offset: number;
  limit: number;
}

export interface ModelEstimate {
  provider: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  /** US dollars; null when the model's price is unknown. */
  cost_usd: number | null;
}

export type RunStatus = "running" | "paused" | "cancelled" | "completed";

export interface RunProgress {
  run_id: number;
  status: RunStatus;
  total: number;
  queued: number;
  in_flight: number;
  answered: number;
  failed: number;
  note: string | null;
}

/** The `run-event` event's payload, one per step of a run. */
export type RunEvent =
  | { kind: "started"; runId: number; progress: RunProgress }
  | { kind: "sending"; runId: number; requestId: number; attempt: number }
  | { kind: "retrying"; runId: number; requestId: number; message: string }
  | { kind: "answered"; runId: number; requestId: number }
  | { kind: "failed"; runId: number; requestId: number; code: string; message: string }
  | { kind: "progress"; runId: number; progress: RunProgress }
  | { kind: "finished"; runId: number; progress: RunProgress };

export interface ResponseRow {
  response_id: number;
  request_id: number;
  run_id: number;
  record_id: number;
  record_position: number;
  record: Record<string, Json>;
  provider: string;
  model: string;
  prompt: string;
  /** null when the request failed. */
  text: string | null;
  error_code: string | null;
  error_message: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  started_at: number;
  finished_at: number;
  tags: string[];
  group: string | null;
  note: string | null;
}

export interface ResponseQuery {
  dataset_id: number;
  template_version_id?: number | null;
  target?: ModelTarget | null;
  tag?: string | null;
  group?: string | null;
  include_errors: boolean;
  offset: number;
  limit: number;
}

export interface Insight {
  tags: string[];
  group: string | null;
  note: string | null;
}

export type ExportFormat = "csv" | "json" | "markdown";

/** `export_responses`: where the file was written and how many responses it holds. */
export interface ExportResult {
  path: string;
  rows: number;
}

/** `usage_metrics`: counts over the local database, for the Admin Dashboard. */
export interface UsageMetrics {
  datasets: number;
  records: number;
  templates: number;
  requests: number;
  approvedRequests: number;
  runs: number;
  responses: number;
  failedResponses: number;
  inputTokens: number;
  outputTokens: number;
}

/** `cache_usage`: the offline bundle cache on disk. */
export interface CacheUsage {
  bytes: number;
  blobs: number;
  versions: number;
}

/** `stack_status` (src-tauri/src/commands/stack.rs). */
export interface StackServiceView {
  service: string;
  state: "running" | "created" | "exited" | "paused" | "restarting" | "dead" | "removing" | "missing";
  health: "healthy" | "unhealthy" | "unknown";
  port: number | null;
  detail: string | null;
}

export interface StackView {
  stack: string;
  engine: { endpoint: string; kind: "docker" | "podman"; api_version: string };
  services: StackServiceView[];
  healthy: boolean;
  busy: "up" | "down" | null;
  lastImport: Parser | null;
}

/** `provider_status`, `test_api_key`, `provider_models` (src-tauri/src/commands/keys.rs), generated (ts-rs). */
export type { KeyState, KeyTest, ModelView, ProgressEvent, ProviderSettings, ProviderView } from "./generated/views";
