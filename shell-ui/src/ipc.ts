// The shell's own IPC calls and event subscriptions (remotes use
// @augment-it/host-client, which also holds the types).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import { asCommandError } from "@augment-it/host-client";
import type {
  CommandError,
  DevRemoteChanged,
  EventName,
  FailurePhase,
  LoadFailureOutcome,
  NavigationRefused,
  RemoteVersions,
  Rollback,
  Settings,
  SettingsView,
  ShellView,
  UiState,
} from "@augment-it/host-client";

// The shapes live in host-client, the one copy the shell and the remotes share.
export type * from "@augment-it/host-client";
export { asCommandError };

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
  /** A version failed before it mounted (or while rendering later): Rust rolls back to the last known good one if it can. */
  reportLoadFailure: (name: string, version: string, reason: string, phase: FailurePhase = "load") =>
    invoke<LoadFailureOutcome>("report_load_failure", { name, version, reason, phase }),
  getSettings: () => invoke<SettingsView>("get_settings"),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
  getUiState: () => invoke<UiState>("get_ui_state"),
  saveUiState: (ui: UiState) => invoke<void>("save_ui_state", { ui }),
  grantRemotePermissions: (name: string, permissions: string[]) =>
    invoke<string[]>("grant_remote_permissions", { name, permissions }),
  revokeRemotePermissions: (name: string) => invoke<boolean>("revoke_remote_permissions", { name }),
};

export function onRegistryChecked(handler: (view: ShellView) => void): Promise<UnlistenFn> {
  return listen<ShellView>("registry-checked" satisfies EventName, (event) => handler(event.payload));
}

export function onDevRemoteChanged(handler: (change: DevRemoteChanged) => void): Promise<UnlistenFn> {
  return listen<DevRemoteChanged>("dev-remote-changed" satisfies EventName, (event) => handler(event.payload));
}

export function onRegistryCheckFailed(handler: (err: CommandError) => void): Promise<UnlistenFn> {
  return listen<CommandError>("registry-check-failed" satisfies EventName, (event) => handler(event.payload));
}

/** Rust refused a navigation away from the shell page (src-tauri/src/webview_guard.rs). */
export function onNavigationRefused(handler: (refused: NavigationRefused) => void): Promise<UnlistenFn> {
  return listen<NavigationRefused>("navigation-refused" satisfies EventName, (event) => handler(event.payload));
}
