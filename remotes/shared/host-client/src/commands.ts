// One table of every shell command: its arguments and its result. Adding a
// command the shell gained (src-tauri/build.rs COMMANDS) is one entry here
// plus, if wanted, a named wrapper in `host` (index.ts).
import type { LoadFailureOutcome, RemoteVersions, Rollback, Settings, SettingsView, ShellView } from "./types";

type NoArgs = undefined;

export interface Commands {
  remotes_from_cache: { args: NoArgs; result: ShellView };
  check_for_updates: { args: NoArgs; result: boolean };
  remote_versions: { args: NoArgs; result: RemoteVersions[] };
  pin_remote: { args: { name: string; version: string }; result: null };
  unpin_remote: { args: { name: string }; result: boolean };
  rollback_remote: { args: { name: string }; result: Rollback };
  mark_known_good: { args: { name: string; version: string }; result: null };
  report_load_failure: { args: { name: string; version: string; reason: string }; result: LoadFailureOutcome };
  get_settings: { args: NoArgs; result: SettingsView };
  save_settings: { args: { settings: Settings }; result: null };
}

export type CommandName = keyof Commands;
export type ArgsOf<K extends CommandName> = Commands[K]["args"];
export type ResultOf<K extends CommandName> = Commands[K]["result"];
