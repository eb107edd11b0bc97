// Generated from src-tauri's view types (ts-rs) by `cargo xtask contract`: do not edit.
// Types not generated yet are named from ../types.
import type { RegistryStatus, Rollback, Verdict } from "../types";
import type { CommandError } from "./contract";

export type ShellView = { 
/**
 * `false` for the cache-only paint at start-up.
 */
checked: boolean, registries: Array<RegistryView>, remotes: Array<RemoteView>, 
/**
 * Saved settings that could not be used and were skipped, each saying
 * what and why (the shell shows them as notices).
 */
problems: Array<string>, 
/**
 * Every permission a remote may ask for and what granting it allows.
 */
permissionDescriptions: Record<string, string>, };

export type RegistryView = { url: string, 
/**
 * Given on the command line rather than in the settings.
 */
fromLaunch: boolean, status: RegistryStatus | null, error: CommandError | null, };

export type RemoteView = { name: string, version: string | null, 
/**
 * The `mfe://` URL of the Module Federation entry.
 */
entryUrl: string | null, exposes: Array<string>, displayName: string | null, 
/**
 * The registry the version came from.
 */
source: string | null, verdict: Verdict, pinned: boolean, lastKnownGood: string | null, 
/**
 * Why a newer version was passed over, or why none fits.
 */
reason: string | null, 
/**
 * Set when dev mode serves this remote from a folder or dev server.
 */
devOverride: DevOverrideView | null, 
/**
 * Runs in a sandboxed iframe, reaching the host only through the
 * grant-checked bridge (see [`crate::isolation`]).
 */
sandboxed: boolean, 
/**
 * What the shown version declares in its `remote.json`.
 */
permissions: Array<string>, 
/**
 * What the person granted; `None` when they were never asked.
 */
granted: Array<string> | null, 
/**
 * A newer version that asks for more than was granted.
 */
heldBack: HeldBack | null, };

export type HeldBack = { version: string, 
/**
 * The permissions it asks for beyond the granted ones.
 */
adds: Array<string>, };

export type DevOverrideView = { 
/**
 * `folder` or `url`.
 */
kind: "folder" | "url", 
/**
 * The folder path or the dev-server URL, shown in the badge.
 */
target: string, };

export type RemoteVersions = { name: string, active: string | null, pinned: string | null, lastKnownGood: string | null, versions: Array<InstalledView>, };

export type InstalledView = { version: string, registry: string, 
/**
 * Unix seconds.
 */
installedAt: number, };

export type RegistryConfig = { 
/**
 * A folder, `file://` or `http(s)://` URL.
 */
url: string, 
/**
 * A public key (64 hex digits or a .pub file path) or a root.json path.
 */
trust?: string | null, 
/**
 * First-party: its remotes run in the shell's page with every command.
 * Others run sandboxed with only what the person granted (see
 * `isolation`). The launch registry is always trusted.
 */
trusted?: boolean, };

export type Settings = { 
/**
 * First wins when two registries offer the same remote.
 */
registries: Array<RegistryConfig>, 
/**
 * Per AI provider: base URL and default model. Never a key: keys live in
 * the OS keychain only. Edited through the keys commands.
 */
providers?: Record<string, ProviderSettings>, 
/**
 * Dev mode: remote name → a built remote's folder or a loopback
 * dev-server entry URL (see `dev_mode`). Read at launch.
 */
devOverrides?: Record<string, string>, 
/**
 * Minutes between background update checks (the shell UI's timer);
 * 0 turns them off (still at start and on request). `None`: the default,
 * [`DEFAULT_UPDATE_CHECK_MINUTES`].
 */
updateCheckMinutes?: number | null, };

export type ProviderSettings = { 
/**
 * Replaces the provider's own API (a proxy or a compatible server), without /v1.
 */
baseUrl?: string | null, defaultModel?: string | null, 
/**
 * The origin (`scheme://host[:port]`) the provider's key was stored
 * for: its key is sent nowhere else (issue 15, point 4). Set by
 * `set_api_key` and moved only by a `save_provider_settings` the
 * person confirmed in a native dialog; `None` when no key is stored.
 *
 * It lives here, next to the base URL it guards, because the page can
 * change a provider's settings only through those commands (the
 * settings commands keep the saved providers), and whoever can rewrite
 * settings.json on disk can already choose the code the shell runs, so a
 * copy elsewhere would add no protection against them. Keeping both in
 * one entry also means an older write of the file restores a base URL
 * together with its own binding, never one without the other.
 *
 * Keys stored before bindings existed have none: the first load binds
 * them to the base URL then saved (see `commands::keys`), so upgrading
 * does not lock anyone out.
 */
keyOrigin?: string | null, };

export type SettingsView = { 
/**
 * What is saved and editable.
 */
saved: Settings, 
/**
 * The registry given at launch (`--registry`), used first and not saved.
 */
launchRegistry: RegistryConfig | null, 
/**
 * Where the settings live, so a person can find the file.
 */
path: string, 
/**
 * Minutes between background update checks in effect (saved or default); 0 = off.
 */
updateCheckMinutes: number, };

export type LoadFailureOutcome = { 
/**
 * Set when the failing version was replaced by the last-known-good one.
 */
rolledBack: Rollback | null, };

export type KeyState = "set" | "notSet" | "fromEnvironment";

export type ProviderView = { provider: string, key: KeyState, 
/**
 * The variable that overrides the keychain, e.g. `AUGMENT_OPENAI_API_KEY`.
 */
envVar: string, 
/**
 * The provider's own API, used when no base URL is saved.
 */
defaultBaseUrl: string, settings: ProviderSettings, };

export type KeyTest = { ok: boolean, 
/**
 * The providers crate's error code (`invalid_key`, `rate_limited` …) when not ok.
 */
code: string | null, message: string, };

export type ModelView = { id: string, displayName: string | null, };

export type ProgressEvent = { provider: string, message: string, };
