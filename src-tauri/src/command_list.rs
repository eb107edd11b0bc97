// The one list of the shell's IPC commands (issue 15, point 5): each command's
// path under `crate::commands` and who may call it (`grants::Access`:
// `Open`, `Needs(<manifest::Permission variant>)` or `ShellOnly`).
//
// This file holds only the macro, so that `build.rs` can `include!` it too
// (a build script cannot use the crate it builds). Consumers pass a macro
// that receives the whole list:
// - `build.rs`: the app manifest's commands and `capabilities/default.json`;
// - `lib.rs`: `tauri::generate_handler!`;
// - `contract.rs`: `COMMANDS` and `grants::access`.
// Adding a command is one line here (plus the function); the contract test
// (`contract/surface.rs`) then asks for the host API version bump it needs
// and `cargo xtask contract` regenerates the contract and its TypeScript.

macro_rules! for_each_command {
    ($callback:ident) => {
        $callback! {
            remotes::remotes_from_cache => Needs(RemotesManage),
            remotes::check_for_updates => Needs(RemotesManage),
            remotes::remote_versions => Needs(RemotesManage),
            remotes::pin_remote => Needs(RemotesManage),
            remotes::unpin_remote => Needs(RemotesManage),
            remotes::rollback_remote => Needs(RemotesManage),
            // The slot life cycle: a remote that could report failures could roll others back.
            remotes::mark_known_good => ShellOnly,
            remotes::report_load_failure => ShellOnly,
            remotes::shell_painted => ShellOnly,
            // Sizes of the cache and the health of the local services: no data, no secret.
            remotes::cache_usage => Open,
            grants::grant_remote_permissions => ShellOnly,
            grants::revoke_remote_permissions => ShellOnly,
            settings::get_settings => ShellOnly,
            settings::save_settings => ShellOnly,
            settings::get_ui_state => ShellOnly,
            settings::save_ui_state => ShellOnly,
            stack::stack_status => Open,
            stack::stack_up => Needs(StackControl),
            stack::stack_down => Needs(StackControl),
            stack::stack_logs_follow => Needs(StackControl),
            stack::stack_logs_stop => Needs(StackControl),
            // The local services' traffic and provider spend: the administrator's view, so
            // the Admin Dashboard's `remotes:manage`, not any workflow remote's `data:read`.
            stack_metrics::stack_metrics => Needs(RemotesManage),
            stack::import_records => Needs(FilesImport),
            files::recent_files => Needs(FilesImport),
            files::choose_recent_file => Needs(FilesImport),
            files::show_in_folder => Needs(FilesExport),
            keys::provider_status => Needs(ProvidersUse),
            keys::set_api_key => ShellOnly,
            keys::delete_api_key => ShellOnly,
            keys::test_api_key => Needs(ProvidersUse),
            keys::provider_models => Needs(ProvidersUse),
            keys::save_provider_settings => ShellOnly,
            // Adding a provider chooses where prompts (and a key) go: the person's call, like its settings.
            keys::add_provider => ShellOnly,
            keys::remove_provider => ShellOnly,
            data::save_dataset => Needs(DataWrite),
            data::list_datasets => Needs(DataRead),
            data::delete_dataset => Needs(DataWrite),
            data::restore_dataset => Needs(DataWrite),
            data::dataset_records => Needs(DataRead),
            data::update_record_field => Needs(DataWrite),
            data::list_templates => Needs(DataRead),
            data::create_template => Needs(DataWrite),
            data::add_template_version => Needs(DataWrite),
            data::set_current_template_version => Needs(DataWrite),
            data::template_versions => Needs(DataRead),
            data::check_template => Needs(DataRead),
            data::preview_template => Needs(DataRead),
            data::generate_requests => Needs(DataWrite),
            data::list_requests => Needs(DataRead),
            data::set_request_status => Needs(DataWrite),
            data::last_bulk_status_change => Needs(DataRead),
            data::undo_bulk_status_change => Needs(DataWrite),
            data::set_all_request_status => Needs(DataWrite),
            data::edit_request => Needs(DataWrite),
            data::estimate_requests => Needs(DataRead),
            data::list_responses => Needs(DataRead),
            data::compare_answers => Needs(DataRead),
            data::set_insight => Needs(DataWrite),
            data::tag_responses => Needs(DataWrite),
            data::export_responses => Needs(FilesExport),
            data::usage_metrics => Needs(DataRead),
            // The AI response cache: its size is the workflow's data; clearing it deletes data.
            data::ai_cache_size => Needs(DataRead),
            data::prune_ai_cache => Needs(DataWrite),
            // The price table: what estimates and charts cost with is the workflow's data.
            data::list_prices => Needs(DataRead),
            data::set_price => Needs(DataWrite),
            data::reset_price => Needs(DataWrite),
            // The dashboards' charts: sizes like `cache_usage`; which remotes mounted
            // is the Remotes panel's knowledge; the rest reads the workflow's data.
            charts::cache_size_history => Open,
            charts::remote_load_stats => Needs(RemotesManage),
            charts::run_activity => Needs(DataRead),
            charts::response_stats => Needs(DataRead),
            runs::start_run => Needs(RunsStart),
            runs::cancel_run => Needs(RunsStart),
            runs::pause_run => Needs(RunsStart),
            runs::resume_run => Needs(RunsStart),
            runs::unfinished_runs => Needs(DataRead),
            runs::run_progress => Needs(DataRead),
            runs::list_runs => Needs(DataRead),
            runs::run_checks => Needs(DataRead),
            runs::run_stability => Needs(DataRead),
            // Webhooks and notifications: an endpoint chooses where the workflow's news goes and
            // holds secrets (its URL, its signing secret), like a provider; the Admin Dashboard
            // calls them from the shell's realm, and no grant opens them to a sandboxed remote.
            hooks::list_hook_endpoints => ShellOnly,
            hooks::add_hook_endpoint => ShellOnly,
            hooks::delete_hook_endpoint => ShellOnly,
            hooks::test_hook_endpoint => ShellOnly,
            hooks::hook_deliveries => ShellOnly,
            hooks::notification_settings => ShellOnly,
            hooks::set_desktop_notifications => ShellOnly,
            // The team server: these act with the person's team role and keep their session in
            // the OS keychain; the Admin Dashboard calls them from the shell's realm only.
            team::team_sign_in => ShellOnly,
            team::team_session => ShellOnly,
            team::team_sign_out => ShellOnly,
            team::team_users => ShellOnly,
            team::team_create_user => ShellOnly,
            team::team_delete_user => ShellOnly,
            team::team_tokens => ShellOnly,
            team::team_create_token => ShellOnly,
            team::team_revoke_token => ShellOnly,
            // Data stores (issue 19): a connection holds a token and chooses where the workflow's
            // data goes, like a provider, so saving and deleting one is the shell's; the list
            // has no secret; a preview brings rows in like a file preview, an import writes a
            // dataset like save_dataset, a write-back sends answers out like an export.
            datastores::list_datastore_connections => Needs(DataRead),
            datastores::save_datastore_connection => ShellOnly,
            datastores::delete_datastore_connection => ShellOnly,
            datastores::preview_datastore => Needs(FilesImport),
            datastores::import_datastore => Needs(DataWrite),
            datastores::write_back_run => Needs(FilesExport),
            files::choose_file => Needs(FilesImport),
            files::choose_save_path => Needs(FilesExport),
        }
    };
}
