// One table of every shell command: its arguments and its result, generated
// from the command functions (generated/commands.ts, `cargo xtask contract`).
// A few commands are narrowed here where a Rust `String` or pair of
// `Option`s stands for a closed set; each narrowing is checked to still be a
// valid call of the generated command (`NarrowingsFit` below). Adding a
// command needs nothing here; a named wrapper in `host` (index.ts) is optional.
import type { CommandName as ShellCommandName } from "./generated/contract";
import type { GeneratedCommands } from "./generated/commands";
import type { FailurePhase, LoadFailureOutcome } from "./types";
import type { DocumentSource, Format, ImportPreview, SavedDataset } from "./workflow";
import type { DatastoreSource } from "./datastores";
import type { DatastoreConnection as GeneratedConnection } from "./generated/views";

interface Narrowed {
  /** Exactly one of pasted `text` or a `choose_file` token; `limit` is 1 to 1000 rows (default 50). */
  import_records: { args: DocumentSource & { format: Format; offset?: number; limit?: number }; result: ImportPreview };
  save_dataset: { args: DocumentSource & { name: string; format: Format }; result: SavedDataset };
  /** `source` is a `datastores::Source` (a `JsonValue` in Rust); without `credential` the stored one is kept. */
  save_datastore_connection: { args: { name: string; source: DatastoreSource; credential?: string }; result: GeneratedConnection };
  /** `phase` defaults to "load". */
  report_load_failure: { args: { name: string; version: string; reason: string; phase?: FailurePhase }; result: LoadFailureOutcome };
}

export interface Commands extends Omit<GeneratedCommands, keyof Narrowed>, Narrowed {}

export type CommandName = keyof Commands;

/** `T` must be `never`; otherwise the error names what is left over. */
type None<T extends never> = T;
/** Commands the shell has (generated) that the table above lacks: must be none. */
export type MissingCommands = None<Exclude<ShellCommandName, CommandName>>;
/** Commands in the table above that the shell does not have: must be none. */
export type UnknownCommands = None<Exclude<CommandName, ShellCommandName>>;
/** Each narrowing accepts only calls the generated command accepts and expects no more than it returns. */
type Fits<K extends keyof Narrowed> = Narrowed[K]["args"] extends GeneratedCommands[K]["args"]
  ? GeneratedCommands[K]["result"] extends Narrowed[K]["result"]
    ? true
    : K
  : K;
type True<T extends true> = T;
export type NarrowingsFit = True<{ [K in keyof Narrowed]: Fits<K> }[keyof Narrowed]>;
export type ArgsOf<K extends CommandName> = Commands[K]["args"];
export type ResultOf<K extends CommandName> = Commands[K]["result"];
