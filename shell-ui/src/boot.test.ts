// The start's early reads: asked once right after the first paint, each
// answer handed to its first caller only, later callers ask Rust again.
import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { ipc } from "./ipc";
import { beginStartReads, takeStartRead } from "./boot";

afterEach(() => clearMocks());

describe("start reads", () => {
  it("answers the first call from the early read and later ones from Rust", async () => {
    const asked: string[] = [];
    mockIPC((cmd) => {
      asked.push(cmd);
      if (cmd === "get_ui_state") return { lastRoute: `/screen/${asked.length}`, theme: "dark" };
      if (cmd === "remotes_from_cache") return { remotes: [], registries: [], problems: [], checked: false, grantsRevision: asked.length };
    });
    beginStartReads();
    expect(asked.sort()).toEqual(["get_ui_state", "remotes_from_cache"]);

    const first = await ipc.getUiState();
    expect(asked).toHaveLength(2);
    const second = await ipc.getUiState();
    expect(asked).toHaveLength(3);
    expect(second.lastRoute).not.toBe(first.lastRoute);
    expect(takeStartRead("get_ui_state")).toBeUndefined();
  });

  it("hands an early failure to the caller that takes it", async () => {
    mockIPC((cmd) => {
      if (cmd === "remotes_from_cache") throw new Error("the cache is damaged");
      return { lastRoute: null, theme: "system" };
    });
    beginStartReads();
    await expect(ipc.remotesFromCache()).rejects.toThrow(/damaged/);
    expect(takeStartRead("remotes_from_cache")).toBeUndefined();
    await ipc.getUiState();
  });

  it("asks Rust when nothing was read early", async () => {
    let calls = 0;
    mockIPC(() => {
      calls += 1;
      return { lastRoute: null, theme: "light" };
    });
    expect(await ipc.getUiState()).toEqual({ lastRoute: null, theme: "light" });
    expect(calls).toBe(1);
  });
});
