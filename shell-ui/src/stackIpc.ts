// Typed wrappers over the local stack commands and events
// (src-tauri/src/commands/stack.rs, serde camelCase).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CommandError } from "./ipc";

export type ContainerState = "running" | "created" | "exited" | "paused" | "restarting" | "dead" | "removing" | "missing";
export type Health = "healthy" | "unhealthy" | "unknown";
export type Parser = "service" | "in-process";

export interface ServiceView {
  service: string;
  state: ContainerState;
  health: Health;
  port: number | null;
  detail: string | null;
}

export interface StackView {
  stack: string;
  engine: { endpoint: string; kind: "docker" | "podman"; api_version: string };
  services: ServiceView[];
  healthy: boolean;
  busy: "up" | "down" | null;
  lastImport: Parser | null;
}

export interface StackProgress {
  operation: "up" | "down";
  phase: "started" | "done" | "failed";
  error: CommandError | null;
}

export interface StackLogLine {
  service: string;
  line: string;
}

export const stackIpc = {
  status: () => invoke<StackView>("stack_status"),
  up: () => invoke<boolean>("stack_up"),
  down: () => invoke<boolean>("stack_down"),
  followLogs: (service: string) => invoke<void>("stack_logs_follow", { service }),
  stopLogs: (service: string) => invoke<boolean>("stack_logs_stop", { service }),
};

export const onStackProgress = (handler: (p: StackProgress) => void): Promise<UnlistenFn> =>
  listen<StackProgress>("stack-progress", (e) => handler(e.payload));
export const onStackStatus = (handler: (v: StackView) => void): Promise<UnlistenFn> =>
  listen<StackView>("stack-status", (e) => handler(e.payload));
export const onStackLog = (handler: (l: StackLogLine) => void): Promise<UnlistenFn> =>
  listen<StackLogLine>("stack-log", (e) => handler(e.payload));
