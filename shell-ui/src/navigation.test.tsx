// Navigation (issue 16, point 1) and the theme (point 5): one screen at a
// time, the workflow's order in the sidebar, the start screen (deep link,
// then the saved one, then the first), and what is saved in ui.json.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ShellView, UiState } from "./ipc";
import { remoteView as remote } from "./test-fixtures";
import { parseRoute, sidebarGroups, startRoute } from "./routes";
import { resolveTheme } from "./theme";
import { SHORTCUTS, shortcutFor, type KeyLike } from "./shortcuts";

const federation = vi.hoisted(() => ({ load: vi.fn<(name: string) => Promise<unknown>>() }));
vi.mock("./federation", () => ({ loadRemoteModule: (name: string) => federation.load(name) }));

import { App } from "./App";


const REMOTES = [
  remote("alpha", "Alpha"),
  remote("admin-dashboard", "Admin Dashboard"),
  remote("record-collector", "Record Collector"),
  remote("prompt-templates", "Prompt Templates"),
];

beforeEach(() => {
  window.location.hash = "";
  federation.load.mockImplementation(async (name) => ({ default: () => <p>{`${name} content`}</p> }));
});

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
  document.documentElement.removeAttribute("data-theme");
});

/** The shell with `REMOTES` cached and `saved` in ui.json; returns what save_ui_state received. */
function shell(saved: UiState) {
  const savedStates: UiState[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd === "remotes_from_cache")
        return { checked: false, registries: [], remotes: REMOTES, problems: [], permissionDescriptions: {}, grantsRevision: 0 } satisfies ShellView;
      if (cmd === "check_for_updates") return true;
      if (cmd === "get_settings") return { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
      if (cmd === "get_ui_state") return saved;
      if (cmd === "save_ui_state") return void savedStates.push((args as { ui: UiState }).ui);
      if (cmd === "mark_known_good") return null;
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return savedStates;
}

const slot = (name: string) => document.querySelector<HTMLElement>(`section[data-remote="${name}"]`);
const shown = () => [...document.querySelectorAll<HTMLElement>("section.remote-slot")].filter((s) => !s.hidden && !s.closest("[hidden]")).map((s) => s.dataset.remote);

describe("routes", () => {
  it("name a remote or one of the shell's pages, nothing else", () => {
    expect(parseRoute("/remote/record-collector")).toEqual({ kind: "remote", name: "record-collector" });
    expect(parseRoute("/settings")).toEqual({ kind: "page", page: "settings" });
    for (const bad of ["/", "", "/remote/", "/remote/Bad Name", "/remote/a/b", "/workspace", "settings?x"]) expect(parseRoute(bad), bad).toBeNull();
  });

  it("put the workflow's steps first, in the analyst's order, then the others by title", () => {
    const { workflow, others } = sidebarGroups([...REMOTES, remote("request-reviewer", "Request Reviewer"), remote("beta", "Beta")]);
    expect(workflow.map((r) => r.name)).toEqual(["record-collector", "prompt-templates", "request-reviewer", "admin-dashboard"]);
    expect(others.map((r) => r.name)).toEqual(["alpha", "beta"]);
  });

  it("open a deep link first, then the saved screen if it still exists, then the first step", () => {
    expect(startRoute("/settings", "/remote/alpha", REMOTES)).toBe("/settings");
    expect(startRoute("/", "/remote/alpha", REMOTES)).toBe("/remote/alpha");
    expect(startRoute("/", "/remote/gone", REMOTES)).toBe("/remote/record-collector");
    expect(startRoute("/", null, REMOTES)).toBe("/remote/record-collector");
    expect(startRoute("/", "/stack", [])).toBe("/stack");
    expect(startRoute("/", null, [])).toBe("/");
  });
});

describe("the shell", () => {
  it("shows one screen at a time: the first step at start, a page hides every remote", async () => {
    const saved = shell({ lastRoute: null, theme: "system" });
    render(<App />);
    await waitFor(() => expect(window.location.hash).toBe("#/remote/record-collector"));
    await screen.findByText("record-collector content");
    expect(shown()).toEqual(["record-collector"]);
    // Every remote is mounted, only hidden: switching never loses its work.
    await waitFor(() => expect(slot("alpha")?.dataset.mounted).toBe("true"));
    const sidebar = [...screen.getByTestId("remote-nav").querySelectorAll("li")].map((li) => li.dataset.remote);
    expect(sidebar).toEqual(["record-collector", "prompt-templates", "admin-dashboard", "alpha"]);

    fireEvent.click(screen.getByTestId("open-settings"));
    await waitFor(() => expect(window.location.hash).toBe("#/settings"));
    await screen.findByText(/settings\.json/);
    expect(shown()).toEqual([]);
    expect(screen.getByTestId("open-settings").getAttribute("aria-current")).toBe("page");
    await waitFor(() => expect(saved.at(-1)?.lastRoute).toBe("/settings"));

    act(() => {
      window.location.hash = "#/remote/alpha";
    });
    await waitFor(() => expect(shown()).toEqual(["alpha"]));
    expect(screen.getByTestId("nav-alpha").getAttribute("aria-current")).toBe("page");
    expect(screen.queryByText(/settings\.json/)).toBeNull();
    expect(slot("alpha")?.dataset.mounted).toBe("true");
  });

  it("restores the saved screen, and a deep link wins over it", async () => {
    shell({ lastRoute: "/remote/admin-dashboard", theme: "system" });
    render(<App />);
    await waitFor(() => expect(shown()).toEqual(["admin-dashboard"]));
    cleanup();

    window.location.hash = "#/remote/prompt-templates";
    shell({ lastRoute: "/remote/admin-dashboard", theme: "system" });
    render(<App />);
    await waitFor(() => expect(shown()).toEqual(["prompt-templates"]));
  });

  it("loads the screen on show first and the hidden ones only once it has mounted", async () => {
    federation.load.mockClear();
    // The shown screen's module is held back until the test lets it go.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    federation.load.mockImplementation(async (name) => {
      if (name === "prompt-templates") await held;
      return { default: () => <p>{`${name} content`}</p> };
    });
    shell({ lastRoute: "/remote/prompt-templates", theme: "system" });
    render(<App />);
    await waitFor(() => expect(federation.load).toHaveBeenCalledWith("prompt-templates"));
    expect(federation.load.mock.calls.map(([name]) => name)).toEqual(["prompt-templates"]);
    expect(slot("record-collector")?.dataset.state).toBe("loading");

    release();
    await screen.findByText("prompt-templates content");
    await waitFor(() => expect(slot("alpha")?.dataset.mounted).toBe("true"));
    expect(federation.load.mock.calls.map(([name]) => name).sort()).toEqual(["admin-dashboard", "alpha", "prompt-templates", "record-collector"]);
  });

  it("lets the hidden ones load when the screen on show has nothing to load", async () => {
    // A remote with no usable version settles ("failed") at its first render, before the start route names it.
    REMOTES.push({ ...remote("beta", "Beta"), version: null, entryUrl: null });
    try {
      shell({ lastRoute: "/remote/beta", theme: "system" });
      render(<App />);
      await waitFor(() => expect(shown()).toEqual(["beta"]));
      await waitFor(() => expect(slot("alpha")?.dataset.mounted).toBe("true"));
    } finally {
      REMOTES.pop();
    }
  });

  it("says so for a route that names no screen or a remote that is not installed", async () => {
    window.location.hash = "#/remote/not-here";
    shell({ lastRoute: null, theme: "system" });
    render(<App />);
    expect((await screen.findByTestId("no-screen")).textContent).toContain("not-here is not installed");
    expect(shown()).toEqual([]);
  });

  it("applies the saved theme and saves a new choice", async () => {
    const saved = shell({ lastRoute: null, theme: "dark" });
    render(<App />);
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe("dark"));
    const select = screen.getByTestId("theme") as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("dark"));
    fireEvent.change(select, { target: { value: "light" } });
    expect(document.documentElement.dataset.theme).toBe("light");
    await waitFor(() => expect(saved.at(-1)?.theme).toBe("light"));
  });

  it("follows the OS while the choice is system", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
  });
});

