// Drives the real @tauri-apps/api invoke through Tauri's own IPC mock (the
// same window.__TAURI_INTERNALS__ path the webview uses), answering like the
// shell's commands do.
import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { call, host, HostError, type ShellView } from "./index";

const view: ShellView = {
  checked: false,
  registries: [],
  remotes: [
    {
      name: "admin-dashboard",
      version: "1.0.0",
      entryUrl: "mfe://localhost/admin-dashboard/1.0.0/remoteEntry.js",
      exposes: ["./App"],
      displayName: "Admin Dashboard",
      source: "file:///registry",
      verdict: "cached",
      pinned: false,
      lastKnownGood: null,
      reason: null,
      devOverride: null,
      sandboxed: false,
      permissions: [],
      granted: null,
      heldBack: null,
    },
  ],
  problems: [],
  permissionDescriptions: {},
  grantsRevision: 0,
};

afterEach(() => clearMocks());

describe("host client", () => {
  it("calls the shell command by name with its arguments and returns its result", async () => {
    const seen: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      seen.push({ cmd, args });
      if (cmd === "remotes_from_cache") return view;
      if (cmd === "pin_remote") return null;
      throw new Error(`unexpected ${cmd}`);
    });
    const got = await host.remotesFromCache();
    expect(got.remotes[0]?.name).toBe("admin-dashboard");
    await host.pinRemote("admin-dashboard", "1.0.0");
    expect(seen.map((s) => s.cmd)).toEqual(["remotes_from_cache", "pin_remote"]);
    expect(seen[1]?.args).toEqual({ name: "admin-dashboard", version: "1.0.0" });
  });

  it("turns the shell's { code, message } rejection into a HostError", async () => {
    mockIPC(() => {
      throw { code: "notInstalled", message: "admin-dashboard 9.9.9 is not in the cache" };
    });
    const err = await call("rollback_remote", { name: "admin-dashboard" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("notInstalled");
    expect((err as HostError).command).toBe("rollback_remote");
    expect((err as HostError).message).toContain("not in the cache");
  });

  it("a plain string rejection becomes an internal error with that message", async () => {
    mockIPC(() => {
      throw "Command remote_versions not allowed";
    });
    const err = (await host.remoteVersions().catch((e: unknown) => e)) as HostError;
    expect(err.code).toBe("internal");
    expect(err.message).toBe("Command remote_versions not allowed");
  });
});
