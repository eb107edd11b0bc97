// The two reads every start needs (the remotes in the cache and the last
// screen and theme) are asked for as soon as the frame is painted, so Rust
// answers them while React and the app's code are still loading. Each
// early answer is handed out once, to the first caller; later calls ask
// again. Kept free of React and of host-client so the entry stays small.
import { invoke } from "@tauri-apps/api/core";

const START_READS = ["remotes_from_cache", "get_ui_state"] as const;
export type StartRead = (typeof START_READS)[number];

const early = new Map<StartRead, Promise<unknown>>();

export function beginStartReads(): void {
  for (const command of START_READS) {
    const reply = invoke(command);
    // Handled by whoever takes it; this only keeps a failure from being reported as unhandled meanwhile.
    reply.catch(() => undefined);
    early.set(command, reply);
  }
}

/** The early reply to `command`, once; `undefined` when there is none (left to ask again). */
export function takeStartRead<T>(command: StartRead): Promise<T> | undefined {
  const reply = early.get(command);
  early.delete(command);
  return reply as Promise<T> | undefined;
}
