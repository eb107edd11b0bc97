// The dashboard against Tauri's IPC mock answering like the shell, with the
// shell's bus installed as the shell does (shell-ui/src/federation.ts).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import { Toaster } from "@augment-it/ui-kit";
import AdminDashboard from "./App";
import { Health } from "./Health";
import { checkedRegistries, remoteVersions, shellView, usageMetrics } from "./fixtures";
import manifest from "../remote.json";
import pkg from "../package.json";
import { deferred } from "../../testing";

const bus = createEventBus<AugmentEvents>();
beforeAll(() => installShellBus(bus));
afterEach(() => clearMocks());

const self = { hostApiVersion: "1.0.0", remote: { name: "admin-dashboard", version: "1.0.0" } };

/** What the shell answers; the container engine is not running, as on most machines. */
function answer(cmd: string): unknown {
  if (cmd === "remotes_from_cache") return shellView;
  if (cmd === "remote_versions") return remoteVersions;
  if (cmd === "cache_usage") return { bytes: 3 * 1024 * 1024, blobs: 12, versions: 4 };
  if (cmd === "usage_metrics") return usageMetrics;
  if (cmd === "ai_cache_size") return { entries: 3, bytes: 4096, oldestStoredAt: 1_700_000_000_000 };
  if (cmd === "list_prices") return [];
  if (cmd === "stack_status") throw { code: "engineNotRunning", message: "Docker is not running" };
  if (cmd === "team_session") return null; // not signed in to a team server
  if (cmd === "stack_metrics") return { atMs: 1_700_000_000_000, notRunning: "The local stack is not running", services: [] };
  throw { code: "internal", message: `unexpected ${cmd}` };
}

function shellAnswers(calls: string[] = []) {
  mockIPC((cmd) => {
    calls.push(cmd);
    return answer(cmd);
  });
}

describe("AdminDashboard", () => {
  it("lists every remote with version, source, cache state, verdict and pin", async () => {
    shellAnswers();
    render(<AdminDashboard host={self} />);
    const table = await screen.findByRole("grid", { name: "Remotes" });
    const gamma = await within(table).findByText(/Gamma/);
    const row = gamma.closest("[role=row]") as HTMLElement;
    expect(row.querySelector("[data-column=version]")?.textContent).toBe("1.0.0");
    expect(row.querySelector("[data-column=source]")?.textContent).toBe("file:///reg");
    expect(row.querySelector("[data-column=cache]")?.textContent).toBe("cached (2)");
    expect(row.querySelector("[data-column=compatibility]")?.textContent).toContain("fallback: 2.0.0 needs host API");
    expect(row.querySelector("[data-column=pin]")?.textContent).toBe("1.0.0");
    expect(screen.getByTestId("admin-self").textContent).toContain("admin-dashboard 1.0.0");
    expect(document.querySelector("[data-stat=Incompatible] .aui-stat-value")?.textContent).toBe("1");
  });

  it("filters the table", async () => {
    shellAnswers();
    render(<AdminDashboard host={self} />);
    await screen.findByText(/Gamma/);
    fireEvent.change(screen.getByLabelText("Filter"), { target: { value: "omega" } });
    expect(screen.queryByText(/Gamma/)).toBeNull();
    expect(screen.getByText(/omega/)).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Filter"), { target: { value: "nothing-like-this" } });
    expect(screen.getByText("No remote matches the filter")).toBeTruthy();
  });

  it("shows the shell's error with a retry that loads again", async () => {
    let fail = true;
    mockIPC((cmd) => {
      if (fail && cmd === "remotes_from_cache") throw { code: "notReady", message: "the shell is still starting" };
      return answer(cmd);
    });
    render(<AdminDashboard host={self} />);
    expect((await screen.findByRole("alert")).textContent).toContain("the shell is still starting (notReady)");
    fail = false;
    fireEvent.click(screen.getByText("Retry"));
    expect(await screen.findByText(/Gamma/)).toBeTruthy();
  });

  it("shows cache size, usage and the stack's state, each on its own", async () => {
    shellAnswers();
    render(<AdminDashboard host={self} />);
    await waitFor(() => expect(document.querySelector("[data-stat='Cache size'] .aui-stat-value")?.textContent).toBe("3.0 MiB"));
    expect(document.querySelector("[data-stat=Records] .aui-stat-value")?.textContent).toBe("50");
    expect(document.querySelector("[data-stat=Responses] .aui-stat-value")?.textContent).toBe("48 (2 failed)");
    expect((await screen.findByTestId("admin-stack-summary")).textContent).toContain("no container engine answers");
    // The remotes table still loaded although the stack's status failed.
    expect(await screen.findByText(/Gamma/)).toBeTruthy();
  });

  it("reloads when the shell says the remotes changed", async () => {
    const calls: string[] = [];
    shellAnswers(calls);
    render(<AdminDashboard host={self} />);
    await screen.findByText(/Gamma/);
    const before = calls.filter((c) => c === "remotes_from_cache").length;
    act(() => bus.emit("remotes.changed", { reason: "update installed" }));
    await waitFor(() => expect(calls.filter((c) => c === "remotes_from_cache").length).toBe(before + 1));
  });
});

