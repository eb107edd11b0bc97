// The Remotes page lists each registry with its state, reason and last
// verification (stable hooks: data-testid="registry-row", data-state).
import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { RegistryView } from "./ipc";
import { RemotesPanel } from "./RemotesPanel";
import { formatTime } from "./status";
import { deferred } from "../../remotes/testing";

afterEach(() => {
  cleanup();
  clearMocks();
});

const registries: RegistryView[] = [
  {
    url: "https://team.example/registry/",
    fromLaunch: false,
    status: { state: "stale", reason: "the registry answered HTTP 503", lastVerifiedAt: 1_700_000_000, lastReachedAt: 1_700_000_900, snapshotVersion: 4 },
    error: null,
  },
  { url: "/srv/mirror", fromLaunch: true, status: null, error: { code: "refused", message: "root.json: bad signature" } },
];

function panel(checked: boolean) {
  mockIPC((cmd) => {
    if (cmd === "remote_versions") return [];
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  const noop = async () => {};
  render(<RemotesPanel onChanged={noop} onCheck={noop} notify={() => {}} registries={registries} checked={checked} />);
}

describe("RemotesPanel registries", () => {
  it("shows each registry with its state, reason, last verified and last reached", async () => {
    panel(true);
    const rows = await screen.findAllByTestId("registry-row");
    expect(rows.map((r) => [r.dataset.registry, r.dataset.state])).toEqual([
      ["https://team.example/registry/", "stale"],
      ["/srv/mirror", "error"],
    ]);
    expect(rows[0]?.textContent).toContain("the registry answered HTTP 503");
    expect(rows[0]?.textContent).toContain(formatTime(1_700_000_000));
    expect(rows[0]?.textContent).toContain(formatTime(1_700_000_900));
    expect(rows[1]?.textContent).toContain("root.json: bad signature");
    expect(await screen.findByText("Nothing is installed yet")).toBeTruthy();
  });

  it("says it is checking before the first check has finished", () => {
    panel(false);
    expect(screen.queryAllByTestId("registry-row")).toEqual([]);
    expect(screen.getByText("Checking the registries…").getAttribute("role")).toBe("status");
  });
});

describe("RemotesPanel installed versions (issue 16, point 5)", () => {
  const noop = async () => {};

  it("says they are loading, not that nothing is installed, until the shell answers", async () => {
    const versions = deferred<unknown>();
    mockIPC((cmd) => {
      if (cmd === "remote_versions") return versions.promise;
      throw { code: "internal", message: `unexpected ${cmd}` };
    });
    render(<RemotesPanel onChanged={noop} onCheck={noop} notify={() => {}} registries={[]} checked />);
    expect(screen.getByText("Loading the installed versions…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("Nothing is installed yet")).toBeNull();
    await act(async () => versions.resolve([]));
    const empty = (await screen.findByText("Nothing is installed yet")).closest("[data-state=empty]");
    // No registry either: the hint starts there.
    expect(empty?.textContent).toContain("Add a registry in Settings, then check for updates.");
    const noRegistry = screen.getByText("No registry is configured").closest("[data-state=empty]");
    expect(noRegistry?.textContent).toContain("add a registry in Settings");
  });

  it("shows a failed list in the panel, not only as a notice, with a retry that lists them", async () => {
    let failing = true;
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd !== "remote_versions") throw { code: "internal", message: `unexpected ${cmd}` };
      if (failing) throw { code: "cache", message: "the cache index is unreadable" };
      return [{ name: "alpha", active: "1.0.0", pinned: null, lastKnownGood: "1.0.0", versions: [{ version: "1.0.0", installedAt: 1_700_000_000, registry: "/srv/reg" }] }];
    });
    const notices: string[] = [];
    render(<RemotesPanel onChanged={noop} onCheck={noop} notify={(text) => notices.push(text)} registries={registries} checked />);
    const alert = (await screen.findByText("Could not list the installed versions")).closest("[role=alert]") as HTMLElement;
    expect(alert.textContent).toContain("the cache index is unreadable");
    expect(screen.queryByText("Loading the installed versions…")).toBeNull();
    expect(notices).toEqual([]);
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(document.querySelector("[data-remote=alpha]")).toBeTruthy());
    expect(calls).toEqual(["remote_versions", "remote_versions"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
