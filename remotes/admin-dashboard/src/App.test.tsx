// The dashboard against Tauri's IPC mock answering like the shell, with the
// shell's bus installed as the shell does (shell-ui/src/federation.ts).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import AdminDashboard from "./App";
import { checkedRegistries, remoteVersions, shellView, usageMetrics } from "./fixtures";
import manifest from "../remote.json";
import pkg from "../package.json";

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
  if (cmd === "stack_status") throw { code: "engineNotRunning", message: "Docker is not running" };
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
    expect(manifest.hostApi).toBe("^1.2.0"); // the chart commands (host API 1.2)
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
