// The theme's custom properties must not change on the root element:
// WebKitGTK 2.50 keeps ~130 KB of the web process per switch when they do
// (tests/shell/endurance.rs measured +55% in 3 minutes of switching). They
// are declared on <body>, keyed on <html data-theme>. color-scheme counts:
// the CSS minifier turns it into two custom properties on the same rule.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SHEETS = ["./styles.css", "../../remotes/shared/ui-kit/src/styles.css"];

/** Each rule's selectors that declare a custom property or color-scheme and would match <html>. */
function rootDeclarations(css: string): string[] {
  const found: string[] = [];
  const withoutComments = css.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const match of withoutComments.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    const [, selectorList, body] = match;
    if (!/(^|;)\s*(--[\w-]+|color-scheme)\s*:/.test(body)) continue;
    for (const selector of selectorList.split(",").map((s) => s.trim())) {
      const last = selector.split(/\s+/).at(-1) ?? "";
      if (last === ":root" || last === "html" || last.startsWith("[data-theme")) found.push(selector);
    }
  }
  return found;
}

describe("theme stylesheets", () => {
  it.each(SHEETS)("%s declares no custom property or color-scheme on the root element", (sheet) => {
    const css = readFileSync(fileURLToPath(new URL(sheet, import.meta.url)), "utf8");
    expect(css.length).toBeGreaterThan(0);
    expect(rootDeclarations(css)).toEqual([]);
  });

  it("sees the pattern that leaked", () => {
    expect(rootDeclarations(':root,\n[data-theme="light"] { --aui-bg: #fff; }\n[data-theme="dark"] { color-scheme: dark; }')).toEqual([
      ":root",
      '[data-theme="light"]',
      '[data-theme="dark"]',
    ]);
    expect(rootDeclarations('[data-theme="dark"] body { --aui-bg: #000; color-scheme: dark; }')).toEqual([]);
  });
});
