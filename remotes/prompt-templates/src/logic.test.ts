import { describe, expect, it } from "vitest";
import { HostError, type Template } from "@augment-it/host-client";
import { errorText, insertField, placeholder, recordOffset, selectionOf } from "./logic";

describe("insertField", () => {
  it("inserts at the cursor and moves the cursor after it", () => {
    expect(insertField("Hello !", "name", 6, 6)).toEqual({ body: "Hello {{ name }}!", cursor: 16 });
  });
  it("replaces a selection", () => {
    expect(insertField("Hi XX.", "who", 3, 5)).toEqual({ body: "Hi {{ who }}.", cursor: 12 });
  });
  it("appends when there is no cursor and clamps out-of-range positions", () => {
    expect(insertField("Hi ", "who")).toEqual({ body: "Hi {{ who }}", cursor: 12 });
    expect(insertField("ab", "x", 99, 120).body).toBe("ab{{ x }}");
  });
  it("writes minijinja placeholders", () => {
    expect(placeholder("first name")).toBe("{{ first name }}");
  });
});

describe("selectionOf", () => {
  it("describes the current version", () => {
    const t: Template = {
      id: 3,
      name: "greet",
      current: { id: 11, template_id: 3, version: 2, body: "x", created_at: 0 },
      version_count: 2,
      created_at: 0,
    };
    expect(selectionOf(t)).toEqual({ templateId: 3, versionId: 11, version: 2, name: "greet" });
  });
});

describe("recordOffset and errorText", () => {
  it("accepts only positive whole record numbers", () => {
    expect(recordOffset("1")).toBe(0);
    expect(recordOffset("12")).toBe(11);
    expect(recordOffset("0")).toBeNull();
    expect(recordOffset("1.5")).toBeNull();
    expect(recordOffset("")).toBeNull();
  });
  it("names the shell's code", () => {
    expect(errorText(new HostError("x", { code: "invalidTemplate", message: "unexpected end" }))).toBe("unexpected end (invalidTemplate)");
  });
});
