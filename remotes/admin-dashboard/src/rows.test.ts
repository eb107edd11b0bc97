import { describe, expect, it } from "vitest";
import { dashboardRows, matchesFilter } from "./rows";
import { remoteVersions, shellView } from "./fixtures";

describe("dashboard rows", () => {
  const rows = dashboardRows(shellView, remoteVersions);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));

  it("has one row per remote, sorted by name", () => {
    expect(rows.map((r) => r.name)).toEqual(["admin-dashboard", "gamma", "omega"]);
  });

  it("says how each version got here and whether it fits", () => {
    expect(byName["admin-dashboard"]).toMatchObject({ version: "1.0.0", cacheState: "installed", compatibility: "compatible", pinned: null });
    expect(byName.gamma).toMatchObject({ version: "1.0.0", cacheState: "cached", compatibility: "fallback", pinned: "1.0.0", cachedVersions: ["1.0.0", "2.0.0"] });
    expect(byName.gamma?.reason).toContain("host API ^2.0.0");
    expect(byName.omega).toMatchObject({ version: null, cacheState: "not cached", compatibility: "incompatible" });
  });

  it("filters on name, title, version, source and verdict", () => {
    expect(rows.filter((r) => matchesFilter(r, "GAMMA")).map((r) => r.name)).toEqual(["gamma"]);
    expect(rows.filter((r) => matchesFilter(r, "incompatible")).map((r) => r.name)).toEqual(["omega"]);
    expect(rows.filter((r) => matchesFilter(r, "  ")).length).toBe(3);
  });
});
