// The math of the "Service metrics" panel: the shell's `stack_metrics` gives
// each local service's counters and latency histogram as totals since it
// started; rates, error ratios and the 95th percentile come from two samples,
// as Prometheus computes `rate` and `histogram_quantile(0.95, rate(…))`.
// Pure, so it is tested against hand-computed values without a shell.
import type { LatencyHistogram, ServiceMetrics, StackMetrics } from "@augment-it/host-client";
import type { ChartSeries } from "@augment-it/ui-kit";

/** How often the panel asks while it is shown. */
export const POLL_MS = 5_000;
/** Samples kept: five minutes at one every five seconds. */
export const RING_SIZE = 60;

/** `ring` with `sample` appended, the oldest dropped beyond `size`. */
export function pushSample(ring: StackMetrics[], sample: StackMetrics, size = RING_SIZE): StackMetrics[] {
  const next = [...ring, sample];
  return next.length > size ? next.slice(next.length - size) : next;
}

/** How much a counter grew between two samples. A smaller value means the
 * service restarted and counted again from zero, so all of it is new (as
 * PromQL's `increase` treats a reset). */
export function counterIncrease(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/** Per second over `seconds`; `null` when the samples are not apart in time. */
export function perSecond(before: number, after: number, seconds: number): number | null {
  return seconds > 0 ? counterIncrease(before, after) / seconds : null;
}

/** The observations between two samples, bucket by bucket; after a restart
 * (fewer observations than before) the later histogram as it is. */
export function histogramIncrease(before: LatencyHistogram, after: LatencyHistogram): LatencyHistogram {
  if (after.count < before.count) return after;
  const earlier = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** The `q` quantile of a cumulative histogram, as PromQL's
 * `histogram_quantile`: the bucket holding rank `q × count`, linearly
 * interpolated from its lower bound (0 for the first bucket); in the `+Inf`
 * bucket, the highest finite bound. `null` without observations. */
export function histogramQuantile(q: number, histogram: LatencyHistogram): number | null {
  if (histogram.count <= 0 || histogram.buckets.length === 0) return null;
  const rank = q * histogram.count;
  let lower = 0;
  let below = 0;
  for (const bucket of histogram.buckets) {
    if (bucket.count >= rank) {
      const inBucket = bucket.count - below;
      return inBucket > 0 ? lower + (bucket.le - lower) * ((rank - below) / inBucket) : lower;
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

/** One service between two samples. `null` is a gap: no numbers for it in
 * either sample, or nothing to divide by. */
export interface ServicePoint {
  requestsPerSecond: number | null;
  /** Client and server errors over requests, 0 to 1. */
  errorRatio: number | null;
  /** Seconds. */
  p95: number | null;
  inFlight: number | null;
}

const GAP: ServicePoint = { requestsPerSecond: null, errorRatio: null, p95: null, inFlight: null };

function scraped(sample: StackMetrics, service: string): ServiceMetrics | undefined {
  return sample.services.find((s) => s.service === service && !s.unavailable);
}

/** `service` between the samples `before` and `after`. */
export function servicePoint(service: string, before: StackMetrics, after: StackMetrics): ServicePoint {
  const [then, now] = [scraped(before, service), scraped(after, service)];
  if (!now) return GAP;
  const inFlight = now.inFlight ?? null;
  const seconds = (after.atMs - before.atMs) / 1000;
  if (!then || seconds <= 0) return { ...GAP, inFlight };
  const requests = counterIncrease(then.requests, now.requests);
  const errors = counterIncrease(then.clientErrors, now.clientErrors) + counterIncrease(then.serverErrors, now.serverErrors);
  const latency = now.latency && then.latency ? histogramIncrease(then.latency, now.latency) : null;
  return {
    requestsPerSecond: requests / seconds,
    errorRatio: requests > 0 ? errors / requests : null,
    p95: latency ? histogramQuantile(0.95, latency) : null,
    inFlight,
  };
}

/** Every service named in the samples, in the order they first appear. */
export function serviceNames(ring: StackMetrics[]): string[] {
  const names: string[] = [];
  for (const sample of ring) for (const s of sample.services) if (!names.includes(s.service)) names.push(s.service);
  return names;
}

export interface ServiceCharts {
  /** Unix seconds of the later sample of each pair. */
  times: number[];
  requests: ChartSeries[];
  errors: ChartSeries[];
  p95: ChartSeries[];
  inFlight: ChartSeries[];
}

/** One line per service for each chart, a point per pair of samples. */
export function serviceCharts(ring: StackMetrics[]): ServiceCharts {
  const pairs = ring.slice(1).map((after, i) => [ring[i], after] as const);
  const names = serviceNames(ring);
  const line = (pick: (p: ServicePoint) => number | null): ChartSeries[] =>
    names.map((name) => ({ label: name, values: pairs.map(([before, after]) => pick(servicePoint(name, before, after))) }));
  return {
    times: pairs.map(([, after]) => Math.floor(after.atMs / 1000)),
    requests: line((p) => p.requestsPerSecond),
    errors: line((p) => p.errorRatio),
    p95: line((p) => p.p95),
    inFlight: line((p) => p.inFlight),
  };
}

/** Per AI provider, what the services reported last: calls, tokens, cost. */
export interface ProviderTotals {
  provider: string;
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** `null` when no service exports the cost. */
  costUsd: number | null;
}

/** The providers of `sample`, added up over the services that reported them. */
export function providerTotals(sample: StackMetrics | undefined): ProviderTotals[] {
  const totals = new Map<string, ProviderTotals>();
  for (const service of sample?.services ?? []) {
    for (const p of service.providers) {
      const t = totals.get(p.provider) ?? { provider: p.provider, calls: 0, failedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: null };
      t.calls += p.calls;
      t.failedCalls += p.failedCalls;
      t.inputTokens += p.inputTokens;
      t.outputTokens += p.outputTokens;
      if (p.costUsd != null) t.costUsd = (t.costUsd ?? 0) + p.costUsd;
      totals.set(p.provider, t);
    }
  }
  return [...totals.values()];
}

/** 0.0123 → "1.2%". */
export function formatRatio(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** Seconds as the latency chart reads them: "850 ms", "1.20 s". */
export function formatSeconds(value: number): string {
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

/** Requests per second: "0.40/s", "12/s". */
export function formatRate(value: number): string {
  return value < 10 ? `${value.toFixed(2)}/s` : `${Math.round(value)}/s`;
}
