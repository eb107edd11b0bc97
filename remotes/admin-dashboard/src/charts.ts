// What the dashboard's charts draw, shaped from the shell's aggregates
// (host-client `chartData`). Pure, so it is tested without a shell or canvas.
import type { CacheSizeSample, RemoteLoadStats, RunActivity } from "@augment-it/host-client";
import type { ChartSeries } from "@augment-it/ui-kit";

/** The window every run chart covers. */
export const CHART_DAYS = 30;

export interface TimeSeries {
  times: number[];
  series: ChartSeries[];
}

export interface Bars {
  categories: string[];
  series: ChartSeries[];
}

/** The cache's bytes after each change. */
export function cacheSize(history: CacheSizeSample[]): TimeSeries {
  return { times: history.map((s) => s.at), series: [{ label: "Cache size", values: history.map((s) => s.bytes) }] };
}

/** Mounts and failures side by side, one group per remote. */
export function mountsPerRemote(stats: RemoteLoadStats[]): Bars {
  return {
    categories: stats.map((s) => s.name),
    series: [
      { label: "Mounts", values: stats.map((s) => s.mounts), color: "success" },
      { label: "Load failures", values: stats.map((s) => s.failures), color: "danger" },
    ],
  };
}

/** True when nothing was sent in the window: the charts say "no runs yet" instead. */
export function noRuns(activity: RunActivity): boolean {
  return activity.days.every((d) => d.answered === 0 && d.failed === 0);
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Requests answered and failed per day. */
export function throughput(activity: RunActivity): TimeSeries {
  return {
    times: activity.days.map((d) => seconds(d.dayStart)),
    series: [
      { label: "Answered", values: activity.days.map((d) => d.answered), color: "success" },
      { label: "Failed", values: activity.days.map((d) => d.failed), color: "danger" },
    ],
  };
}

/** List-price spend per day, in US dollars. */
export function spend(activity: RunActivity): TimeSeries {
  return {
    times: activity.days.map((d) => seconds(d.dayStart)),
    series: [{ label: "Spend (USD)", values: activity.days.map((d) => d.costUsd) }],
  };
}

/** Tokens of models without a listed price over the window (not in the spend). */
export function unpricedTokens(activity: RunActivity): number {
  return activity.days.reduce((sum, d) => sum + d.unpricedTokens, 0);
}

/** Median and 95th-percentile latency per provider, in milliseconds. */
export function providerLatency(activity: RunActivity): Bars {
  return {
    categories: activity.providers.map((p) => p.provider),
    series: [
      { label: "Median (ms)", values: activity.providers.map((p) => p.medianLatencyMs) },
      { label: "95th percentile (ms)", values: activity.providers.map((p) => p.p95LatencyMs), color: "warning" },
    ],
  };
}

/** Answers and errors per provider. */
export function providerErrors(activity: RunActivity): Bars {
  return {
    categories: activity.providers.map((p) => p.provider),
    series: [
      { label: "Answered", values: activity.providers.map((p) => p.answered), color: "success" },
      { label: "Errors", values: activity.providers.map((p) => p.failed), color: "danger" },
    ],
  };
}

/** "$0.0123" below a cent, "$1.23" above. */
export function formatUsd(value: number): string {
  return value !== 0 && Math.abs(value) < 0.01 ? `$${value.toPrecision(3)}` : `$${value.toFixed(2)}`;
}

/** A day as the table names it: the local date. */
export function formatDay(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleDateString();
}
