// The shapes the shell's commands return, mirroring the Rust types
// (serde camelCase): src-tauri/src/shell.rs, src-tauri/src/commands/*.rs,
// crates/api (Verdict, RegistryStatus) and crates/cache (Rollback).

/** Every command rejects with this (src-tauri/src/error.rs). */
export interface CommandError {
  code:
    | "invalidInput"
    | "refused"
    | "incompatible"
    | "unreachable"
    | "notInstalled"
    | "nothingToRollBackTo"
    | "cache"
    | "settings"
    | "notReady"
    | "internal"
    | (string & {});
  message: string;
}

export type Verdict = "installed" | "cached" | "incompatible";

export type RegistryStatus =
  | { state: "online"; snapshotVersion: number }
  | { state: "offline"; lastReachedAt: number | null; reason: string }
  | { state: "stale"; staleSince: number; snapshotVersion: number };

export interface RegistryView {
  url: string;
  fromLaunch: boolean;
  status: RegistryStatus | null;
  error: CommandError | null;
}

export interface RemoteView {
  name: string;
  version: string | null;
  /** The mfe:// URL of the Module Federation entry. */
  entryUrl: string | null;
  exposes: string[];
  displayName: string | null;
  /** The registry the version came from. */
  source: string | null;
  verdict: Verdict;
  pinned: boolean;
  lastKnownGood: string | null;
  /** Why a newer version was passed over, or why none fits. */
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
  /** false for the cache-only paint at start-up. */
  checked: boolean;
  registries: RegistryView[];
  remotes: RemoteView[];
}

export interface InstalledVersion {
  version: string;
  registry: string;
  /** Unix seconds. */
  installedAt: number;
}

export interface RemoteVersions {
  name: string;
  active: string | null;
  pinned: string | null;
  lastKnownGood: string | null;
  versions: InstalledVersion[];
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

export interface LoadFailureOutcome {
  rolledBack: Rollback | null;
}
