// One table of every shell command: its arguments and its result. Adding a
// command the shell gained (src-tauri/build.rs COMMANDS) is one entry here
// plus, if wanted, a named wrapper in `host` (index.ts).
import type { FailurePhase, LoadFailureOutcome, RemoteVersions, Rollback, Settings, SettingsView, ShellView } from "./types";
import type {
  CacheUsage,
  Dataset,
  DocumentSource,
  ExportFormat,
  ExportResult,
  FileChoice,
  Format,
  ImportPreview,
  Insight,
  ModelEstimate,
  ModelTarget,
  ModelView,
  PageOf,
  ProviderView,
  RecordQuery,
  RecordRow,
  RequestQuery,
  RequestRow,
  RequestStatus,
  ResponseQuery,
  ResponseRow,
  RunProgress,
  SavedDataset,
  StackView,
  Template,
  TemplateCheck,
  TemplateVersion,
  UsageMetrics,
} from "./workflow";

type NoArgs = undefined;

export interface Commands {
  remotes_from_cache: { args: NoArgs; result: ShellView };
  check_for_updates: { args: NoArgs; result: boolean };
  remote_versions: { args: NoArgs; result: RemoteVersions[] };
  pin_remote: { args: { name: string; version: string }; result: null };
  unpin_remote: { args: { name: string }; result: boolean };
  rollback_remote: { args: { name: string }; result: Rollback };
  mark_known_good: { args: { name: string; version: string }; result: null };
  /** `phase` defaults to "load". */
  report_load_failure: { args: { name: string; version: string; reason: string; phase?: FailurePhase }; result: LoadFailureOutcome };
  get_settings: { args: NoArgs; result: SettingsView };
  save_settings: { args: { settings: Settings }; result: null };
  cache_usage: { args: NoArgs; result: CacheUsage };
  stack_status: { args: NoArgs; result: StackView };
  provider_status: { args: NoArgs; result: ProviderView[] };
  provider_models: { args: { provider: string }; result: ModelView[] };

  // Files, chosen by the person in a native dialog: `null` when cancelled.
  // The token is what the file commands below take (a raw path is refused).
  choose_file: { args: { title?: string | null }; result: FileChoice | null };
  choose_save_path: { args: { title?: string | null; suggestedName?: string | null }; result: FileChoice | null };

  // Record Collector. `limit` is 1 to 1000 rows (default 50).
  import_records: { args: DocumentSource & { format: Format; offset?: number; limit?: number }; result: ImportPreview };
  save_dataset: { args: DocumentSource & { name: string; format: Format }; result: SavedDataset };
  list_datasets: { args: NoArgs; result: Dataset[] };
  delete_dataset: { args: { datasetId: number }; result: null };
  dataset_records: { args: { datasetId: number; query: RecordQuery }; result: PageOf<RecordRow> };
  update_record_field: { args: { recordId: number; column: string; value: unknown }; result: RecordRow };

  // Prompt Template Manager. `check_template` and `preview_template` take
  // the body being edited, saved or not.
  list_templates: { args: NoArgs; result: Template[] };
  create_template: { args: { name: string; body: string }; result: Template };
  add_template_version: { args: { templateId: number; body: string }; result: TemplateVersion };
  set_current_template_version: { args: { templateId: number; versionId: number }; result: Template };
  template_versions: { args: { templateId: number }; result: TemplateVersion[] };
  check_template: { args: { body: string; datasetId: number }; result: TemplateCheck };
  preview_template: { args: { body: string; recordId: number }; result: string };

  // Request Reviewer.
  generate_requests: { args: { datasetId: number; templateVersionId: number; targets: ModelTarget[] }; result: number };
  list_requests: { args: { query: RequestQuery }; result: PageOf<RequestRow> };
  set_request_status: { args: { requestIds: number[]; status: RequestStatus }; result: number };
  set_all_request_status: {
    args: { datasetId: number; templateVersionId?: number | null; from: RequestStatus; to: RequestStatus };
    result: number;
  };
  edit_request: { args: { requestId: number; text: string | null }; result: RequestRow };
  estimate_requests: { args: { datasetId: number; templateVersionId?: number | null; outputTokens: number }; result: ModelEstimate[] };

  // Runs: progress arrives as `run-event` events (RunEvent).
  start_run: { args: { datasetId: number; templateVersionId?: number | null }; result: RunProgress };
  cancel_run: { args: { runId: number }; result: boolean };
  resume_run: { args: { runId: number }; result: RunProgress };
  unfinished_runs: { args: NoArgs; result: RunProgress[] };
  run_progress: { args: { runId: number }; result: RunProgress };

  // Insight Assembler. Without `file` (a `choose_save_path` token), exports go to the app's exports folder.
  list_responses: { args: { query: ResponseQuery }; result: PageOf<ResponseRow> };
  set_insight: { args: { responseId: number; insight: Insight }; result: Insight };
  tag_responses: { args: { responseIds: number[]; tag: string }; result: number };
  export_responses: { args: { query: ResponseQuery; format: ExportFormat; file?: string | null }; result: ExportResult };

  // Admin Dashboard.
  usage_metrics: { args: NoArgs; result: UsageMetrics };
}

export type CommandName = keyof Commands;
export type ArgsOf<K extends CommandName> = Commands[K]["args"];
export type ResultOf<K extends CommandName> = Commands[K]["result"];
