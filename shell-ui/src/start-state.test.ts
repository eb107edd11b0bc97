import { expect, it, vi } from "vitest";

const invoked = vi.hoisted(() => [] as string[]);
vi.mock("@tauri-apps/api/core", () => ({
  invoke: async (command: string) => {
    invoked.push(command);
    return command === "get_ui_state" ? { lastRoute: "/settings", theme: "dark" } : { remotes: [] };
  },
}));

const { readStartState, takeStartReply } = await import("./start-state");

it("asks Rust once per page, and hands each reply to the app's first read only", async () => {
  expect(takeStartReply("remotes")).toBeNull();
  const first = readStartState();
  expect(readStartState()).toBe(first);
  expect(invoked).toEqual(["remotes_from_cache", "get_ui_state"]);

  await expect(takeStartReply("uiState")).resolves.toEqual({ lastRoute: "/settings", theme: "dark" });
  expect(takeStartReply("uiState")).toBeNull();
  await expect(takeStartReply("remotes")).resolves.toEqual({ remotes: [] });
  expect(takeStartReply("remotes")).toBeNull();
});
