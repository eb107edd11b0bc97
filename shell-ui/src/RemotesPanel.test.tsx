// The Remotes page lists each registry with its state, reason and last
// verification (stable hooks: data-testid="registry-row", data-state).
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { RegistryView } from "./ipc";
import { RemotesPanel } from "./RemotesPanel";
import { formatTime } from "./status";

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
    expect(await screen.findByText("Nothing is installed yet.")).toBeTruthy();
  });

  it("says it is checking before the first check has finished", () => {
    panel(false);
    expect(screen.queryAllByTestId("registry-row")).toEqual([]);
    expect(screen.getByText("Checking the registries…")).toBeTruthy();
  });
});
