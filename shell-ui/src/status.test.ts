// The header's registry badge: the worst registry wins, and its text names
// the state, the reason and when the registry last verified.
import { describe, expect, it } from "vitest";
import type { RegistryStatus, RegistryView } from "./ipc";
import { badgeFor, formatWhen } from "./status";

const now = new Date(2024, 0, 15, 12, 30);
const at = (hours: number, minutes: number) => Math.floor(new Date(2024, 0, 15, hours, minutes).getTime() / 1000);

function registry(url: string, status: Partial<RegistryStatus> & Pick<RegistryStatus, "state">): RegistryView {
  return {
    url,
    fromLaunch: false,
    status: { reason: null, lastVerifiedAt: at(12, 3), lastReachedAt: at(12, 20), snapshotVersion: 7, ...status },
    error: null,
  };
}

const online = registry("https://a.example/", { state: "online" });
const refused = registry("https://b.example/", { state: "refused", reason: "snapshot.json: bad signature" });
const stale = registry("https://c.example/", { state: "stale", reason: "the registry answered HTTP 503" });
const offline = registry("https://d.example/", { state: "offline", reason: "connection refused" });

describe("badgeFor", () => {
  it("says checking until the first check, none without registries", () => {
    expect(badgeFor([online], false).kind).toBe("checking");
    expect(badgeFor([], true).kind).toBe("none");
  });

  it("is online only when every registry is", () => {
    expect(badgeFor([online], true, now)).toMatchObject({ kind: "online", text: "online" });
  });

  it("names the state, the reason and the last verification", () => {
    expect(badgeFor([online, refused], true, now).text).toBe(`registry refused: snapshot.json: bad signature — last verified ${formatWhen(at(12, 3), now)}`);
    expect(badgeFor([stale], true, now).text).toBe(`registry stale: the registry answered HTTP 503 — last verified ${formatWhen(at(12, 3), now)}`);
  });

  it("says offline with when the registry was last reached first", () => {
    const badge = badgeFor([offline], true, now);
    expect(badge.kind).toBe("offline");
    expect(badge.text).toBe(
      `offline — registry last reached at ${formatWhen(at(12, 20), now)}, last verified ${formatWhen(at(12, 3), now)} (connection refused)`,
    );
    const never = badgeFor([registry("x", { state: "offline", reason: "offline mode", lastReachedAt: null, lastVerifiedAt: null })], true, now);
    expect(never.text).toBe("offline — registry last reached at never, last verified never (offline mode)");
  });

  it("shows the worst state: refused, then a registry that failed as a whole, stale, offline", () => {
    const failed: RegistryView = { url: "https://e.example/", fromLaunch: false, status: null, error: { code: "unreachable", message: "nothing is cached" } };
    expect(badgeFor([offline, stale, failed, refused, online], true, now).kind).toBe("refused");
    expect(badgeFor([offline, stale, failed, online], true, now)).toMatchObject({ kind: "error", text: "registry error: nothing is cached (and 2 more registries not online)" });
    expect(badgeFor([offline, stale, online], true, now).kind).toBe("stale");
    expect(badgeFor([online, offline], true, now).kind).toBe("offline");
  });

  it("lists every registry in its detail", () => {
    const detail = badgeFor([online, refused], true, now).detail.split("\n");
    expect(detail).toEqual(["https://a.example/: online", expect.stringContaining("https://b.example/: registry refused")]);
  });
});

describe("formatWhen", () => {
  it("gives the time alone today and the date too otherwise", () => {
    expect(formatWhen(at(12, 3), now)).not.toContain("2024");
    expect(formatWhen(Math.floor(new Date(2023, 11, 1, 9, 0).getTime() / 1000), now)).toMatch(/23|2023/);
    expect(formatWhen(null, now)).toBe("never");
  });
});
