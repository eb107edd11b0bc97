// One table of every shell command: its arguments and its result, keyed by
// the generated command names (generated/contract.ts, from
// src-tauri/src/command_list.rs): a command missing here, or one the shell
// does not have, is a type error below. Adding a command the shell gained is
// one entry here plus, if wanted, a named wrapper in `host` (index.ts).
import type { CommandName as ShellCommandName } from "./generated/contract";
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
  KeyState,
  KeyTest,
  ModelEstimate,
  ModelTarget,
  ModelView,
  PageOf,
  ProviderSettings,
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
  /** Shell only. `mountMs`: how long the remote took to mount, for the logs. */
  mark_known_good: { args: { name: string; version: string; mountMs?: number | null }; result: null };
  /** Shell only: the first paint, for the start-up timing in the logs. */
  shell_painted: { args: NoArgs; result: null };
  /** `phase` defaults to "load". */
  report_load_failure: { args: { name: string; version: string; reason: string; phase?: FailurePhase }; result: LoadFailureOutcome };
  get_settings: { args: NoArgs; result: SettingsView };
  save_settings: { args: { settings: Settings }; result: null };
  cache_usage: { args: NoArgs; result: CacheUsage };
  /** Shell only: a sandboxed remote calling these is refused. */
  grant_remote_permissions: { args: { name: string; permissions: string[] }; result: string[] };
  revoke_remote_permissions: { args: { name: string }; result: boolean };
  stack_status: { args: NoArgs; result: StackView };
  // The local stack: progress arrives as `stack-progress`, `stack-status` and `stack-log` events.
  stack_up: { args: NoArgs; result: boolean };
  stack_down: { args: NoArgs; result: boolean };
  stack_logs_follow: { args: { service: string }; result: null };
  stack_logs_stop: { args: { service: string }; result: boolean };
  provider_status: { args: NoArgs; result: ProviderView[] };
  provider_models: { args: { provider: string }; result: ModelView[] };
  test_api_key: { args: { provider: string }; result: KeyTest };
  /** Shell only: keys are write-only, and where they go is moved only after a native confirmation. */
  set_api_key: { args: { provider: string; key: string }; result: KeyState };
  delete_api_key: { args: { provider: string }; result: KeyState };
  save_provider_settings: {
    args: { provider: string; baseUrl?: string | null; defaultModel?: string | null };
    result: ProviderSettings;
  };

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

/** `T` must be `never`; otherwise the error names what is left over. */
type None<T extends never> = T;
/** Commands the shell has (generated) that the table above lacks: must be none. */
export type MissingCommands = None<Exclude<ShellCommandName, CommandName>>;
/** Commands in the table above that the shell does not have: must be none. */
export type UnknownCommands = None<Exclude<CommandName, ShellCommandName>>;
export type ArgsOf<K extends CommandName> = Commands[K]["args"];
export type ResultOf<K extends CommandName> = Commands[K]["result"];
