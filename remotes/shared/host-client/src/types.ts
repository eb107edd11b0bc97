// The shapes the shell's commands return, mirroring the Rust types
// (serde camelCase): src-tauri/src/shell.rs, src-tauri/src/commands/*.rs,
// crates/api (Verdict, RegistryStatus) and crates/cache (Rollback).

/** Every command rejects with `CommandError` (`{ code: ErrorCode; message }`,
 * src-tauri/src/error.rs), generated from the Rust definitions. */
export type { CommandError, ErrorCode } from "./generated/contract";

// Generated from src-tauri's view types (ts-rs, `cargo xtask contract`).
export type {
  DevOverrideView,
  DevOverrideView as DevOverride,
  HeldBack,
  InstalledView,
  InstalledView as InstalledVersion,
  LoadFailureOutcome,
  RegistryView,
  RemoteVersions,
  RemoteView,
  ShellView,
} from "./generated/views";

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

/** A dev-override folder changed: mount the remote again from `entryUrl`. */
export interface DevRemoteChanged {
  remote: string;
  revision: number;
  entryUrl: string;
}

export interface Rollback {
  name: string;
  from: string;
  to: string;
}

export interface RegistryConfig {
  url: string;
  trust?: string | null;
  /** First-party: its remotes run in the shell's page with every command; others run sandboxed. */
  trusted?: boolean;
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
