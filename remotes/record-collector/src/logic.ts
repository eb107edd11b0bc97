// Pure rules of the Record Collector: which format a path names, the default
// dataset name, which source the form uses, and how an edited cell is typed.
import { HostError, type ColumnType, type DocumentSource, type FileChoice, type Format, type Json } from "@augment-it/host-client";

export const FORMATS: Format[] = ["csv", "json", "jsonl", "yaml", "markdown"];

const EXTENSIONS: Record<string, Format> = {
  csv: "csv",
  json: "json",
  jsonl: "jsonl",
  ndjson: "jsonl",
  yaml: "yaml",
  yml: "yaml",
  md: "markdown",
  markdown: "markdown",
};

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? "";
}

/** The format a path's extension names, or null when it names none we read. */
export function formatFromPath(path: string): Format | null {
  const name = fileName(path.trim());
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return null;
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? null;
}

/** The file name without its extension: the default dataset name. */
export function nameFromPath(path: string): string {
  const name = fileName(path.trim());
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

export type SourceChoice = { ok: true; source: DocumentSource } | { ok: false; message: string };

/** Exactly one of a chosen file and pasted text must be given. */
export function chooseSource(file: FileChoice | null, text: string): SourceChoice {
  const hasText = text.trim() !== "";
  if (file && hasText) {
    return { ok: false, message: "Both a file and pasted text are given: clear one of them, then try again." };
  }
  if (file) return { ok: true, source: { file: file.token } };
  if (hasText) return { ok: true, source: { text } };
  return { ok: false, message: "Choose a file on this machine or paste a document first." };
}

/** The value to store for text typed into a cell of a column of `type`. */
export function typedValue(text: string, type: ColumnType | undefined): Json {
  const trimmed = text.trim();
  if ((type === "integer" || type === "number") && trimmed !== "") {
    const n = Number(trimmed);
    if (Number.isFinite(n) && (type === "number" || Number.isInteger(n))) return n;
  }
  if (type === "boolean") {
    if (trimmed.toLowerCase() === "true") return true;
    if (trimmed.toLowerCase() === "false") return false;
  }
  return text;
}

/** A cell's value as text, for the table and the edit input. */
export function cellText(value: Json | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** "rows a–b of N" for a page starting at `offset` holding `count` rows. */
export function pageLabel(offset: number, count: number, total: number): string {
  if (count === 0) return `rows 0 of ${total}`;
  return `rows ${offset + 1}–${offset + count} of ${total}`;
}

/** A failed command in words: the shell's message and its code. */
export function errorText(err: unknown): string {
  if (err instanceof HostError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
