// The workspace against Tauri's IPC mock, with the Module Federation loader
// replaced by in-memory remotes: a new version that throws while rendering
// is rolled back with a notice; an update of a mounted remote waits for
// Reload; the periodic check follows the settings.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { PermissionName, RemoteView, ShellView } from "./ipc";
import { remoteView as remote } from "./test-fixtures";
import type { RemoteModule } from "./host-api";

const federation = vi.hoisted(() => ({ load: vi.fn<(name: string, entryUrl: string) => Promise<unknown>>() }));
vi.mock("./federation", () => ({ loadRemoteModule: (name: string, entryUrl: string) => federation.load(name, entryUrl) }));

import { App } from "./App";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

beforeEach(() => {
  federation.load.mockReset();
  // React reports every error a boundary catches; the tests provoke them on purpose.
  vi.spyOn(console, "error").mockImplementation(() => {});
});


/** A remote whose component says which version it is. */
function working(name: string, version: string): RemoteModule {
  return { default: () => <p data-testid={`${name}-content`}>{`${name} ${version} is mounted`}</p> };
}

const versionOf = (entryUrl: string) => entryUrl.split("/")[4] ?? "";

interface Calls {
  cmd: string;
  args: Record<string, unknown>;
}

/** The shell's commands: the cache paint answers `paint()`; the other answers are recorded. */
function shell(paint: () => RemoteView[], options: { onFailure?: (args: Record<string, unknown>) => unknown; checkMinutes?: number } = {}) {
  const calls: Calls[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd === "remotes_from_cache") return { checked: false, registries: [], remotes: paint(), problems: [], permissionDescriptions: {}, grantsRevision: 0 } satisfies ShellView;
      if (cmd === "check_for_updates") return true;
      if (cmd === "get_settings") return { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: options.checkMinutes ?? 60 };
      if (cmd === "get_ui_state") return { lastRoute: null, theme: "system" };
      if (cmd === "save_ui_state") return null;
      if (cmd === "mark_known_good") return null;
      if (cmd === "report_load_failure") return options.onFailure?.(args as Record<string, unknown>) ?? { rolledBack: null };
      throw { code: "internal", message: `unexpected ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const slot = (name: string) => document.querySelector<HTMLElement>(`section[data-remote="${name}"]`);

describe("a version that fails while rendering", () => {
  it("is reported with the render phase and rolled back to the last known good one, with a notice", async () => {
    let active = "1.3.0";
    federation.load.mockImplementation(async (name, entryUrl) => {
      const version = versionOf(entryUrl);
      if (name === "record-collector" && version === "1.3.0") {
        return {
          default: () => {
            throw new TypeError("rows.map is not a function");
          },
        };
      }
      return working(name, version);
    });
    const calls = shell(() => [remote("insight-assembler", "Insight Assembler", "2.0.0"), remote("record-collector", "Record Collector", active)], {
      onFailure: (args) => {
        active = "1.2.0";
        return { rolledBack: { name: args.name, from: args.version, to: "1.2.0" } };
      },
    });
    render(<App />);

    // The shell's notice (the slot's own note says the same, see below).
    const notice = await within(await screen.findByTestId("notices")).findByText(/rolled back to 1\.2\.0/);
    expect(notice.textContent).toMatch(/^Record Collector 1\.3\.0 failed while rendering \(TypeError: rows\.map is not a function\); rolled back to 1\.2\.0/);
    const reports = calls.filter((c) => c.cmd === "report_load_failure");
    expect(reports).toHaveLength(1);
    expect(reports[0]?.args).toMatchObject({ name: "record-collector", version: "1.3.0", phase: "render", reason: "TypeError: rows.map is not a function" });

    // Only its slot changed: it now runs 1.2.0, and says why.
    await screen.findByText("record-collector 1.2.0 is mounted");
    await waitFor(() => expect(slot("record-collector")?.dataset.mounted).toBe("true"));
    expect(slot("record-collector")?.dataset.state).toBe("rolled-back");
    expect(slot("record-collector")?.dataset.version).toBe("1.2.0");
    expect(slot("record-collector")?.dataset.rolledBackFrom).toBe("1.3.0");
    expect(within(slot("record-collector")!).getByTestId("rollback-note").textContent).toContain("1.3.0 failed while rendering");
    expect(slot("insight-assembler")?.dataset.state).toBe("mounted");
    expect(screen.getByText("insight-assembler 2.0.0 is mounted")).toBeTruthy();

    // Known good means mounted: 1.3.0 never was.
    await waitFor(() => expect(calls.some((c) => c.cmd === "mark_known_good" && c.args.version === "1.2.0")).toBe(true));
    expect(calls.filter((c) => c.cmd === "mark_known_good" && c.args.version === "1.3.0")).toEqual([]);
  });
});

describe("an update of a mounted remote", () => {
  it("waits in a banner while the slot keeps the old version; Reload mounts the new one", async () => {
    federation.load.mockImplementation(async (name, entryUrl) => {
      // Prompt Templates 1.0.0 never finishes loading: it is not mounted, so its update applies at once.
      if (name === "prompt-templates" && versionOf(entryUrl) === "1.0.0") return new Promise(() => {});
      return working(name, versionOf(entryUrl));
    });
    const calls = shell(() => [remote("prompt-templates", "Prompt Templates", "1.0.0"), remote("record-collector", "Record Collector", "1.2.0")]);
    render(<App />);
    await screen.findByText("record-collector 1.2.0 is mounted");
    await waitFor(() => expect(slot("record-collector")?.dataset.state).toBe("mounted"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "mark_known_good")).toBe(true));

    const checked: ShellView = {
      checked: true,
      problems: [],
      permissionDescriptions: {},
      grantsRevision: 0,
      registries: [],
      remotes: [remote("prompt-templates", "Prompt Templates", "1.1.0"), remote("record-collector", "Record Collector", "1.3.0")],
    };
    await act(() => emit("registry-checked", checked));

    const banner = await screen.findByTestId("update-ready");
    expect(banner.textContent).toBe("Record Collector 1.3.0 is ready — Reload");
    expect(slot("record-collector")?.contains(banner)).toBe(true);
    expect(slot("record-collector")?.dataset.version).toBe("1.2.0");
    expect(slot("record-collector")?.dataset.state).toBe("mounted");
    expect(screen.getByText("record-collector 1.2.0 is mounted")).toBeTruthy();
    expect(federation.load.mock.calls.filter(([name]) => name === "record-collector").map(([, url]) => versionOf(url))).toEqual(["1.2.0"]);
    // The remote that was not mounted took its new version at once.
    await waitFor(() => expect(slot("prompt-templates")?.dataset.version).toBe("1.1.0"));
    await screen.findByText("prompt-templates 1.1.0 is mounted");

    fireEvent.click(screen.getByTestId("apply-update"));
    await screen.findByText("record-collector 1.3.0 is mounted");
    await waitFor(() => expect(slot("record-collector")?.dataset.state).toBe("mounted"));
    expect(slot("record-collector")?.dataset.version).toBe("1.3.0");
    expect(screen.queryByTestId("update-ready")).toBeNull();
  });
});

describe("the periodic update check", () => {
  /** Lets the page's promises and renders run (with the intervals faked, waitFor cannot poll). */
  const settle = () => act(() => new Promise<void>((resolve) => setTimeout(resolve, 20)));
  const checks = (calls: Calls[]) => calls.filter((c) => c.cmd === "check_for_updates").length;

  it("runs every updateCheckMinutes after the one at start", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    federation.load.mockImplementation(async (name, entryUrl) => working(name, versionOf(entryUrl)));
    const calls = shell(() => [], { checkMinutes: 5 });
    render(<App />);
    for (let i = 0; i < 10 && checks(calls) < 1; i++) await settle();
    expect(checks(calls)).toBe(1);
    await act(async () => void vi.advanceTimersByTime(4 * 60_000));
    await settle();
    expect(checks(calls)).toBe(1);
    await act(async () => void vi.advanceTimersByTime(60_000));
    await settle();
    expect(checks(calls)).toBe(2);
  });

  it("is off at 0", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const calls = shell(() => [], { checkMinutes: 0 });
    render(<App />);
    for (let i = 0; i < 10 && checks(calls) < 1; i++) await settle();
    await act(async () => void vi.advanceTimersByTime(24 * 60 * 60_000));
    await settle();
    expect(checks(calls)).toBe(1);
  });
});

describe("a consent answer", () => {
  it("is not undone by a check that read the grants before it", async () => {
    const rogue: RemoteView = { ...remote("rogue", "Rogue", "1.0.0"), sandboxed: true, granted: null };
    let granted: PermissionName[] | null = null;
    let revision = 0;
    const view = (grantsRevision: number, grants: PermissionName[] | null): ShellView => ({
      checked: false,
      registries: [],
      remotes: [{ ...rogue, granted: grants }],
      problems: [],
      permissionDescriptions: {},
      grantsRevision,
    });
    let paints = 0;
    mockIPC(
      (cmd) => {
        if (cmd === "remotes_from_cache") {
          paints += 1;
          return view(revision, granted);
        }
        if (cmd === "grant_remote_permissions") {
          granted = [];
          revision += 1;
          return [];
        }
        if (cmd === "check_for_updates") return true;
        if (cmd === "get_settings") return { saved: { registries: [] }, launchRegistry: null, path: "/config/settings.json", updateCheckMinutes: 60 };
        if (cmd === "get_ui_state") return { lastRoute: null, theme: "system" };
        if (cmd === "save_ui_state") return null;
        if (cmd === "mark_known_good") return null;
        throw { code: "internal", message: `unexpected ${cmd}` };
      },
      { shouldMockEvents: true },
    );
    render(<App />);
    fireEvent.click(await screen.findByTestId("consent-allow"));
    await waitFor(() => expect(screen.queryByTestId("consent")).toBeNull());
    const paintsBefore = paints;

    // The background check read the grants before the answer; its event arrives now.
    await act(() => emit("registry-checked", { ...view(0, null), checked: true }));
    await act(async () => {});
    expect(screen.queryByTestId("consent")).toBeNull();
    // Its versions are read again from the cache, with the current grants.
    await waitFor(() => expect(paints).toBe(paintsBefore + 1));
    expect(screen.queryByTestId("consent")).toBeNull();
  });
});
