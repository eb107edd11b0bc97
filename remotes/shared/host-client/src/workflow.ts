// The shapes of the workflow commands (src-tauri/src/commands/{data,runs,stack}.rs),
// generated from the Rust types (ts-rs, `cargo xtask contract`). Rows of the
// local database are crates/local-data as serialized (snake_case fields); the
// shell's own replies are camelCase.
import type { JsonValue } from "./generated/views";

export type {
  AiCacheSize,
  AssertionTally,
  CacheUsage,
  Column,
  ComparedPair,
  ComparePage,
  CompareQuery,
  CompareSide,
  CompareSummary,
  ColumnType,
  Dataset,
  EngineInfo,
  EngineKind,
  ExportFormat,
  ExportResult,
  FieldFilter,
  FileChoice,
  FilterOp,
  Format,
  Health,
  ImportPreview,
  Insight,
  JsonValue,
  ModelEstimate,
  ModelTarget,
  Page,
  PairAnswer,
  PairFilter,
  Page as PageOf,
  ParsedPreview,
  Parser,
  PriceRow,
  Rates,
  RecordQuery,
  RecordRow,
  RecordSort,
  RequestQuery,
  RequestRow,
  RequestSort,
  RequestSortColumn,
  RequestStatus,
  ResponseQuery,
  ResponseRow,
  ResponseSort,
  ResponseSortColumn,
  RunChecks,
  RunEvent,
  RunProgress,
  RunStatus,
  RunSummary,
  SampleAnswer,
  SavedDataset,
  StabilityPage,
  StabilityQuery,
  StabilitySummary,
  StackLogLine,
  StackProgress,
  StackServiceView,
  StackView,
  State as ContainerState,
  Template,
  TemplateCheck,
  TemplateVersion,
  UnstableRecord,
  Usage,
  Usage as UsageMetrics,
} from "./generated/views";

/** Any JSON value: a record's cell, a front-matter entry (`serde_json::Value`). */
export type Json = JsonValue;

/** A document to import: pasted text, or the token of a chosen file Rust reads (large files never cross IPC). */
export type DocumentSource = { text: string; file?: undefined } | { file: string; text?: undefined };

/** `provider_status`, `test_api_key`, `provider_models` (src-tauri/src/commands/keys.rs), generated (ts-rs). */
export type { KeyState, KeyTest, ModelView, ProgressEvent, ProviderSettings, ProviderView } from "./generated/views";