describe("AdminDashboard states (issue 16, point 5)", () => {
  it("says it is loading, not that nothing is there, until the shell answers", async () => {
    const view = deferred<unknown>();
    mockIPC((cmd) => (cmd === "remotes_from_cache" ? view.promise : answer(cmd)));
    render(<AdminDashboard host={self} />);
    expect(screen.getByText("Loading remotes…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("No remotes yet")).toBeNull();
    // No row of zero counts before the answer either.
    expect(document.querySelector("[data-stat=Remotes]")).toBeNull();
    await act(async () => view.resolve(shellView));
    expect(await screen.findByText(/Gamma/)).toBeTruthy();
    expect(screen.queryByText("Loading remotes…")).toBeNull();
    expect(document.querySelector("[data-stat=Remotes] .aui-stat-value")?.textContent).toBe("3");
  });

  it("says what to do when the shell knows no remote and no registry", async () => {
    mockIPC((cmd) => {
      if (cmd === "remotes_from_cache") return { ...shellView, registries: [], remotes: [] };
      if (cmd === "remote_versions") return [];
      return answer(cmd);
    });
    render(<AdminDashboard host={self} />);
    const empty = await screen.findByText("No remotes yet");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Publish a remote into a configured registry");
    const registries = screen.getByTestId("admin-registries");
    expect(registries.querySelector("[data-state=empty]")?.textContent).toContain("add a registry in the shell's Settings");
  });

  it("does not say the list was refreshed when the refresh failed", async () => {
    let fail = false;
    mockIPC((cmd) => {
      if (fail && cmd === "remotes_from_cache") throw { code: "notReady", message: "the shell is still starting" };
      return answer(cmd);
    });
    render(
      <>
        <AdminDashboard host={self} />
        <Toaster autoDismissMs={0} />
      </>,
    );
    await screen.findByText(/Gamma/);
    fail = true;
    fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    expect((await screen.findByRole("alert")).textContent).toContain("the shell is still starting");
    await act(async () => {});
    expect(screen.queryByText("Remote list refreshed from the cache")).toBeNull();
    fail = false;
    fireEvent.click(screen.getByRole("button", { name: "Refresh" }));
    expect(await screen.findByText("Remote list refreshed from the cache")).toBeTruthy();
  });
});

describe("Health states (issue 16, point 5)", () => {
  it("shows a loading line per part until each answers", async () => {
    const replies = { cache_usage: deferred<unknown>(), usage_metrics: deferred<unknown>(), stack_status: deferred<unknown>() };
    mockIPC((cmd) => replies[cmd as keyof typeof replies]?.promise ?? answer(cmd));
    render(<Health />);
    for (const what of ["the cache size", "the usage", "the local stack's state"]) {
      expect(screen.getByText(`Loading ${what}…`).getAttribute("role")).toBe("status");
    }
    expect(screen.queryByTestId("admin-stack-summary")).toBeNull();
    await act(async () => replies.cache_usage.resolve({ bytes: 2048, blobs: 1, versions: 1 }));
    await waitFor(() => expect(screen.queryByText("Loading the cache size…")).toBeNull());
    expect(document.querySelector("[data-stat='Cache size'] .aui-stat-value")?.textContent).toBe("2.0 KiB");
    // The others still say they are loading.
    expect(screen.getByText("Loading the usage…")).toBeTruthy();
    await act(async () => {
      replies.usage_metrics.resolve(usageMetrics);
      replies.stack_status.reject({ code: "engineNotRunning", message: "Docker is not running" });
    });
    expect((await screen.findByTestId("admin-stack-summary")).textContent).toContain("no container engine answers");
    expect(screen.queryByRole("status")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows what could not load with a retry that loads that part again", async () => {
    const calls: string[] = [];
    let failing = true;
    mockIPC((cmd) => {
      calls.push(cmd);
      if (failing && cmd === "cache_usage") throw { code: "cache", message: "the cache index is unreadable" };
      if (failing && cmd === "stack_status") throw { code: "internal", message: "the engine answered garbage" };
      return cmd === "stack_status" ? { stack: "augment-it", engine: { endpoint: "unix:///d.sock", kind: "docker", api_version: "1.45" }, services: [], healthy: false, busy: null, lastImport: null } : answer(cmd);
    });
    render(<Health />);
    const cacheError = (await screen.findByText("Could not load the cache size")).closest("[role=alert]") as HTMLElement;
    expect(cacheError.textContent).toContain("the cache index is unreadable");
    const stackError = (await screen.findByText("Could not read the local stack's state")).closest("[role=alert]") as HTMLElement;
    expect(stackError.textContent).toContain("the engine answered garbage");
    // Usage loaded regardless.
    expect(document.querySelector("[data-stat=Records] .aui-stat-value")?.textContent).toBe("50");
    failing = false;
    fireEvent.click(within(cacheError).getByText("Retry"));
    await waitFor(() => expect(document.querySelector("[data-stat='Cache size'] .aui-stat-value")?.textContent).toBe("3.0 MiB"));
    expect(calls.filter((c) => c === "cache_usage")).toHaveLength(2);
    expect(calls.filter((c) => c === "usage_metrics")).toHaveLength(1);
    fireEvent.click(within(stackError).getByText("Retry"));
    expect((await screen.findByTestId("admin-stack-summary")).textContent).toContain("Stopped");
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("AI answers cache (issue 17, point 2)", () => {
  const stat = (label: string) => document.querySelector(`[data-stat='${label}'] .aui-stat-value`)?.textContent;

  it("shows its size and clears it only after a confirm step", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    let entries = 3;
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "ai_cache_size") return { entries, bytes: entries * 1024, oldestStoredAt: entries ? 1 : null };
      if (cmd === "prune_ai_cache") {
        const removed = entries;
        entries = 0;
        return removed;
      }
      return answer(cmd);
    });
    render(<Health />);
    await waitFor(() => expect(stat("Cached answers")).toBe("3"));
    expect(stat("AI cache size")).toBe("3.0 KiB");

    // The first click only asks; "Keep" leaves everything.
    fireEvent.click(screen.getByTestId("admin-ai-cache-clear"));
    expect(screen.getByRole("group", { name: "Confirm clearing the AI cache" }).textContent).toContain("Remove all 3 cached answers?");
    fireEvent.click(screen.getByTestId("admin-ai-cache-keep"));
    expect(screen.queryByTestId("admin-ai-cache-confirm")).toBeNull();
    expect(calls.filter((c) => c.cmd === "prune_ai_cache")).toEqual([]);

    fireEvent.click(screen.getByTestId("admin-ai-cache-clear"));
    fireEvent.click(screen.getByTestId("admin-ai-cache-confirm"));
    expect((await screen.findByTestId("admin-ai-cache-cleared")).textContent).toBe("Cleared the AI cache: 3 answers removed.");
    expect(calls.filter((c) => c.cmd === "prune_ai_cache").map((c) => c.args)).toEqual([{}]); // all, not only old ones
    await waitFor(() => expect(stat("Cached answers")).toBe("0"));
    expect(screen.getByText(/Nothing cached yet/)).toBeTruthy();
    expect(screen.queryByTestId("admin-ai-cache-clear")).toBeNull();
  });

  it("says why the size could not load, with a retry, and why a clear failed", async () => {
    let failing = true;
    mockIPC((cmd) => {
      if (cmd === "ai_cache_size" && failing) throw { code: "data", message: "the database is locked" };
      if (cmd === "prune_ai_cache") throw { code: "refused", message: "admin-dashboard may not delete data" };
      return answer(cmd);
    });
    render(<Health />);
    const error = (await screen.findByText("Could not load the AI cache size")).closest("[role=alert]") as HTMLElement;
    expect(error.textContent).toContain("the database is locked");
    failing = false;
    fireEvent.click(within(error).getByText("Retry"));
    await waitFor(() => expect(stat("Cached answers")).toBe("3"));
    fireEvent.click(screen.getByTestId("admin-ai-cache-clear"));
    fireEvent.click(screen.getByTestId("admin-ai-cache-confirm"));
    expect((await screen.findByTestId("admin-ai-cache-error")).textContent).toContain("may not delete data");
    expect(stat("Cached answers")).toBe("3");
  });
});

describe("AdminDashboard registries", () => {
  // Each test gets a bus of its own: the bus keeps the last event of each type.
  afterEach(() => installShellBus(bus));

  it("shows each registry's state, reason and last verification from the shell's last check", async () => {
    const own = createEventBus<AugmentEvents>();
    installShellBus(own);
    own.emit("registries.checked", { checkedAt: 1_700_000_600, registries: checkedRegistries });
    shellAnswers();
    render(<AdminDashboard host={self} />);
    const rows = await screen.findAllByTestId("admin-registry");
    expect(rows.map((r) => [r.dataset.registry, r.dataset.state])).toEqual([
      ["file:///reg", "refused"],
      ["https://team.example/registry/", "online"],
    ]);
    expect(rows[0]?.textContent).toContain("signed by a key this registry's root does not list");
    expect(rows[0]?.textContent).toContain(`last verified ${new Date(1_700_000_000 * 1000).toLocaleString()}`);
    expect(rows[1]?.textContent).toContain("snapshot 12");
  });

  it("follows a check that finishes while it is shown", async () => {
    const own = createEventBus<AugmentEvents>();
    installShellBus(own);
    shellAnswers();
    render(<AdminDashboard host={self} />);
    const before = await screen.findByTestId("admin-registry");
    // The cache paint's registries: their times, but no state until a check finishes.
    expect(before.dataset.state).toBe("not checked");
    expect(before.textContent).toContain("no registry check has finished yet");
    expect(before.textContent).toContain(`last verified ${new Date(1_700_000_000 * 1000).toLocaleString()}`);
    act(() => own.emit("registries.checked", { checkedAt: 1_700_000_600, registries: checkedRegistries }));
    await waitFor(() => expect(screen.getAllByTestId("admin-registry")[0]?.dataset.state).toBe("refused"));
  });
});

describe("remote.json", () => {
  it("matches package.json and asks for what the shell provides", () => {
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.hostApi).toBe("^1.10.0"); // the Team server section (host API 1.10; the services' metrics and Notifications came in 1.9, the price table came in 1.5, the AI cache in 1.4, the charts in 1.2)
    expect(manifest.entry).toBe("remoteEntry.js");
    // crates/manifest HostProfile::builtin: react 19.2.0, the UI kit 1.3.0, the other shared modules 1.0.0.
    expect(manifest.shared).toEqual({
      react: "^19.0.0",
      "@augment-it/ui-kit": "^1.3.0", // the charts
      "@augment-it/host-client": "^1.0.0",
      "@augment-it/messaging": "^1.0.0",
    });
  });
});
