// Pure rules of "Import from a data store": the fields each kind of
// connection asks for, the form turned into the source the shell stores
// (crates/datastores::Source as JSON), and the column mapping checked before
// an import (every kept column named, no two alike, the key always kept).
import type { ColumnType, DatastoreColumn, DatastoreKind, DatastoreMapping, DatastorePreview, DatastoreSource, JsonValue } from "@augment-it/host-client";

export const KINDS: { value: DatastoreKind; label: string }[] = [
  { value: "nocodb", label: "NocoDB" },
  { value: "airtable", label: "Airtable" },
  { value: "databricks", label: "Databricks" },
];

/** One text field of a connection form. */
export interface SourceField {
  key: string;
  label: string;
  required: boolean;
  /** A URL field: http or https. */
  url?: boolean;
  placeholder?: string;
}

/** The fields each kind asks for, in the order shown (NocoDB's token kind is a select of its own). */
export const FIELDS: Record<DatastoreKind, SourceField[]> = {
  nocodb: [
    { key: "base_url", label: "Server URL", required: true, url: true, placeholder: "https://app.nocodb.com" },
    { key: "table_id", label: "Table id", required: true, placeholder: "m1a2b3c4…" },
    { key: "view_id", label: "View id (optional)", required: false },
    { key: "key_column", label: "Key column (optional: the primary key)", required: false },
  ],
  airtable: [
    { key: "api_url", label: "API URL", required: true, url: true },
    { key: "base_id", label: "Base id", required: true, placeholder: "app…" },
    { key: "table", label: "Table id or name", required: true },
    { key: "view", label: "View (optional)", required: false },
  ],
  databricks: [
    { key: "host", label: "Workspace URL", required: true, url: true, placeholder: "https://adb-123.4.azuredatabricks.net" },
    { key: "warehouse_id", label: "SQL warehouse id", required: true },
    { key: "table", label: "Table (catalog.schema.table)", required: true },
    { key: "key_column", label: "Key column", required: true },
  ],
};

export type TokenKind = "xc-token" | "xc-auth";

/** What the connection form holds: text as typed, per field key. Never the credential. */
export interface ConnectionForm {
  kind: DatastoreKind;
  name: string;
  fields: Record<string, string>;
  tokenKind: TokenKind;
}

/** A new connection's form for `kind`, with the defaults a person would type. */
export function emptyForm(kind: DatastoreKind): ConnectionForm {
  const fields: Record<string, string> = Object.fromEntries(FIELDS[kind].map((f) => [f.key, ""]));
  if (kind === "airtable") fields.api_url = "https://api.airtable.com";
  return { kind, name: "", fields, tokenKind: "xc-token" };
}

/** The form of a saved connection, to edit it. */
export function formFromSource(name: string, source: DatastoreSource): ConnectionForm {
  const form = emptyForm(source.kind);
  for (const field of FIELDS[source.kind]) {
    const value = (source as unknown as Record<string, unknown>)[field.key];
    form.fields[field.key] = typeof value === "string" ? value : "";
  }
  return { ...form, name, tokenKind: source.kind === "nocodb" ? source.token_kind : "xc-token" };
}

/** What the credential is called for `kind`, as its service's documentation calls it. */
export function credentialLabel(form: Pick<ConnectionForm, "kind" | "tokenKind">): string {
  switch (form.kind) {
    case "nocodb":
      return form.tokenKind === "xc-auth" ? "Session token (xc-auth)" : "API token (xc-token)";
    case "airtable":
      return "Personal access token";
    case "databricks":
      return "Personal access token (PAT)";
  }
}

export type SourceResult = { ok: true; source: DatastoreSource } | { ok: false; errors: Record<string, string> };

function urlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Enter a full address, such as https://example.com";
  }
  return url.protocol === "http:" || url.protocol === "https:" ? null : "Use an http:// or https:// address";
}

/**
 * The source the shell stores for `form`, or what to fix, per field key
 * (`name` for the connection's name). Text is trimmed; an optional field left
 * empty is left out, so the service's default applies.
 */
