// Generated from src-tauri (src/command_list.rs, src/error.rs, manifest::Permission and the
// host profile) by `cargo xtask contract`: do not edit. The surface it describes is
// src-tauri/contract/host-api.json.

/** The host API version the shell implements. */
export const HOST_API_VERSION = "1.11.0";

/** Every permission a remote may declare, with what granting it allows. */
export const PERMISSIONS = {
  "data:read": "Read your datasets, records, templates, requests, responses and usage",
  "data:write": "Create, change and delete your datasets, records, templates, requests and responses",
  "files:export": "Export to a file you pick",
  "files:import": "Import a file you pick",
  "providers:use": "See which AI providers and models are set up, and test a key (it never sees the key)",
  "remotes:manage": "Pin, unpin and roll back the app's modules, and check for updates",
  "runs:start": "Start runs that send requests to AI providers (this costs money)",
  "stack:control": "Start and stop the local services and read their logs",
} as const;

export type PermissionName = keyof typeof PERMISSIONS;

/** Who may call a command: any remote, a remote granted the permission, or the shell page only. */
export type CommandAccess = "open" | "shellOnly" | PermissionName;

/** Every command of the shell and who may call it. */
export const COMMAND_ACCESS = {
  add_hook_endpoint: "shellOnly",
  add_provider: "shellOnly",
  add_template_version: "data:write",
  ai_cache_size: "data:read",
  cache_size_history: "open",
  cache_usage: "open",
  cancel_run: "runs:start",
  check_for_updates: "remotes:manage",
  check_template: "data:read",
  choose_file: "files:import",
  choose_recent_file: "files:import",
  choose_save_path: "files:export",
  compare_answers: "data:read",
  create_template: "data:write",
  dataset_records: "data:read",
  delete_api_key: "shellOnly",
  delete_dataset: "data:write",
  delete_datastore_connection: "shellOnly",
  delete_hook_endpoint: "shellOnly",
  edit_request: "data:write",
  estimate_requests: "data:read",
  export_responses: "files:export",
  generate_requests: "data:write",
  get_settings: "shellOnly",
  get_ui_state: "shellOnly",
  grant_remote_permissions: "shellOnly",
  hook_deliveries: "shellOnly",
  import_datastore: "data:write",
  import_records: "files:import",
  last_bulk_status_change: "data:read",
  list_datasets: "data:read",
  list_datastore_connections: "data:read",
  list_hook_endpoints: "shellOnly",
  list_prices: "data:read",
  list_requests: "data:read",
  list_responses: "data:read",
  list_runs: "data:read",
  list_templates: "data:read",
  mark_known_good: "shellOnly",
  notification_settings: "shellOnly",
  pause_run: "runs:start",
  pin_remote: "remotes:manage",
  preview_datastore: "files:import",
  preview_template: "data:read",
  provider_models: "providers:use",
  provider_status: "providers:use",
  prune_ai_cache: "data:write",
  recent_files: "files:import",
  remote_load_stats: "remotes:manage",
  remote_versions: "remotes:manage",
  remotes_from_cache: "remotes:manage",
  remove_provider: "shellOnly",
  report_load_failure: "shellOnly",
  reset_price: "data:write",
  response_stats: "data:read",
  restore_dataset: "data:write",
  resume_run: "runs:start",
  revoke_remote_permissions: "shellOnly",
  rollback_remote: "remotes:manage",
  run_activity: "data:read",
  run_checks: "data:read",
  run_progress: "data:read",
  run_stability: "data:read",
  save_dataset: "data:write",
  save_datastore_connection: "shellOnly",
  save_provider_settings: "shellOnly",
  save_settings: "shellOnly",
  save_ui_state: "shellOnly",
  set_all_request_status: "data:write",
  set_api_key: "shellOnly",
  set_current_template_version: "data:write",
  set_desktop_notifications: "shellOnly",
  set_insight: "data:write",
  set_price: "data:write",
  set_request_status: "data:write",
  shell_painted: "shellOnly",
  show_in_folder: "files:export",
  stack_down: "stack:control",
  stack_logs_follow: "stack:control",
  stack_logs_stop: "stack:control",
  stack_metrics: "remotes:manage",
  stack_status: "open",
  stack_up: "stack:control",
  start_run: "runs:start",
  tag_responses: "data:write",
  team_create_token: "shellOnly",
  team_create_user: "shellOnly",
  team_delete_user: "shellOnly",
  team_revoke_token: "shellOnly",
  team_session: "shellOnly",
  team_sign_in: "shellOnly",
  team_sign_out: "shellOnly",
  team_tokens: "shellOnly",
  team_users: "shellOnly",
  template_versions: "data:read",
  test_api_key: "providers:use",
  test_hook_endpoint: "shellOnly",
  undo_bulk_status_change: "data:write",
  unfinished_runs: "data:read",
  unpin_remote: "remotes:manage",
  update_record_field: "data:write",
  usage_metrics: "data:read",
  write_back_run: "files:export",
} as const satisfies Record<string, CommandAccess>;

export type CommandName = keyof typeof COMMAND_ACCESS;

/** Every event the shell emits, with its payload's Rust type. */
export const EVENTS = {
  "dev-remote-changed": "DevRemoteChanged",
  "files-dropped": "FilesDropped",
  "navigation-refused": "NavigationRefused",
  "provider-progress": "ProgressEvent",
  "registry-check-failed": "CommandError",
  "registry-checked": "ShellView",
  "run-event": "RunEvent",
  "stack-log": "StackLogLine",
  "stack-progress": "StackProgress",
  "stack-status": "StackView",
} as const;

export type EventName = keyof typeof EVENTS;

/** The stable codes of a command's error (src-tauri/src/error.rs). */
export const ERROR_CODES = [
  "invalidInput",
  "refused",
  "incompatible",
  "unreachable",
  "notInstalled",
  "nothingToRollBackTo",
  "cache",
  "settings",
  "keychain",
  "provider",
  "engineNotRunning",
  "portInUse",
  "stack",
  "parseError",
  "notReady",
  "declined",
  "notFound",
  "missingFields",
  "invalidTemplate",
  "offline",
  "noKey",
  "data",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What every command rejects with. */
export interface CommandError {
  code: ErrorCode;
  message: string;
}
