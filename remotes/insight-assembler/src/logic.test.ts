import { describe, expect, it } from "vitest";
import type { ResponseRow } from "@augment-it/host-client";
import { answerLength, answerText, compareByRecord, latencyText, modelOptions, parseModelKey, parseTags, recordSummary, responseQuery, responseSort } from "./logic";
import { response } from "./fixtures";

describe("logic", () => {
  it("builds the query from the filters", () => {
    const filters = { datasetId: 7, templateVersionId: null, model: "openai/org/model-1", tag: " good ", group: "", includeErrors: false };
    expect(responseQuery(filters, 100)).toEqual({
      dataset_id: 7,
      template_version_id: null,
      target: { provider: "openai", model: "org/model-1" },
      tag: "good",
      group: null,
      include_errors: false,
      offset: 100,
      limit: 100,
      sort: null,
    });
    expect(responseQuery(filters, 0, { column: "latency", descending: true }).sort).toEqual({ column: "latency", descending: true });
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
