// Typed calls for the dashboards' charts (src-tauri/src/commands/charts.rs,
// host API 1.2): every figure is summed in Rust, the page only draws. A
// remote calling these must require host API ^1.2.0 in remote.json: a shell
// with those commands is one whose host-client has these wrappers.
import { call } from "./index";

export type {
  CacheSizeSample,
  DayActivity,
  ModelStats,
  ProviderActivity,
  RemoteLoadStats,
  ResponseStats,
  RunActivity,
  TagCount,
} from "./generated/views";

/** Minutes east of UTC of `date`'s local clock (UTC+2 is 120), as `run_activity` takes it. */
export function utcOffsetMinutes(date: Date = new Date()): number {
  // getTimezoneOffset is minutes *west* of UTC; `0 - x` avoids a -0 for UTC.
  return 0 - date.getTimezoneOffset();
}

export const chartData = {
  /** The cache's size after each change, oldest first (`at` in Unix seconds). */
  cacheSizeHistory: () => call("cache_size_history"),
  /** Mounts and load failures per remote over the last `days` (default 30). */
  remoteLoadStats: (days?: number) => call("remote_load_stats", { days }),
  /** Per local day of the last `days` (default 30): answers, failures, tokens, cost; and per provider latency. */
  runActivity: (days?: number) => call("run_activity", { days, utcOffsetMinutes: utcOffsetMinutes() }),
  /** Per model and tag, the responses of a dataset (and one template version). */
  responseStats: (datasetId: number, templateVersionId: number | null) => call("response_stats", { datasetId, templateVersionId }),
};
