import { describe, expect, it } from "vitest";
import type { ResponseRow } from "@augment-it/host-client";
import { answerLength, answerText, checksSummary, compareByRecord, fieldNames, fieldText, schemaSummary, latencyText, modelOptions, parseModelKey, parseTags, recordSummary, responseQuery, responseSort } from "./logic";
import { response } from "./fixtures";

describe("structured answers (host API 1.6.0)", () => {
  const valid: ResponseRow = { ...response(1, 10, "openai", "a"), schema_valid: true, fields: { score: 7, label: "good" } };
  const invalid: ResponseRow = {
    ...response(2, 11, "openai", "a"),
    schema_valid: false,
    schema_errors: [{ path: "/score", message: "11 is greater than the maximum of 10" }],
    fields: { score: 11, extra: { a: 1 } },
    checks: [
      { position: 0, assertion: "json", passed: true, reason: "is JSON" },
      { position: 1, assertion: "range:/score:0:10", passed: false, reason: "11 is outside [0, 10]" },
      { position: 2, assertion: "judge:openai/m:fair?", passed: null, reason: "the judge could not be asked" },
    ],
  };
  const plain = response(3, 12, "openai", "a");

  it("makes one column per answer field of the page", () => {
    expect(fieldNames([valid, invalid, plain])).toEqual(["extra", "label", "score"]);
    expect(fieldText(valid, "score")).toBe("7");
    expect(fieldText(valid, "label")).toBe("good");
    expect(fieldText(invalid, "extra")).toBe('{"a":1}');
    expect(fieldText(plain, "score")).toBe("");
  });

  it("explains validity and checks, and shows nothing without them", () => {
    expect(schemaSummary(valid)).toMatchObject({ label: "valid", ok: true });
    expect(schemaSummary(invalid)).toEqual({ label: "invalid", ok: false, detail: "/score: 11 is greater than the maximum of 10" });
    expect(schemaSummary(plain)).toBeNull();
    const checks = checksSummary(invalid)!;
    expect(checks.label).toBe("1/3 checks");
    expect(checks.ok).toBe(false);
    expect(checks.detail.split("\n")).toEqual([
      "PASS json: is JSON",
      "FAIL range:/score:0:10: 11 is outside [0, 10]",
      "NOT SCORED judge:openai/m:fair?: the judge could not be asked",
    ]);
    expect(checksSummary(valid)).toBeNull();
  });
});

describe("logic", () => {
  it("builds the query from the filters", () => {
    const filters = { datasetId: 7, templateVersionId: null, model: "openai/org/model-1", tag: " good ", group: "", includeErrors: false };
    expect(responseQuery(filters)).toEqual({
      dataset_id: 7,
      template_version_id: null,
      target: { provider: "openai", model: "org/model-1" },
      tag: "good",
      group: null,
      include_errors: false,
      offset: 0,
      limit: 100,
      sort: null,
    });
    expect(responseQuery(filters, { column: "latency", descending: true }).sort).toEqual({ column: "latency", descending: true });
    expect(parseModelKey("all")).toBeNull();
  });

  it("sends the table's sort as Rust's sort column", () => {
    expect(responseSort({ column: "length", descending: true })).toEqual({ column: "answer_length", descending: true });
    expect(responseSort({ column: "record", descending: false })).toEqual({ column: "record", descending: false });
    expect(responseSort({ column: "model-openai/a", descending: false }), "a column Rust cannot sort by").toBeNull();
    expect(responseSort(null)).toBeNull();
  });

  it("counts an answer's characters as Rust does and reads a latency", () => {
    expect(answerLength({ ...response(1, 10, "openai", "a"), text: "né 😀" })).toBe(4);
    expect(answerLength({ ...response(1, 10, "openai", "a"), text: null })).toBeNull();
    expect(latencyText(850)).toBe("850 ms");
    expect(latencyText(1250)).toBe("1.3 s");
    expect(latencyText(125_000)).toBe("2 min 5 s");
  });

  it("summarises a record and parses tags", () => {
    expect(recordSummary({ title: "Dune", year: 1965, extra: null })).toBe("title: Dune; year: 1965; extra: ");
    expect(parseTags("a, b ,, a")).toEqual(["a", "b"]);
  });

  it("groups answers by record for comparison", () => {
    const rows: ResponseRow[] = [response(1, 10, "openai", "a"), response(2, 10, "anthropic", "b"), response(3, 11, "openai", "a")];
    const compared = compareByRecord(rows);
    expect(compared.map((c) => c.recordId)).toEqual([10, 11]);
    expect(Object.keys(compared[0]?.answers ?? {})).toEqual(["openai/a", "anthropic/b"]);
    expect(modelOptions(rows, "other/x")).toEqual(["anthropic/b", "openai/a", "other/x"]);
  });

  it("shows an error instead of a missing answer", () => {
    expect(answerText({ ...response(1, 10, "openai", "a"), text: null, error_code: "provider", error_message: "rate limited" })).toBe("provider: rate limited");
  });
});
