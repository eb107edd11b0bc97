// Generated from the shell's command functions (src-tauri/src/commands/*.rs, their
// arguments as on the wire) by `cargo xtask contract`: do not edit.
import type { PermissionName } from "./contract";
import type { ShellView, RemoteVersions, Settings, ProviderSettings, SettingsView, UiState, LoadFailureOutcome, KeyState, ProviderView, KeyTest, ModelView, Rollback, CacheUsage, JsonValue, Page, ImportPreview, FileChoice, RecentFile, Dataset, SavedDataset, RecordRow, RecordQuery, TemplateVersion, Template, TemplateCheck, ModelTarget, RequestStatus, RequestRow, RequestQuery, ModelEstimate, RunProgress, ResponseRow, ResponseQuery, Insight, ExportFormat, ExportResult, Usage, StackView } from "./views";

/** Every shell command: its arguments and its result. */
export interface GeneratedCommands {
  add_template_version: { args: { body: string; templateId: number }; result: TemplateVersion };
  cache_usage: { args: undefined; result: CacheUsage };
  cancel_run: { args: { runId: number }; result: boolean };
  check_for_updates: { args: undefined; result: boolean };
  check_template: { args: { body: string; datasetId: number }; result: TemplateCheck };
  choose_file: { args: { title?: string | null }; result: FileChoice | null };
  choose_recent_file: { args: { id: string }; result: FileChoice };
  choose_save_path: { args: { suggestedName?: string | null; title?: string | null }; result: FileChoice | null };
  create_template: { args: { body: string; name: string }; result: Template };
  dataset_records: { args: { datasetId: number; query: RecordQuery }; result: Page<RecordRow> };
  delete_api_key: { args: { provider: string }; result: KeyState };
  delete_dataset: { args: { datasetId: number }; result: null };
  edit_request: { args: { requestId: number; text?: string | null }; result: RequestRow };
  estimate_requests: { args: { datasetId: number; outputTokens: number; templateVersionId?: number | null }; result: Array<ModelEstimate> };
  export_responses: { args: { file?: string | null; format: ExportFormat; path?: string | null; query: ResponseQuery }; result: ExportResult };
  generate_requests: { args: { datasetId: number; targets: Array<ModelTarget>; templateVersionId: number }; result: number };
  get_settings: { args: undefined; result: SettingsView };
  get_ui_state: { args: undefined; result: UiState };
  grant_remote_permissions: { args: { name: string; permissions: Array<string> }; result: Array<PermissionName> };
  import_records: { args: { file?: string | null; format: string; limit?: number | null; offset?: number | null; path?: string | null; text?: string | null }; result: ImportPreview };
  list_datasets: { args: undefined; result: Array<Dataset> };
  list_requests: { args: { query: RequestQuery }; result: Page<RequestRow> };
  list_responses: { args: { query: ResponseQuery }; result: Page<ResponseRow> };
  list_templates: { args: undefined; result: Array<Template> };
  mark_known_good: { args: { mountMs?: number | null; name: string; version: string }; result: null };
  pin_remote: { args: { name: string; version: string }; result: null };
  preview_template: { args: { body: string; recordId: number }; result: string };
  provider_models: { args: { provider: string }; result: Array<ModelView> };
  provider_status: { args: undefined; result: Array<ProviderView> };
  recent_files: { args: undefined; result: Array<RecentFile> };
  remote_versions: { args: undefined; result: Array<RemoteVersions> };
  remotes_from_cache: { args: undefined; result: ShellView };
  report_load_failure: { args: { name: string; phase?: string | null; reason: string; version: string }; result: LoadFailureOutcome };
  resume_run: { args: { runId: number }; result: RunProgress };
  revoke_remote_permissions: { args: { name: string }; result: boolean };
  rollback_remote: { args: { name: string }; result: Rollback };
  run_progress: { args: { runId: number }; result: RunProgress };
  save_dataset: { args: { file?: string | null; format: string; name: string; path?: string | null; text?: string | null }; result: SavedDataset };
  save_provider_settings: { args: { baseUrl?: string | null; defaultModel?: string | null; provider: string }; result: ProviderSettings };
  save_settings: { args: { settings: Settings }; result: null };
  save_ui_state: { args: { ui: UiState }; result: null };
  set_all_request_status: { args: { datasetId: number; from: RequestStatus; templateVersionId?: number | null; to: RequestStatus }; result: number };
  set_api_key: { args: { key: string; provider: string }; result: KeyState };
  set_current_template_version: { args: { templateId: number; versionId: number }; result: Template };
  set_insight: { args: { insight: Insight; responseId: number }; result: Insight };
  set_request_status: { args: { requestIds: Array<number>; status: RequestStatus }; result: number };
  shell_painted: { args: undefined; result: null };
  show_in_folder: { args: { path: string }; result: null };
  stack_down: { args: undefined; result: boolean };
  stack_logs_follow: { args: { service: string }; result: null };
  stack_logs_stop: { args: { service: string }; result: boolean };
  stack_status: { args: undefined; result: StackView };
  stack_up: { args: undefined; result: boolean };
  start_run: { args: { datasetId: number; templateVersionId?: number | null }; result: RunProgress };
  tag_responses: { args: { responseIds: Array<number>; tag: string }; result: number };
  template_versions: { args: { templateId: number }; result: Array<TemplateVersion> };
  test_api_key: { args: { provider: string }; result: KeyTest };
  unfinished_runs: { args: undefined; result: Array<RunProgress> };
  unpin_remote: { args: { name: string }; result: boolean };
  update_record_field: { args: { column: string; recordId: number; value: JsonValue }; result: RecordRow };
  usage_metrics: { args: undefined; result: Usage };
}
