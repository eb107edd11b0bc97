// Typed wrappers over the shell's IPC commands and events. The types mirror
// src-tauri/src/shell.rs and commands/*.rs (serde camelCase).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type Verdict = "installed" | "cached" | "incompatible";

export type RegistryStatus =
  | { state: "online"; snapshotVersion: number }
  | { state: "offline"; lastReachedAt: number | null; reason: string }
  | { state: "stale"; staleSince: number; snapshotVersion: number };

export interface CommandError {
  code: string;
  message: string;
}

export interface RegistryView {
  url: string;
  fromLaunch: boolean;
  status: RegistryStatus | null;
  error: CommandError | null;
}

export interface RemoteView {
  name: string;
  version: string | null;
  entryUrl: string | null;
  exposes: string[];
  displayName: string | null;
  source: string | null;
  verdict: Verdict;
  pinned: boolean;
  lastKnownGood: string | null;
  reason: string | null;
  /** Dev mode: this remote is served from a local folder or a loopback dev server. */
  devOverride: DevOverride | null;
}

export interface DevOverride {
  kind: "folder" | "url";
  /** The folder path or dev-server URL. */
  target: string;
}

/** A dev-override folder changed: mount the remote again from `entryUrl`. */
export interface DevRemoteChanged {
  remote: string;
  revision: number;
  entryUrl: string;
}

export interface ShellView {
  checked: boolean;
  registries: RegistryView[];
  remotes: RemoteView[];
}

export interface RemoteVersions {
  name: string;
  active: string | null;
  pinned: string | null;
  lastKnownGood: string | null;
  versions: { version: string; registry: string; installedAt: number }[];
}

export interface Rollback {
  name: string;
  from: string;
  to: string;
}

export interface RegistryConfig {
  url: string;
  trust?: string | null;
}

export interface Settings {
  registries: RegistryConfig[];
}

export interface SettingsView {
  saved: Settings;
  launchRegistry: RegistryConfig | null;
  path: string;
}

/** Turns whatever a command rejected with into `{ code, message }`. */
export function asCommandError(err: unknown): CommandError {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    return { code: String(err.code), message: String(err.message) };
  }
  return { code: "internal", message: err instanceof Error ? err.message : String(err) };
}

export const ipc = {
  remotesFromCache: () => invoke<ShellView>("remotes_from_cache"),
  checkForUpdates: () => invoke<boolean>("check_for_updates"),
  remoteVersions: () => invoke<RemoteVersions[]>("remote_versions"),
  pinRemote: (name: string, version: string) => invoke<void>("pin_remote", { name, version }),
  unpinRemote: (name: string) => invoke<boolean>("unpin_remote", { name }),
  rollbackRemote: (name: string) => invoke<Rollback>("rollback_remote", { name }),
  markKnownGood: (name: string, version: string, mountMs?: number) =>
    invoke<void>("mark_known_good", { name, version, mountMs: mountMs ?? null }),
  shellPainted: () => invoke<void>("shell_painted"),
  reportLoadFailure: (name: string, version: string, reason: string) =>
    invoke<{ rolledBack: Rollback | null }>("report_load_failure", { name, version, reason }),
  getSettings: () => invoke<SettingsView>("get_settings"),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
};

export function onRegistryChecked(handler: (view: ShellView) => void): Promise<UnlistenFn> {
  return listen<ShellView>("registry-checked", (event) => handler(event.payload));
}

export function onDevRemoteChanged(handler: (change: DevRemoteChanged) => void): Promise<UnlistenFn> {
  return listen<DevRemoteChanged>("dev-remote-changed", (event) => handler(event.payload));
}

export function onRegistryCheckFailed(handler: (err: CommandError) => void): Promise<UnlistenFn> {
  return listen<CommandError>("registry-check-failed", (event) => handler(event.payload));
}
