import { describe, expect, it } from "vitest";
import type { DatastorePreview } from "@augment-it/host-client";
import { emptyForm, SAMPLE_CHARS, sampleText, formFromSource, initialMapping, mappingErrors, mappingProblem, mappingRequest, sourceFromForm, type ConnectionForm } from "./datastore-logic";

function nocodb(fields: Record<string, string>, name = "crm"): ConnectionForm {
  const form = emptyForm("nocodb");
  return { ...form, name, fields: { ...form.fields, ...fields } };
}

describe("sourceFromForm", () => {
  it("makes the tagged source the shell stores, trimmed, optional fields left out", () => {
    const got = sourceFromForm(nocodb({ base_url: " http://127.0.0.1:8080 ", table_id: " m1 ", view_id: "  " }));
    expect(got).toEqual({ ok: true, source: { kind: "nocodb", base_url: "http://127.0.0.1:8080", table_id: "m1", token_kind: "xc-token" } });
  });

  it("keeps the optional fields and token kind given", () => {
    const form = { ...nocodb({ base_url: "https://noco.example", table_id: "m1", view_id: "vw1", key_column: "Ref" }), tokenKind: "xc-auth" as const };
    expect(sourceFromForm(form)).toEqual({
      ok: true,
      source: { kind: "nocodb", base_url: "https://noco.example", table_id: "m1", view_id: "vw1", key_column: "Ref", token_kind: "xc-auth" },
    });
  });

  it("names each missing or unusable field", () => {
    const got = sourceFromForm(nocodb({ base_url: "ftp://noco.example", table_id: "" }, " "));
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(Object.keys(got.errors).sort()).toEqual(["base_url", "name", "table_id"]);
    expect(got.errors.base_url).toContain("http");
    expect(sourceFromForm(nocodb({ base_url: "noco.example", table_id: "m1" }))).toMatchObject({ ok: false, errors: { base_url: expect.stringContaining("full address") } });
  });

  it("makes Airtable and Databricks sources with their own fields", () => {
    const airtable = emptyForm("airtable");
    airtable.name = "leads";
    Object.assign(airtable.fields, { base_id: "appX", table: "Leads" });
    expect(sourceFromForm(airtable)).toEqual({ ok: true, source: { kind: "airtable", api_url: "https://api.airtable.com", base_id: "appX", table: "Leads" } });
    const dbx = emptyForm("databricks");
    dbx.name = "wh";
    Object.assign(dbx.fields, { host: "https://adb-1.azuredatabricks.net", warehouse_id: "w1", table: "main.crm.people" });
    expect(sourceFromForm(dbx)).toMatchObject({ ok: false, errors: { key_column: expect.any(String) } });
    dbx.fields.key_column = "id";
    expect(sourceFromForm(dbx)).toEqual({ ok: true, source: { kind: "databricks", host: "https://adb-1.azuredatabricks.net", warehouse_id: "w1", table: "main.crm.people", key_column: "id" } });
  });

  it("round-trips a saved source through the edit form", () => {
    const source = { kind: "nocodb" as const, base_url: "https://noco.example", table_id: "m1", view_id: "vw1", token_kind: "xc-auth" as const };
    expect(sourceFromForm(formFromSource("crm", source))).toEqual({ ok: true, source });
  });
});

const preview: DatastorePreview = {
  keyColumn: "Id",
  rows: [],
  columns: [
    { name: "Title", inferred: "string", serviceType: "SingleLineText", samples: ["a"] },
    { name: "Id", inferred: "integer", serviceType: "ID", samples: [1] },
    { name: "Score", inferred: "number", serviceType: "Decimal", samples: [1.5] },
  ],
};

describe("mapping", () => {
  it("starts with every column kept under its name, the key first", () => {
    const lines = initialMapping(preview);
    expect(lines.map((l) => [l.source, l.isKey, l.include, l.target])).toEqual([
      ["Id", true, true, "Id"],
      ["Title", false, true, "Title"],
      ["Score", false, true, "Score"],
    ]);
  });

  it("gives a key outside the row's fields a line of its own", () => {
    const lines = initialMapping({ ...preview, keyColumn: "airtable_id" });
    expect(lines[0]).toMatchObject({ source: "airtable_id", isKey: true, inferred: "string" });
    expect(lines).toHaveLength(4);
  });

  it("sends the key's name and the kept, renamed columns; a dropped one is left out", () => {
    const lines = initialMapping(preview).map((l) => (l.source === "Title" ? { ...l, target: " title " } : l.source === "Score" ? { ...l, include: false } : l));
    expect(mappingErrors(lines)).toEqual({});
    expect(mappingRequest(lines)).toEqual({ keyColumn: "Id", columns: [{ source: "Title", target: "title" }] });
  });

  it("asks for one column besides the key", () => {
    const lines = initialMapping(preview);
    expect(mappingProblem(lines)).toBeNull();
    const onlyKey = lines.map((l) => ({ ...l, include: l.isKey }));
    expect(mappingProblem(onlyKey)).toContain("at least one column");
    // The key's own box does not count: it is always kept.
    expect(mappingProblem(onlyKey.map((l) => ({ ...l, include: true })).map((l) => (l.isKey ? l : { ...l, include: false })))).toContain("at least one column");
  });

  it("keeps the key even when its box is cleared", () => {
    const lines = initialMapping(preview).map((l) => (l.isKey ? { ...l, include: false, target: "row_id" } : l));
    expect(mappingRequest(lines).keyColumn).toBe("row_id");
  });

  it("flags an empty name and two kept columns named alike, on each of them", () => {
    const lines = initialMapping(preview).map((l) => (l.source === "Title" ? { ...l, target: "Score " } : l.source === "Id" ? { ...l, target: "" } : l));
    const errors = mappingErrors(lines);
    expect(errors.Id).toContain("name");
    expect(errors.Title).toContain("also the name of Score");
    expect(errors.Score).toContain("also the name of Title");
  });

  it("does not flag a name shared with a column left out, but does with the key", () => {
    const dropped = initialMapping(preview).map((l) => (l.source === "Title" ? { ...l, target: "Score" } : l.source === "Score" ? { ...l, include: false } : l));
    expect(mappingErrors(dropped)).toEqual({});
    const clash = initialMapping(preview).map((l) => (l.source === "Title" ? { ...l, target: "Id" } : l));
    expect(Object.keys(mappingErrors(clash)).sort()).toEqual(["Id", "Title"]);
  });
});

describe("sampleText", () => {
  it("shows text, numbers and objects, cutting a long one", () => {
    expect(sampleText(null)).toBe("");
    expect(sampleText(1.5)).toBe("1.5");
    expect(sampleText({ a: [1] })).toBe('{"a":[1]}');
    const long = sampleText("x".repeat(500));
    expect(long).toHaveLength(SAMPLE_CHARS);
    expect(long.endsWith("…")).toBe(true);
  });
});
