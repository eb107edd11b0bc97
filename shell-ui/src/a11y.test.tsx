// axe on the shell's own markup (issue 16, point 7): the header, the sidebar
// and each page, with remotes standing in as plain content. Colour contrast
// needs real rendering, so it is checked by the WebDriver suite instead
// (tests/shell/navigation.rs runs axe in the app, light and dark).
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import axe from "axe-core";
import type { ShellView } from "./ipc";
import { remoteView as remote } from "./test-fixtures";

vi.mock("./federation", () => ({ loadRemoteModule: async (name: string) => ({ default: () => <p>{`${name} content`}</p> }) }));

import { App } from "./App";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
  window.location.hash = "";
});


function shell() {
  mockIPC(
    (cmd) => {
      if (cmd === "remotes_from_cache")
        return {
          checked: false,
          registries: [],
          remotes: [remote("record-collector", "Record Collector"), remote("alpha", "Alpha")],
          problems: [],
          permissionDescriptions: {},
          grantsRevision: 0,
        } satisfies ShellView;
      if (cmd === "check_for_updates") return true;
      if (cmd === "get_settings") return { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
      if (cmd === "get_ui_state") return { lastRoute: null, theme: "system" };
      if (cmd === "save_ui_state" || cmd === "mark_known_good") return null;
      if (cmd === "remote_versions" || cmd === "provider_status") return [];
      if (cmd === "cache_usage") return { bytes: 0, remotes: 0, versions: 0 };
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
}

async function violations(): Promise<string[]> {
  const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
}

describe("axe finds nothing on", () => {
  for (const [route, ready] of [
    ["#/remote/record-collector", "record-collector content"],
    ["#/remotes", "Installed versions"],
    ["#/settings", "Registries"],
  ] as const) {
    it(route, async () => {
      window.location.hash = route;
      shell();
      render(<App />);
      await screen.findAllByText(ready);
      await waitFor(() => expect(document.querySelector("[data-testid=remote-nav]")).toBeTruthy());
      expect(await violations()).toEqual([]);
    });
  }
});
