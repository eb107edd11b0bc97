// The dashboard's charts: the pure shaping of the shell's aggregates, and the
// section's loading, empty and error states against Tauri's IPC mock. Drawing
// needs a canvas: happy-dom has none, so each chart shows its table here
// (tests/shell checks a drawn canvas in the real webview).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { DayActivity, RunActivity } from "@augment-it/host-client";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import { Charts } from "./Charts";
import { cacheSize, formatUsd, mountsPerRemote, noRuns, providerLatency, spend, throughput, unpricedTokens } from "./charts";

beforeAll(() => installShellBus(createEventBus<AugmentEvents>()));
afterEach(() => clearMocks());

const DAY = 86_400_000;
const day = (i: number, over: Partial<DayActivity> = {}): DayActivity => ({
  dayStart: 1_741_564_800_000 + i * DAY,
  answered: 0,
  failed: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  unpricedTokens: 0,
  ...over,
});
const ACTIVITY: RunActivity = {
  days: [day(0), day(1, { answered: 8, failed: 2, costUsd: 0.004, unpricedTokens: 30 })],
  providers: [{ provider: "openai", answered: 8, failed: 2, medianLatencyMs: 900, p95LatencyMs: 2100 }],
};

describe("chart shaping", () => {
  it("days become Unix seconds with answered and failed side by side", () => {
    const t = throughput(ACTIVITY);
    expect(t.times).toEqual([1_741_564_800, 1_741_651_200]);
    expect(t.series.map((s) => [s.label, s.values])).toEqual([
      ["Answered", [0, 8]],
      ["Failed", [0, 2]],
    ]);
    expect(spend(ACTIVITY).series[0].values).toEqual([0, 0.004]);
    expect(unpricedTokens(ACTIVITY)).toBe(30);
    expect(noRuns(ACTIVITY)).toBe(false);
    expect(noRuns({ days: [day(0), day(1)], providers: [] })).toBe(true);
  });

  it("providers, remotes and cache samples become bars and steps", () => {
    expect(providerLatency(ACTIVITY)).toMatchObject({ categories: ["openai"], series: [{ values: [900] }, { values: [2100] }] });
    const bars = mountsPerRemote([{ name: "alpha", mounts: 4, failures: 1, meanMountMs: 80, lastFailureAt: 5 }]);
    expect(bars.series.map((s) => s.values)).toEqual([[4], [1]]);
    expect(cacheSize([{ at: 10, bytes: 2048, blobs: 2, versions: 1 }])).toEqual({ times: [10], series: [{ label: "Cache size", values: [2048] }] });
    expect(formatUsd(0.004)).toBe("$0.00400");
    expect(formatUsd(12.5)).toBe("$12.50");
  });
});

function shell(answers: Record<string, unknown>) {
  mockIPC((cmd) => {
    if (cmd in answers) {
      const answer = answers[cmd];
      if (answer instanceof Error) throw { code: "database", message: answer.message };
      return answer;
    }
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
}

describe("Charts", () => {
  it("draws each source's charts, each with its numbers as a table", async () => {
    shell({
      cache_size_history: [{ at: 1_700_000_000, bytes: 3 * 1024 * 1024, blobs: 3, versions: 2 }],
      remote_load_stats: [{ name: "alpha", mounts: 4, failures: 1, meanMountMs: 80, lastFailureAt: 5 }],
      run_activity: ACTIVITY,
    });
    render(<Charts />);
    const size = await screen.findByTestId("chart-cache-size");
    expect(within(size).getByRole("cell", { name: "3.0 MiB" })).toBeTruthy();
    const mounts = await screen.findByTestId("chart-mounts");
    expect(within(mounts).getByRole("rowheader", { name: "alpha" })).toBeTruthy();
    for (const id of ["chart-throughput", "chart-spend", "chart-latency", "chart-errors"]) expect(await screen.findByTestId(id)).toBeTruthy();
    expect(within(screen.getByTestId("chart-spend")).getByRole("cell", { name: "$0.00400" })).toBeTruthy();
    expect(screen.getByTestId("chart-unpriced").textContent).toContain("30 tokens");
  });

  it("says no runs yet and no mounts yet, and shows a failing source's error with a retry", async () => {
    let failing = true;
    mockIPC((cmd) => {
      if (cmd === "cache_size_history") {
        if (failing) throw { code: "cache", message: "the cache index failed" };
        return [{ at: 1, bytes: 0, blobs: 0, versions: 0 }];
      }
      if (cmd === "remote_load_stats") return [];
      if (cmd === "run_activity") return { days: [day(0)], providers: [] };
      throw { code: "internal", message: `unexpected ${cmd}` };
    });
    render(<Charts />);
    expect(await screen.findByText("No runs yet")).toBeTruthy();
    expect(await screen.findByText("No mounts recorded yet")).toBeTruthy();
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("the cache index failed");
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("chart-cache-size")).toBeTruthy());
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("shows loading until the shell answers", () => {
    mockIPC(() => new Promise(() => {}));
    render(<Charts />);
    expect(screen.getByText("Loading run activity…")).toBeTruthy();
  });

  it("says each source is loading, as a status and not as an empty chart, until its answer", async () => {
    const replies = new Map<string, (value: unknown) => void>();
    mockIPC((cmd) => new Promise((resolve) => replies.set(cmd, resolve)));
    render(<Charts />);
    for (const what of ["the cache size history", "mounts per remote", "run activity"]) {
      expect(screen.getByText(`Loading ${what}…`).getAttribute("role")).toBe("status");
    }
    expect(screen.queryByText("No runs yet")).toBeNull();
    expect(screen.queryByText("No cache changes recorded yet")).toBeNull();
    await waitFor(() => expect(replies.size).toBe(3));
    await act(async () => {
      replies.get("cache_size_history")?.([]);
      replies.get("remote_load_stats")?.([]);
      replies.get("run_activity")?.({ days: [], providers: [] });
    });
    expect(screen.queryAllByRole("status")).toEqual([]);
    // An empty cache history says what adds to it.
    const empty = (await screen.findByText("No cache changes recorded yet")).closest("[data-state=empty]");
    expect(empty?.textContent).toContain("check for updates to install a remote");
  });
});
