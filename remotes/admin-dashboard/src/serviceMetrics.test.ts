// The panel's math against values computed by hand.
import { describe, expect, it } from "vitest";
import type { LatencyHistogram, ServiceMetrics, StackMetrics } from "@augment-it/host-client";
import {
  counterIncrease,
  histogramIncrease,
  histogramQuantile,
  perSecond,
  providerTotals,
  pushSample,
  serviceCharts,
  servicePoint,
} from "./serviceMetrics";

const histogram = (counts: [number, number, number], count: number, sum = 0): LatencyHistogram => ({
  buckets: [
    { le: 0.1, count: counts[0] },
    { le: 0.5, count: counts[1] },
    { le: 1, count: counts[2] },
  ],
  count,
  sum,
});

const service = (over: Partial<ServiceMetrics> = {}): ServiceMetrics => ({
  service: "parsers",
  requests: 0,
  clientErrors: 0,
  serverErrors: 0,
  providers: [],
  ...over,
});
const at = (seconds: number, services: ServiceMetrics[]): StackMetrics => ({ atMs: 1_700_000_000_000 + seconds * 1000, services });

describe("counters", () => {
  it("a rate is the increase over the seconds between samples", () => {
    expect(counterIncrease(100, 150)).toBe(50);
    expect(perSecond(100, 150, 10)).toBe(5);
    expect(perSecond(100, 150, 0)).toBeNull();
  });

  it("a counter that went down restarted from zero: all of its value is new", () => {
    expect(counterIncrease(100, 30)).toBe(30);
    expect(perSecond(100, 30, 10)).toBe(3);
  });
});

describe("histogram_quantile", () => {
  // 100 observations: 50 ≤ 0.1 s, 40 in (0.1, 0.5], 8 in (0.5, 1], 2 above 1 s.
  const h = histogram([50, 90, 98], 100);

  it("interpolates inside the bucket holding the rank, as PromQL does", () => {
    // rank 95: bucket (0.5, 1] holds 91st–98th; 0.5 + 0.5 × (95 − 90) / 8.
    expect(histogramQuantile(0.95, h)).toBeCloseTo(0.8125, 10);
    // rank 50: the first bucket, from 0: 0.1 × 50 / 50.
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.1, 10);
    // rank 70: 0.1 + 0.4 × (70 − 50) / 40.
    expect(histogramQuantile(0.7, h)).toBeCloseTo(0.3, 10);
  });

  it("in the +Inf bucket is the highest finite bound; without observations there is none", () => {
    expect(histogramQuantile(0.99, h)).toBe(1);
    expect(histogramQuantile(0.95, histogram([0, 0, 0], 0))).toBeNull();
  });

  it("between two samples counts only the observations in between, and a restart takes the later one", () => {
    const before = histogram([10, 20, 30], 30, 3);
    const after = histogram([60, 110, 128], 130, 30);
    expect(histogramIncrease(before, after)).toEqual({ ...histogram([50, 90, 98], 100), sum: 27 });
    expect(histogramQuantile(0.95, histogramIncrease(before, after))).toBeCloseTo(0.8125, 10);
    const restarted = histogram([1, 2, 2], 2, 0.5);
    expect(histogramIncrease(after, restarted)).toBe(restarted);
  });
});

describe("servicePoint", () => {
  it("requests per second, error ratio, p95 and in flight between two samples", () => {
    const before = at(0, [service({ requests: 100, clientErrors: 1, serverErrors: 1, latency: histogram([10, 20, 30], 30), inFlight: 0 })]);
    const after = at(10, [service({ requests: 150, clientErrors: 6, serverErrors: 6, latency: histogram([60, 110, 128], 130), inFlight: 3 })]);
    const point = servicePoint("parsers", before, after);
    expect(point.requestsPerSecond).toBe(5);
    expect(point.errorRatio).toBeCloseTo(0.2, 10); // (5 + 5) / 50
    expect(point.p95).toBeCloseTo(0.8125, 10);
    expect(point.inFlight).toBe(3);
  });

  it("missing series are gaps, not zeros", () => {
    // A service without the new series (no histogram, no in-flight gauge), no traffic.
    const quiet = servicePoint("parsers", at(0, [service({ requests: 7 })]), at(5, [service({ requests: 7 })]));
    expect(quiet).toEqual({ requestsPerSecond: 0, errorRatio: null, p95: null, inFlight: null });
    // Unavailable or absent in one sample: nothing to compare.
    const gone = at(5, [service({ unavailable: "unreachable", requests: 0 })]);
    expect(servicePoint("parsers", at(0, [service({ requests: 7 })]), gone).requestsPerSecond).toBeNull();
    const appeared = servicePoint("parsers", at(0, []), at(5, [service({ requests: 7, inFlight: 1 })]));
    expect(appeared).toEqual({ requestsPerSecond: null, errorRatio: null, p95: null, inFlight: 1 });
  });

  it("charts one line per service, a point per pair, times in Unix seconds", () => {
    const ring = [
      at(0, [service({ requests: 0 }), service({ service: "gateway", requests: 0 })]),
      at(5, [service({ requests: 50 }), service({ service: "gateway", requests: 10 })]),
      at(10, [service({ requests: 20 }), service({ service: "gateway", requests: 20 })]),
    ];
    const charts = serviceCharts(ring);
    expect(charts.times).toEqual([1_700_000_005, 1_700_000_010]);
    expect(charts.requests).toEqual([
      { label: "parsers", values: [10, 4] }, // 50 in 5 s; restarted, 20 in 5 s
      { label: "gateway", values: [2, 2] },
    ]);
    expect(serviceCharts(ring.slice(0, 1)).times).toEqual([]);
  });
});

describe("ring and providers", () => {
  it("keeps the newest samples", () => {
    let ring: StackMetrics[] = [];
    for (let i = 0; i < 5; i++) ring = pushSample(ring, at(i, []), 3);
    expect(ring.map((s) => s.atMs - 1_700_000_000_000)).toEqual([2000, 3000, 4000]);
  });

  it("adds up each provider's calls, tokens and cost; no cost series is no cost", () => {
    const openai = { provider: "openai", calls: 9, failedCalls: 2, inputTokens: 1200, outputTokens: 300, costUsd: 0.0042 };
    const groq = { provider: "groq", calls: 1, failedCalls: 0, inputTokens: 10, outputTokens: 5 };
    const totals = providerTotals(at(0, [service({ service: "connector", providers: [openai, groq] })]));
    expect(totals).toEqual([openai, { ...groq, costUsd: null }]);
    expect(providerTotals(undefined)).toEqual([]);
  });
});
