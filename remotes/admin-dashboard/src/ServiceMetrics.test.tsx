// The "Service metrics" panel against Tauri's IPC mock: polling while shown
// (fake timers: a pause is proved by advancing the clock, not by waiting),
// the charts' numbers (happy-dom has no canvas, so each chart is its table),
// the stopped stack and the services without numbers.
import { afterEach, describe, expect, it, vi } from "vitest";
import { act, render, screen, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ServiceMetrics, StackMetrics } from "@augment-it/host-client";
import { ServiceMetricsPanel } from "./ServiceMetrics";

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
  setVisibility("visible");
});

function setVisibility(state: DocumentVisibilityState) {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

const parsers = (requests: number, over: Partial<ServiceMetrics> = {}): ServiceMetrics => ({
  service: "parsers",
  requests,
  clientErrors: 0,
  serverErrors: 0,
  providers: [],
  ...over,
});

/** Answers the n-th call with `samples(n)`; counts the calls. */
function shell(samples: (n: number) => StackMetrics) {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "stack_metrics") return samples(calls.length - 1);
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

/** Lets the clock run `ms` and every answer it triggers arrive. */
const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

describe("ServiceMetricsPanel", () => {
  it("polls every 5 s while shown, pauses while hidden, and stops when unmounted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const calls = shell((n) => ({ atMs: 1_700_000_000_000 + n * 5000, services: [parsers(n * 50)] }));
    const view = render(<ServiceMetricsPanel />);
    await advance(0);
    expect(calls).toEqual(["stack_metrics"]);
    expect(screen.getByText(/Collecting: rates appear after the next sample/)).toBeTruthy();
    await advance(5000);
    expect(calls.length).toBe(2);
    // 50 requests in 5 s.
    const requests = screen.getByTestId("chart-service-requests");
    expect(within(requests).getByRole("cell", { name: "10/s" })).toBeTruthy();

    setVisibility("hidden");
    await advance(60_000);
    expect(calls.length).toBe(2);
    setVisibility("visible");
    await advance(0);
    expect(calls.length).toBe(3);

    view.unmount();
    await advance(60_000);
    expect(calls.length).toBe(3);
  });

  it("charts errors, p95 latency, in flight and the providers' tokens and cost", async () => {
    const latency = (counts: number[], count: number) => ({
      buckets: [0.1, 0.5, 1].map((le, i) => ({ le, count: counts[i] })),
      count,
      sum: 0,
    });
    const openai = { provider: "openai", calls: 9, failedCalls: 2, inputTokens: 1200, outputTokens: 300, costUsd: 0.5 };
    const samples = [
      { atMs: 0, services: [parsers(100, { clientErrors: 1, serverErrors: 1, latency: latency([10, 20, 30], 30), inFlight: 0 })] },
      {
        atMs: 10_000,
        services: [
          parsers(150, { clientErrors: 6, serverErrors: 6, latency: latency([60, 110, 128], 130), inFlight: 3 }),
          { ...parsers(0), service: "connector", providers: [openai] },
          { ...parsers(0), service: "gateway", unavailable: "serves no /metrics on its published port" },
        ],
      },
    ];
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    shell((n) => samples[Math.min(n, 1)]);
    render(<ServiceMetricsPanel />);
    await advance(5000);
    const cell = (id: string, name: string) => within(screen.getByTestId(id)).getByRole("cell", { name });
    expect(cell("chart-service-requests", "5.00/s")).toBeTruthy();
    expect(cell("chart-service-errors", "20.0%")).toBeTruthy();
    expect(cell("chart-service-latency", "813 ms")).toBeTruthy(); // 0.8125 s
    expect(cell("chart-service-in-flight", "3")).toBeTruthy();
    expect(cell("chart-provider-tokens", "1,200")).toBeTruthy();
    expect(cell("chart-provider-cost", "$0.50")).toBeTruthy();
    const unavailable = screen.getByTestId("service-metrics-unavailable");
    expect(unavailable.textContent).toContain("gateway: no numbers (serves no /metrics on its published port)");
  });

  it("says how to start a stopped stack, and shows a failing call's error", async () => {
    const message = "The local stack is not running: start it on the Local stack page (Start) or with `augment stack up`.";
    shell(() => ({ atMs: 1, notRunning: message, services: [] }));
    const view = render(<ServiceMetricsPanel />);
    const empty = (await screen.findByText("The local stack is not running")).closest("[data-state=empty]");
    expect(empty?.textContent).toContain("augment stack up");
    view.unmount();

    mockIPC(() => {
      throw { code: "refused", message: "remote `x` may not call stack_metrics" };
    });
    render(<ServiceMetricsPanel />);
    expect((await screen.findByRole("alert")).textContent).toContain("may not call stack_metrics");
  });
});
