// The header's "Check for updates" against Tauri's IPC mock, with the
// check's result event delivered before and after the command's reply: a
// busy webview delivers them in either order.
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { ShellView } from "./ipc";
import { App } from "./App";

// Unmount first and let its unlisten calls (promise callbacks) reach the
// mock before it goes.
afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
});

const checked: ShellView = { checked: true, registries: [], remotes: [], problems: [], permissionDescriptions: {}, grantsRevision: 0 };

/** The shell, answering `check_for_updates` through `check`. */
function shell(check: () => Promise<boolean>) {
  mockIPC(
    (cmd) => {
      if (cmd === "remotes_from_cache") return { checked: false, registries: [], remotes: [] };
      if (cmd === "check_for_updates") return check();
      if (cmd === "get_settings") return { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
      if (cmd === "get_ui_state") return { lastRoute: null, theme: "system" };
      if (cmd === "save_ui_state") return null;
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
}

const button = () => screen.getByTestId("check-updates") as HTMLButtonElement;

describe("Check for updates", () => {
  it("is usable again when the result arrives before the command's reply", async () => {
    let replied!: () => void;
    const reply = new Promise<void>((resolve) => (replied = resolve));
    shell(async () => {
      await emit("registry-checked", checked);
      setTimeout(replied);
      return true;
    });
    render(<App />);
    await reply;
    await act(async () => {});
    await waitFor(() => expect(screen.getByTestId("registry-status").dataset.state).toBe("none"));
    expect(button().disabled).toBe(false);
    expect(button().textContent).toBe("Check for updates");
  });

  it("says it is checking until the result arrives after the reply", async () => {
    shell(async () => true);
    render(<App />);
    await waitFor(() => expect(button().textContent).toBe("Checking…"));
    expect(button().disabled).toBe(true);
    await act(() => emit("registry-checked", checked));
    expect(button().disabled).toBe(false);
    expect(button().textContent).toBe("Check for updates");
  });

  it("is usable again when the check cannot start", async () => {
    shell(async () => {
      throw { code: "internal", message: "no cache" };
    });
    render(<App />);
    await screen.findByText("Could not check for updates: no cache");
    expect(button().disabled).toBe(false);
  });
});
