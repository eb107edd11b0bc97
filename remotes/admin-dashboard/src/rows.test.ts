import { describe, expect, it } from "vitest";
import { dashboardRows, matchesFilter, registryRows } from "./rows";
import { checkedRegistries, remoteVersions, shellView } from "./fixtures";

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

describe("registry rows", () => {
  it("take state and reason from the last check", () => {
    const rows = registryRows(shellView, { registries: checkedRegistries });
    expect(rows[0]).toMatchObject({ url: "file:///reg", state: "refused", lastVerifiedAt: 1_700_000_000, lastReachedAt: 1_700_000_600 });
    expect(rows[0]?.reason).toContain("signed by a key");
    expect(rows[1]).toMatchObject({ state: "online", reason: null, snapshotVersion: 12 });
  });

  it("say 'not checked' before a check, keeping the cache's times", () => {
    const rows = registryRows(shellView, undefined);
    expect(rows).toEqual([
      {
        url: "file:///reg",
        fromLaunch: true,
        state: "not checked",
        reason: "no registry check has finished yet",
        lastVerifiedAt: 1_700_000_000,
        lastReachedAt: 1_700_000_000,
        snapshotVersion: 3,
      },
    ]);
  });

  it("report a registry that could not be resolved at all as an error with its message", () => {
    const rows = registryRows(shellView, {
      registries: [{ url: "https://gone.example/", fromLaunch: false, status: null, error: { code: "unreachable", message: "nothing is cached" } }],
    });
    expect(rows[0]).toMatchObject({ state: "error", reason: "nothing is cached", lastVerifiedAt: null });
  });
});
