// The two reads the shell starts from, asked for the moment the frame is
// painted (main.tsx), in parallel with loading React and the app's code: the
// cached remotes and the saved screen. The first screen's code starts loading
// as soon as both are in (preload.ts), and the app takes the same replies
// instead of asking again. Only `invoke` here: this is part of the small entry.
import { invoke } from "@tauri-apps/api/core";
import type { ShellView, UiState } from "@augment-it/host-client";

export interface StartState {
  remotes: Promise<ShellView>;
  uiState: Promise<UiState>;
}

let started: StartState | null = null;
const taken = { remotes: false, uiState: false };

/** Asks once per page; later calls get the same two replies. */
export function readStartState(): StartState {
  if (!started) {
    started = { remotes: invoke<ShellView>("remotes_from_cache"), uiState: invoke<UiState>("get_ui_state") };
    // Whoever takes a reply reports its failure; none may go unhandled meanwhile.
    started.remotes.catch(() => {});
    started.uiState.catch(() => {});
  }
  return started;
}

/**
 * The start's reply for `which`, once: the app's first read of it. Later
 * reads (a refresh after a consent answer, say) must ask again, as the
 * cache may have changed since.
 */
export function takeStartReply<K extends keyof StartState>(which: K): StartState[K] | null {
  if (!started || taken[which]) return null;
  taken[which] = true;
  return started[which];
}
