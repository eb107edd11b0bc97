import { describe, expect, it } from "vitest";
import { HostError } from "@augment-it/host-client";
import { cellText, chooseSource, errorText, formatFromPath, nameFromPath, pageLabel, typedValue } from "./logic";

describe("formatFromPath", () => {
  it("maps every known extension, case-insensitively", () => {
    expect(formatFromPath("/d/a.csv")).toBe("csv");
    expect(formatFromPath("/d/a.JSON")).toBe("json");
    expect(formatFromPath("/d/a.jsonl")).toBe("jsonl");
    expect(formatFromPath("/d/a.ndjson")).toBe("jsonl");
    expect(formatFromPath("/d/a.yaml")).toBe("yaml");
    expect(formatFromPath("/d/a.yml")).toBe("yaml");
    expect(formatFromPath("/d/a.md")).toBe("markdown");
    expect(formatFromPath("C:\\d\\a.markdown")).toBe("markdown");
  });
  it("returns null for unknown or missing extensions", () => {
    expect(formatFromPath("/d/a.txt")).toBeNull();
    expect(formatFromPath("/d/noext")).toBeNull();
    expect(formatFromPath("/d/.csv")).toBeNull();
  });
});

describe("nameFromPath", () => {
  it("drops folders and the extension", () => {
    expect(nameFromPath("/home/me/people.v2.csv")).toBe("people.v2");
    expect(nameFromPath("plain")).toBe("plain");
  });
});

describe("chooseSource", () => {
  it("uses the one filled source", () => {
    expect(chooseSource({ token: "file-1", name: "a.csv" }, "")).toEqual({ ok: true, source: { file: "file-1" } });
    expect(chooseSource(null, "a,b\n1,2")).toEqual({ ok: true, source: { text: "a,b\n1,2" } });
  });
  it("refuses both or neither with what to do", () => {
    const both = chooseSource({ token: "file-1", name: "a.csv" }, "x");
    expect(both.ok).toBe(false);
    if (!both.ok) expect(both.message).toContain("clear one of them");
    const none = chooseSource(null, " ");
    expect(none.ok).toBe(false);
  });
});

describe("typedValue", () => {
  it("keeps numbers for numeric columns when the text parses", () => {
    expect(typedValue("42", "integer")).toBe(42);
    expect(typedValue("4.5", "integer")).toBe("4.5");
    expect(typedValue("4.5", "number")).toBe(4.5);
    expect(typedValue("abc", "number")).toBe("abc");
    expect(typedValue("", "number")).toBe("");
  });
  it("keeps booleans for boolean columns and strings otherwise", () => {
    expect(typedValue("True", "boolean")).toBe(true);
    expect(typedValue("false", "boolean")).toBe(false);
    expect(typedValue("maybe", "boolean")).toBe("maybe");
    expect(typedValue("42", "string")).toBe("42");
  });
});

describe("display helpers", () => {
  it("formats cells, page labels and errors", () => {
    expect(cellText(null)).toBe("");
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(3)).toBe("3");
    expect(pageLabel(100, 100, 250)).toBe("rows 101–200 of 250");
    expect(pageLabel(0, 0, 0)).toBe("rows 0 of 0");
    expect(errorText(new HostError("x", { code: "parseError", message: "line 2, column 3" }))).toBe("line 2, column 3 (parseError)");
  });
});
