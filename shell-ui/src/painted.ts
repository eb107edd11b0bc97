// Tells the shell, once per start, that its frame is on screen: the
// start-up benchmark times spawn → this. The frame is static HTML
// (index.html), so this needs neither React nor the cache.
import { invoke } from "@tauri-apps/api/core";

/** Resolves after the next frame has been painted. */
export function afterNextFrame(): Promise<void> {
  // A timeout queued from an animation frame callback runs after that frame is painted.
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

export function reportShellPainted(): void {
  performance.mark("augment:painted");
  invoke("shell_painted").catch((err: unknown) => console.error("could not report the first paint", err));
}
