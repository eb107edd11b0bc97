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
    | "declined"
    | "internal"
    | (string & {});
  message: string;
}

export type Verdict = "installed" | "cached" | "incompatible";

/**
 * online: fresh signed metadata verified now. offline: nothing answered (or
 * offline mode). stale: the registry answered but unusably (HTTP 4xx/5xx, an
 * HTML or malformed answer, a timeout or trickle, an expired snapshot or
 * root). refused: an answer failed verification (signature, rollback,
 * hash/length mismatch, unsafe path); the trusted state is unchanged.
 * In every state but online the verified cache keeps serving.
 */
export type RegistryState = "online" | "offline" | "stale" | "refused";

export interface RegistryStatus {
  state: RegistryState;
  /** Why, in words a person can act on; null when online and nothing failed. */
  reason: string | null;
  /** Unix seconds: the last time fresh signed metadata from it verified. */
  lastVerifiedAt: number | null;
  /** Unix seconds: the last time it answered at all. */
  lastReachedAt: number | null;
  snapshotVersion: number | null;
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
  /** Saved settings that could not be used and were skipped, each saying what and why. */
  problems?: string[];
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
  /** Minutes between background update checks; 0 = off; absent = the default (SettingsView.updateCheckMinutes). */
  updateCheckMinutes?: number | null;
}

export interface SettingsView {
  saved: Settings;
  launchRegistry: RegistryConfig | null;
  path: string;
  /** The interval in effect: the saved one, or the default (60) when none is saved. */
  updateCheckMinutes: number;
}

/** When a remote failed: loading its entry, rendering (or mounting), or not mounted within the shell's bound. */
export type FailurePhase = "load" | "render" | "timeout";

export interface LoadFailureOutcome {
  rolledBack: Rollback | null;
}