describe("keyboard shortcuts", () => {
  const key = (init: Partial<KeyLike>): KeyLike => ({ key: "", altKey: false, ctrlKey: false, metaKey: false, ...init });

  it("map Alt+digit to the workflow's steps, Alt+letter to pages, ? to the help", () => {
    expect(shortcutFor(key({ key: "2", code: "Digit2", altKey: true }), null)).toEqual({ kind: "screen", screen: { kind: "remote", name: "prompt-templates" } });
    // A layout that turns Alt+S into another character still has the key's code.
    expect(shortcutFor(key({ key: "ß", code: "KeyS", altKey: true }), null)).toEqual({ kind: "screen", screen: { kind: "page", page: "settings" } });
    expect(shortcutFor(key({ key: "?" }), document.body)).toEqual({ kind: "help" });
    expect(shortcutFor(key({ key: "2", code: "Digit2", altKey: true, ctrlKey: true }), null)).toBeNull();
  });

  it("leave plain keys typed into a field to the field", () => {
    const input = document.createElement("input");
    expect(shortcutFor(key({ key: "?" }), input)).toBeNull();
    expect(shortcutFor(key({ key: "1", code: "Digit1", altKey: true }), input)).toEqual({ kind: "screen", screen: { kind: "remote", name: "record-collector" } });
  });

  it("open a screen from the keyboard, and ? lists every shortcut", async () => {
    shell({ lastRoute: null, theme: "system" });
    render(<App />);
    await waitFor(() => expect(shown()).toEqual(["record-collector"]));
    fireEvent.keyDown(document.body, { key: "5", code: "Digit5", altKey: true });
    await waitFor(() => expect(shown()).toEqual(["admin-dashboard"]));
    fireEvent.keyDown(document.body, { key: "?" });
    const help = await screen.findByTestId("shortcuts-help");
    await waitFor(() => expect(help.hasAttribute("open")).toBe(true));
    for (const shortcut of SHORTCUTS) expect(help.textContent).toContain(shortcut.keys);
    fireEvent.click(screen.getByTestId("shortcuts-close"));
    await waitFor(() => expect(help.hasAttribute("open")).toBe(false));
  });
});
