// One slot against Tauri's IPC mock, with the Module Federation loader
// replaced by in-memory remotes: what counts as mounted, what counts as a
// failure (and in which phase), and the slot's data-state contract.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { use, useEffect } from "react";
import type { HostApi } from "./host-api";
import type { RemoteView } from "./ipc";
import { remoteView } from "./test-fixtures";

const federation = vi.hoisted(() => ({ load: vi.fn<(name: string, entryUrl: string) => Promise<unknown>>() }));
vi.mock("./federation", () => ({ loadRemoteModule: (name: string, entryUrl: string) => federation.load(name, entryUrl) }));

import { MOUNT_TIMEOUT_MS, RemoteSlot, type Failure } from "./RemoteSlot";

afterEach(async () => {
  cleanup();
  await new Promise((resolve) => setTimeout(resolve));
  clearMocks();
  vi.restoreAllMocks();
});

beforeEach(() => {
  federation.load.mockReset();
  vi.spyOn(console, "error").mockImplementation(() => {});
});

const rc: RemoteView = { ...remoteView("record-collector", "Record Collector", "1.3.0"), verdict: "installed", lastKnownGood: "1.2.0" };

/** Records every command; a failure report rolls back to 1.2.0 when `rollBack`. */
function shell(rollBack: boolean) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === "mark_known_good") return null;
    if (cmd === "report_load_failure") return { rolledBack: rollBack ? { name: "record-collector", from: "1.3.0", to: "1.2.0" } : null };
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

const slot = () => document.querySelector<HTMLElement>('section[data-remote="record-collector"]')!;
const never = new Promise<never>(() => {});

function mountSlot(mountTimeoutMs?: number) {
  const rolledBack: Failure[] = [];
  const states: string[] = [];
  render(
    <RemoteSlot
      remote={rc}
      offline={false}
      onRolledBack={(_rollback, failure) => rolledBack.push(failure)}
      onResolveAgain={() => {}}
      onStateChange={(_name, state) => states.push(state)}
      mountTimeoutMs={mountTimeoutMs}
    />,
  );
  return { rolledBack, states };
}

describe("the mount bound", () => {
  it("is ten seconds", () => {
    expect(MOUNT_TIMEOUT_MS).toBe(10_000);
  });

  it("reports an entry that never finishes loading as a timeout and follows the rollback", async () => {
    federation.load.mockReturnValue(never);
    const calls = shell(true);
    const { rolledBack } = mountSlot(50);
    expect(slot().dataset.state).toBe("loading");
    await waitFor(() => expect(calls.some((c) => c.cmd === "report_load_failure")).toBe(true));
    const report = calls.find((c) => c.cmd === "report_load_failure")!;
    expect(report.args).toMatchObject({ name: "record-collector", version: "1.3.0", phase: "timeout" });
    expect(report.args.reason).toBe("its entry did not finish loading within 0.05 s");
    await waitFor(() => expect(rolledBack).toEqual([{ phase: "timeout", detail: "its entry did not finish loading within 0.05 s" }]));
    expect(slot().dataset.state).toBe("rolled-back");
    expect(screen.getByRole("alert").dataset.why).toBe("did not mount in time");
  });

  it("reports a component that suspends forever as a timeout, inside its slot only", async () => {
    function SuspendsForever() {
      use(never);
      return null;
    }
    federation.load.mockResolvedValue({ default: SuspendsForever });
    const calls = shell(false);
    mountSlot(50);
    await waitFor(() => expect(slot().dataset.state).toBe("failed"));
    const report = calls.find((c) => c.cmd === "report_load_failure")!;
    expect(report.args.phase).toBe("timeout");
    expect(String(report.args.reason)).toContain("its first render did not finish within 0.05 s");
    expect(calls.filter((c) => c.cmd === "mark_known_good")).toEqual([]);
  });
});

describe("known good", () => {
  it("is marked once the first commit has settled, and the slot says mounted", async () => {
    federation.load.mockResolvedValue({ default: () => <p>fine</p> });
    const calls = shell(false);
    const { states } = mountSlot();
    await screen.findByText("fine");
    await waitFor(() => expect(slot().dataset.state).toBe("mounted"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "mark_known_good")).toHaveLength(1));
    expect(calls[0]?.args).toMatchObject({ name: "record-collector", version: "1.3.0" });
    expect(states).toEqual(["loading", "mounted"]);
  });

  it("is not marked when the remote throws in an effect of its first commit: that is a render failure", async () => {
    federation.load.mockResolvedValue({
      default: function Broken() {
        useEffect(() => {
          throw new RangeError("bad column index");
        }, []);
        return <p>almost</p>;
      },
    });
    const calls = shell(false);
    mountSlot();
    await waitFor(() => expect(slot().dataset.state).toBe("failed"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "report_load_failure")).toBe(true));
    expect(calls.find((c) => c.cmd === "report_load_failure")?.args).toMatchObject({ phase: "render", reason: "RangeError: bad column index" });
    // Give a stray settle timer every chance to fire.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.filter((c) => c.cmd === "mark_known_good")).toEqual([]);
    expect(screen.getByRole("alert").dataset.why).toBe("threw while rendering");
  });

  it("reports a failed load with the load phase and says failed when nothing was rolled back", async () => {
    federation.load.mockRejectedValue(new Error("simulated outage"));
    const calls = shell(false);
    mountSlot();
    await waitFor(() => expect(slot().dataset.state).toBe("failed"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "report_load_failure")?.args).toMatchObject({ phase: "load", reason: "simulated outage" }));
  });
});

describe("a remote with no usable version", () => {
  it("is failed, with why in the fallback", () => {
    shell(false);
    render(
      <RemoteSlot remote={{ ...rc, version: null, entryUrl: null, reason: "needs host API ^2.0.0" }} offline={false} onRolledBack={() => {}} onResolveAgain={() => {}} />,
    );
    expect(slot().dataset.state).toBe("failed");
    expect(screen.getByRole("alert").dataset.why).toBe("incompatible");
    expect(federation.load).not.toHaveBeenCalled();
  });
});

describe("a new version", () => {
  it("never renders the old version's module with the new version's props", async () => {
    const oldRenders: string[] = [];
    federation.load.mockImplementation((_name, entryUrl) =>
      entryUrl.includes("/1.3.0/")
        ? Promise.resolve({
            default: function Old({ host }: { host: HostApi }) {
              oldRenders.push(host.remote.version);
              return <p>old code</p>;
            },
          })
        : never,
    );
    shell(false);
    const slotProps = { offline: false, onRolledBack: () => {}, onResolveAgain: () => {} };
    const { rerender } = render(<RemoteSlot remote={rc} {...slotProps} />);
    await waitFor(() => expect(slot().dataset.state).toBe("mounted"));
    const next = { ...rc, version: "1.4.0", entryUrl: "mfe://localhost/record-collector/1.4.0/remoteEntry.js" };
    rerender(<RemoteSlot remote={next} {...slotProps} />);
    expect(slot().dataset.version).toBe("1.4.0");
    expect(slot().dataset.state).toBe("loading");
    expect(screen.queryByText("old code")).toBeNull();
    expect(oldRenders.every((version) => version === "1.3.0")).toBe(true);
  });
});
