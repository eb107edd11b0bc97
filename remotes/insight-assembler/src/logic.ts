// Pure rules of the Insight Assembler: the query the filters and the sort
// make, a record in one line, the models on a page, and the rows of the
// model comparison.
import { HostError, type Json, type ModelTarget, type ResponseQuery, type ResponseRow, type ResponseSort, type ResponseSortColumn } from "@augment-it/host-client";
import type { TableSort } from "@augment-it/ui-kit";

export const PAGE_SIZE = 100;
export const ALL = "all";

export interface Filters {
  datasetId: number;
  /** null: every template version. */
  templateVersionId: number | null;
  /** "provider/model" or ALL. */
  model: string;
  tag: string;
  group: string;
  includeErrors: boolean;
}

export function modelKey(target: ModelTarget): string {
  return `${target.provider}/${target.model}`;
}

/** "provider/model" back into a target; the model part may itself hold slashes. */
export function parseModelKey(key: string): ModelTarget | null {
  const slash = key.indexOf("/");
  if (key === ALL || slash <= 0) return null;
  return { provider: key.slice(0, slash), model: key.slice(slash + 1) };
}

/** What Rust sorts each sortable column of the responses table by, by column key. */
const SORT_BY: Partial<Record<string, ResponseSortColumn>> = {
  record: "record",
  model: "model",
  answer: "answer",
  length: "answer_length",
  tokens: "tokens",
  latency: "latency",
  tags: "tags",
  group: "group",
  note: "note",
};

/** The table's sort as the query's; null (record order) for a column Rust cannot sort by. */
export function responseSort(by: TableSort | null): ResponseSort | null {
  const column = by && SORT_BY[by.column];
  return by && column ? { column, descending: by.descending } : null;
}

/** The list's query: its filters and sort (its pages go by cursor, so `offset` stays 0). */
export function responseQuery(filters: Filters, sort: ResponseSort | null = null): ResponseQuery {
  return {
    dataset_id: filters.datasetId,
    template_version_id: filters.templateVersionId,
    target: parseModelKey(filters.model),
    tag: filters.tag.trim() || null,
    group: filters.group.trim() || null,
    include_errors: filters.includeErrors,
    offset: 0,
    limit: PAGE_SIZE,
    sort,
  };
}

function cellText(value: Json): string {
  if (value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** "key: value; key: value" for a record's fields. */
export function recordSummary(record: Record<string, Json>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key}: ${cellText(value)}`)
    .join("; ");
}

/** The distinct provider/model pairs among the rows, sorted. */
export function modelsOf(rows: ResponseRow[]): string[] {
  return [...new Set(rows.map(modelKey))].sort();
}

/** Adds the current choice so a filtered page still offers it. */
export function modelOptions(rows: ResponseRow[], current: string): string[] {
  const models = modelsOf(rows);
  return current !== ALL && !models.includes(current) ? [...models, current].sort() : models;
}

export interface ComparedRecord {
  recordId: number;
  record: Record<string, Json>;
  /** provider/model → that model's answer (or error) for the record. */
  answers: Record<string, ResponseRow>;
}

/** One row per record, its answers side by side, in the order records first appear. */
export function compareByRecord(rows: ResponseRow[]): ComparedRecord[] {
  const byRecord = new Map<number, ComparedRecord>();
  for (const row of rows) {
    let entry = byRecord.get(row.record_id);
    if (!entry) byRecord.set(row.record_id, (entry = { recordId: row.record_id, record: row.record, answers: {} }));
    entry.answers[modelKey(row)] ??= row;
  }
  return [...byRecord.values()];
}

/** "a, b ,, c" → ["a", "b", "c"]. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

/** The answer's length in characters (as Rust counts them, not UTF-16 units); null when the request failed. */
export function answerLength(row: ResponseRow): number | null {
  return row.text === null ? null : [...row.text].length;
}

/** "850 ms", "1.2 s", "2 min 5 s". */
export function latencyText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export function answerText(row: ResponseRow): string {
  return row.text ?? `${row.error_code ?? "error"}: ${row.error_message ?? "no answer"}`;
}

export function describeError(err: unknown): string {
  if (err instanceof HostError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** The answer fields of a page (host API 1.6.0: `fields`, from a template's JSON Schema), sorted: one column each. */
export function fieldNames(rows: ResponseRow[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of Object.keys(row.fields ?? {})) names.add(name);
  return [...names].sort();
}

/** A field's value as a cell shows it: text as is, anything else as JSON, nothing when absent. */
export function fieldText(row: ResponseRow, name: string): string {
  const value = row.fields?.[name];
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Schema validity as a badge reads it, with its problems for the tooltip; null without a schema. */
export function schemaSummary(row: ResponseRow): { label: string; ok: boolean; detail: string } | null {
  if (row.schema_valid === undefined || row.schema_valid === null) return null;
  const problems = (row.schema_errors ?? []).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
  return { label: row.schema_valid ? "valid" : "invalid", ok: row.schema_valid, detail: problems.join("\n") || "fits the template's schema" };
}

/** The run's assertions on one answer: "2/3 checks" and each result for the tooltip; null when unchecked. */
export function checksSummary(row: ResponseRow): { label: string; ok: boolean; detail: string } | null {
  const checks = row.checks ?? [];
  if (checks.length === 0) return null;
  const passed = checks.filter((c) => c.passed === true).length;
  const verdict = (p: boolean | null) => (p === true ? "PASS" : p === false ? "FAIL" : "NOT SCORED");
  const detail = checks.map((c) => `${verdict(c.passed)} ${c.assertion}: ${c.reason}`).join("\n");
  return { label: `${passed}/${checks.length} checks`, ok: passed === checks.length, detail };
}
