// Issue 16, launch → first screen: the screen the shell will open on starts
// loading its code while React starts, instead of after the app's first
// render. Only a remote that runs in the shell's realm (not sandboxed, so no
// consent is pending) and whose version and entry are already resolved from
// the cache: exactly what its slot would load a moment later, through the
// same federation instance (federation.ts hands the slot this load).
import type { RemoteView, ShellView, UiState } from "@augment-it/host-client";
import { preloadRemoteModule } from "./federation";
import { parseRoute, startRoute } from "./routes";
import type { StartState } from "./start-state";

/** The remote the shell will open on, if its code may load before the app renders. */
export function startRemote(view: ShellView, uiState: UiState, linked: string): RemoteView | null {
  const screen = parseRoute(startRoute(linked, uiState.lastRoute, view.remotes));
  if (!screen || screen.kind !== "remote") return null;
  const remote = view.remotes.find((r) => r.name === screen.name);
  if (!remote || remote.sandboxed || remote.devOverride || !remote.version || !remote.entryUrl) return null;
  return remote;
}

/** Starts loading the start screen's code; a failed read or load is left to the app and the slot to report. */
export async function preloadStartScreen(state: StartState, linked: string): Promise<void> {
  try {
    const [view, uiState] = await Promise.all([state.remotes, state.uiState]);
    const remote = startRemote(view, uiState, linked);
    if (remote?.entryUrl) preloadRemoteModule(remote.name, remote.entryUrl, remote.exposes[0] ?? "./App");
  } catch {
    // The app reads both again and says what failed.
  }
}
