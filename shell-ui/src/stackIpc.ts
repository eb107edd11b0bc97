// Typed wrappers over the local stack commands and events
// (src-tauri/src/commands/stack.rs, serde camelCase).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { EventName, StackLogLine, StackProgress, StackServiceView, StackView } from "./ipc";

// The views are host-client's, the one copy the shell and the remotes share.
export type { StackLogLine, StackProgress, StackView };
export type ServiceView = StackServiceView;
export type ContainerState = StackServiceView["state"];
export type Health = StackServiceView["health"];
export type Parser = NonNullable<StackView["lastImport"]>;

export const stackIpc = {
  status: () => invoke<StackView>("stack_status"),
  up: () => invoke<boolean>("stack_up"),
  down: () => invoke<boolean>("stack_down"),
  followLogs: (service: string) => invoke<void>("stack_logs_follow", { service }),
  stopLogs: (service: string) => invoke<boolean>("stack_logs_stop", { service }),
};

export const onStackProgress = (handler: (p: StackProgress) => void): Promise<UnlistenFn> =>
  listen<StackProgress>("stack-progress" satisfies EventName, (e) => handler(e.payload));
export const onStackStatus = (handler: (v: StackView) => void): Promise<UnlistenFn> =>
  listen<StackView>("stack-status" satisfies EventName, (e) => handler(e.payload));
export const onStackLog = (handler: (l: StackLogLine) => void): Promise<UnlistenFn> =>
  listen<StackLogLine>("stack-log" satisfies EventName, (e) => handler(e.payload));
