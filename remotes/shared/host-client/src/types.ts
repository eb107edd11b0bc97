// The shapes the shell's commands return: src-tauri/src/shell.rs,
// src-tauri/src/commands/*.rs, crates/api (Verdict, RegistryStatus) and
// crates/cache (Rollback), generated from the Rust types.

/** Every command rejects with `CommandError` (`{ code: ErrorCode; message }`,
 * src-tauri/src/error.rs), generated from the Rust definitions. */
export type { CommandError, ErrorCode } from "./generated/contract";

// Generated (ts-rs, `cargo xtask contract`).
export type {
  DevOverrideView,
  DevOverrideView as DevOverride,
  HeldBack,
  InstalledView,
  InstalledView as InstalledVersion,
  FilesDropped,
  LoadFailureOutcome,
  NavigationRefused,
  RegistryConfig,
  RegistryState,
  RegistryStatus,
  RegistryView,
  RemoteVersions,
  RemoteView,
  RecentFile,
  Rollback,
  Settings,
  SettingsView,
  ShellView,
  ThemeChoice,
  UiState,
  Verdict,
  DevRemoteChanged,
} from "./generated/views";

/** When a remote failed: loading its entry, rendering (or mounting), or not mounted within the shell's bound. */
export type FailurePhase = "load" | "render" | "timeout";