export function sourceFromForm(form: ConnectionForm): SourceResult {
  const errors: Record<string, string> = {};
  if (form.name.trim() === "") errors.name = "Name the connection";
  const values: Record<string, string> = {};
  for (const field of FIELDS[form.kind]) {
    const text = (form.fields[field.key] ?? "").trim();
    if (text === "") {
      if (field.required) errors[field.key] = `Enter the ${field.label.toLowerCase()}`;
      continue;
    }
    const problem = field.url ? urlProblem(text) : null;
    if (problem) errors[field.key] = problem;
    else values[field.key] = text;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  // Every required field has a value here (checked above); optional ones may be absent.
  const v = (key: string) => values[key] ?? "";
  const optional = (key: string) => (values[key] ? { [key]: values[key] } : {});
  switch (form.kind) {
    case "nocodb":
      return {
        ok: true,
        source: { kind: "nocodb", base_url: v("base_url"), table_id: v("table_id"), token_kind: form.tokenKind, ...optional("view_id"), ...optional("key_column") },
      };
    case "airtable":
      return { ok: true, source: { kind: "airtable", api_url: v("api_url"), base_id: v("base_id"), table: v("table"), ...optional("view") } };
    case "databricks":
      return { ok: true, source: { kind: "databricks", host: v("host"), warehouse_id: v("warehouse_id"), table: v("table"), key_column: v("key_column") } };
  }
}

/** Where a source's rows live, in one line (the list of saved connections shows it). */
export function sourceSummary(source: DatastoreSource): string {
  switch (source.kind) {
    case "nocodb":
      return `NocoDB table ${source.table_id} at ${source.base_url}`;
    case "airtable":
      return `Airtable ${source.base_id} / ${source.table}`;
    case "databricks":
      return `Databricks ${source.table} (warehouse ${source.warehouse_id})`;
  }
}

/** One line of the mapping table: a source column, whether it is kept and under which name. */
export interface MappedColumn {
  source: string;
  inferred: ColumnType;
  serviceType: string | null;
  samples: JsonValue[];
  include: boolean;
  target: string;
  /** The row's key: always kept (what write-back finds the row by). */
  isKey: boolean;
}

/**
 * The mapping table a preview starts with: every column kept under its own
 * name. The key column comes first; when the service keeps the key outside
 * the row's fields (Airtable's record id), it gets a line of its own.
 */
export function initialMapping(preview: DatastorePreview): MappedColumn[] {
  const line = (c: DatastoreColumn): MappedColumn => ({
    source: c.name,
    inferred: c.inferred,
    serviceType: c.serviceType,
    samples: c.samples,
    include: true,
    target: c.name,
    isKey: c.name === preview.keyColumn,
  });
  const key = preview.columns.find((c) => c.name === preview.keyColumn);
  const others = preview.columns.filter((c) => c.name !== preview.keyColumn).map(line);
  const keyLine = key ? line(key) : { source: preview.keyColumn, inferred: "string" as const, serviceType: null, samples: [], include: true, target: preview.keyColumn, isKey: true };
  return [keyLine, ...others];
}

/** What is wrong with each line's target name (by source column); empty when the mapping can be imported. */
export function mappingErrors(columns: MappedColumn[]): Record<string, string> {
  const errors: Record<string, string> = {};
  const kept = columns.filter((c) => c.include || c.isKey);
  const byName = new Map<string, MappedColumn[]>();
  for (const column of kept) {
    const name = column.target.trim();
    if (name === "") {
      errors[column.source] = "Give this column a name in the dataset";
      continue;
    }
    byName.set(name, [...(byName.get(name) ?? []), column]);
  }
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    for (const column of same) {
      const others = same.filter((c) => c !== column).map((c) => c.source);
      errors[column.source] = `"${name}" is also the name of ${others.join(", ")}: rename one, or leave one out`;
    }
  }
  return errors;
}

/** Why the mapping cannot be imported as a whole (no column kept besides the key), or null. */
export function mappingProblem(columns: MappedColumn[]): string | null {
  return columns.some((c) => c.include && !c.isKey) ? null : "Keep at least one column besides the key";
}

/** The mapping the import command takes: the key under its name, then every other kept column. */
export function mappingRequest(columns: MappedColumn[]): DatastoreMapping {
  const key = columns.find((c) => c.isKey);
  return {
    keyColumn: (key?.target ?? "").trim(),
    columns: columns.filter((c) => c.include && !c.isKey).map((c) => ({ source: c.source, target: c.target.trim() })),
  };
}

/** Characters of one sample shown: a long text would stretch the mapping table. */
export const SAMPLE_CHARS = 40;

/** A sample value in a cell of the mapping table, cut at `SAMPLE_CHARS` with an ellipsis. */
export function sampleText(value: JsonValue): string {
  if (value === null) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS - 1)}…` : text;
}
