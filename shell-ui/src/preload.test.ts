import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ShellView, UiState } from "./ipc";
import { remoteView } from "./test-fixtures";

// The federation runtime, recorded: which entries were loaded, and how often.
const loads = vi.hoisted(() => ({ calls: [] as string[], fail: false }));
vi.mock("@module-federation/runtime", () => ({
  createInstance: () => ({
    registerRemotes: () => {},
    loadRemote: async (id: string) => {
      loads.calls.push(id);
      if (loads.fail) throw new Error("the entry failed to load");
      return { default: () => null };
    },
  }),
}));

const { startRemote, preloadStartScreen } = await import("./preload");
const { loadRemoteModule } = await import("./federation");

const collector = remoteView("record-collector", "Record Collector");
const templates = remoteView("prompt-templates", "Prompt Template Manager");
function view(...remotes: ReturnType<typeof remoteView>[]): ShellView {
  return { checked: false, registries: [], remotes, problems: [], permissionDescriptions: {}, grantsRevision: 0 } as ShellView;
}
const fresh: UiState = { lastRoute: null, theme: "system" };

describe("the screen the shell opens on", () => {
  it("is the deep link, then the saved screen, then the workflow's first step", () => {
    const both = view(templates, collector);
    expect(startRemote(both, fresh, "/")?.name).toBe("record-collector");
    expect(startRemote(both, { ...fresh, lastRoute: "/remote/prompt-templates" }, "/")?.name).toBe("prompt-templates");
    expect(startRemote(both, { ...fresh, lastRoute: "/remote/prompt-templates" }, "/remote/record-collector")?.name).toBe(
      "record-collector",
    );
  });

  it("is not loaded early when it is a shell page, sandboxed, in dev mode or not resolved", () => {
    expect(startRemote(view(collector), { ...fresh, lastRoute: "/settings" }, "/")).toBeNull();
    expect(startRemote(view({ ...collector, sandboxed: true }), fresh, "/")).toBeNull();
    expect(startRemote(view({ ...collector, devOverride: { source: "/src", kind: "folder" } as never }), fresh, "/")).toBeNull();
    expect(startRemote(view({ ...collector, version: null, entryUrl: null }), fresh, "/")).toBeNull();
    expect(startRemote(view(), fresh, "/")).toBeNull();
  });
});

describe("preloading the start screen", () => {
  beforeEach(() => {
    loads.calls = [];
    loads.fail = false;
  });

  it("loads its code once: the slot's first load takes over the preload, a later one loads again", async () => {
    await preloadStartScreen({ remotes: Promise.resolve(view(collector)), uiState: Promise.resolve(fresh) }, "/");
    expect(loads.calls).toEqual(["record-collector/App"]);

    const module = await loadRemoteModule("record-collector", collector.entryUrl!, "./App", 0);
    expect("default" in module && module.default).toBeTypeOf("function");
    expect(loads.calls).toEqual(["record-collector/App"]);

    await loadRemoteModule("record-collector", collector.entryUrl!, "./App", 0);
    expect(loads.calls).toHaveLength(2);
  });

  it("is not taken by another version's load", async () => {
    await preloadStartScreen({ remotes: Promise.resolve(view(collector)), uiState: Promise.resolve(fresh) }, "/");
    await loadRemoteModule("record-collector", "mfe://localhost/record-collector/2.0.0/remoteEntry.js", "./App", 0);
    expect(loads.calls).toHaveLength(2);
  });

  it("leaves a failed load to the slot, which reports it", async () => {
    loads.fail = true;
    await preloadStartScreen({ remotes: Promise.resolve(view(collector)), uiState: Promise.resolve(fresh) }, "/");
    await expect(loadRemoteModule("record-collector", collector.entryUrl!, "./App", 0)).rejects.toThrow("the entry failed to load");
  });

  it("does nothing when a start read fails (the app reads again and says what failed)", async () => {
    await preloadStartScreen({ remotes: Promise.reject(new Error("cache unreadable")), uiState: Promise.resolve(fresh) }, "/");
    expect(loads.calls).toEqual([]);
  });
});
