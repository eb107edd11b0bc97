// The host client: the only way a remote reaches Rust. Every call goes
// through `call`, which is typed by the command table in commands.ts and
// turns any rejection into a HostError carrying the shell's `{ code, message }`.
// The shell provides this module as a shared singleton (1.0.0), so the
// remotes' calls are the shell's calls and Tauri capabilities still decide
// which commands exist at all.
import { invoke } from "@tauri-apps/api/core";
import type { ArgsOf, CommandName, ResultOf } from "./commands";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CommandError, ErrorCode, FilesDropped } from "./types";
import type { RunEvent } from "./workflow";
import type { DatastoreConnection, DatastoreMapping, DatastoreSource, WriteBackColumns } from "./datastores";
import type { EventName } from "./generated/contract";

export type * from "./types";
export type * from "./workflow";
export type * from "./datastores";
export type { Commands, CommandName, ArgsOf, ResultOf } from "./commands";
export { chartData, utcOffsetMinutes } from "./charts";
export { everyItem, FIRST_PAGE, listKey, nextPage, PAGING_START, positionIn, previousPage, settled } from "./paging";
export type { CursorPage, PagePosition, Paging } from "./paging";
export type * from "./charts";
// The contract generated from Rust (`cargo xtask contract`): command names and
// who may call them, permissions, events, error codes, the host API version.
export {
  COMMAND_ACCESS,
  ERROR_CODES,
  EVENTS,
  HOST_API_VERSION,
  PERMISSIONS,
  type CommandAccess,
  type ErrorCode,
  type EventName,
  type PermissionName,
} from "./generated/contract";

export const HOST_CLIENT_VERSION = "1.0.0";

/** A command failed; `code` is the shell's stable error code. */
export class HostError extends Error implements CommandError {
  readonly code: CommandError["code"];
  readonly command: string;

  constructor(command: string, error: CommandError) {
    super(error.message);
    this.name = "HostError";
    this.code = error.code;
    this.command = command;
  }
}

/** Turns whatever a command rejected with into `{ code, message }`. */
export function asCommandError(err: unknown): CommandError {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    // The shell rejects with an `ErrorCode`; anything else is passed on as is.
    return { code: String(err.code) as ErrorCode, message: String(err.message) };
  }
  if (typeof err === "string") return { code: "internal", message: err };
  return { code: "internal", message: err instanceof Error ? err.message : String(err) };
}

type ArgsParam<K extends CommandName> = ArgsOf<K> extends undefined ? [] : [args: ArgsOf<K>];

/** Calls a shell command by name with typed arguments and result. */
export async function call<K extends CommandName>(command: K, ...args: ArgsParam<K>): Promise<ResultOf<K>> {
  try {
    return await invoke<ResultOf<K>>(command, args[0] as Record<string, unknown> | undefined);
  } catch (err) {
    throw new HostError(command, asCommandError(err));
  }
}

/** The data-store connectors (src-tauri/src/commands/datastores.rs). */
export const datastores = {
  // The shell sends `source` as `datastores::Source`'s JSON, which `DatastoreSource` describes.
  list: async () => (await call("list_datastore_connections")) as DatastoreConnection[],
  /** `credential` goes to the OS keychain and never comes back; leave it out to keep the stored one. */
  save: (name: string, source: DatastoreSource, credential?: string) =>
    call("save_datastore_connection", credential === undefined ? { name, source } : { name, source, credential }) as Promise<DatastoreConnection>,
  remove: (name: string) => call("delete_datastore_connection", { name }),
  preview: (connection: string, rows?: number) => call("preview_datastore", rows === undefined ? { connection } : { connection, rows }),
  import: (connection: string, name: string, mapping: DatastoreMapping) => call("import_datastore", { connection, name, mapping }),
  writeBack: (run: number, connection: string, columns: WriteBackColumns, createColumns: boolean) =>
    call("write_back_run", { run, connection, columns, createColumns }),
};

/** Named wrappers for the commands remotes use most. */
export const host = {
  remotesFromCache: () => call("remotes_from_cache"),
  checkForUpdates: () => call("check_for_updates"),
  remoteVersions: () => call("remote_versions"),
  pinRemote: (name: string, version: string) => call("pin_remote", { name, version }),
  unpinRemote: (name: string) => call("unpin_remote", { name }),
  rollbackRemote: (name: string) => call("rollback_remote", { name }),
  getSettings: () => call("get_settings"),
};

/** The shell's event for every step of a run (src-tauri/src/commands/runs.rs). */
export const RUN_EVENT = "run-event" satisfies EventName;

/** Calls `handler` for each run event until the returned function is called. */
export function onRunEvent(handler: (event: RunEvent) => void): Promise<UnlistenFn> {
  return listen<RunEvent>(RUN_EVENT, (e) => handler(e.payload));
}

/** Files dropped on the window, as choices to read (src-tauri/src/commands/files.rs). */
export const FILES_DROPPED = "files-dropped" satisfies EventName;

/** Calls `handler` for each drop of files on the window until the returned function is called. */
export function onFilesDropped(handler: (dropped: FilesDropped) => void): Promise<UnlistenFn> {
  return listen<FilesDropped>(FILES_DROPPED, (e) => handler(e.payload));
}
