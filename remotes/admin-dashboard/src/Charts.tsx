// The dashboard's charts (issue 16, point 4): cache size over time, mounts
// and load failures per remote, and over the last 30 days run throughput,
// provider latency and errors and spend per day. Each of the three sources
// loads on its own with its own loading, empty and error state, so a
// missing local database never hides the cache's charts.
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { asCommandError, chartData, type CacheSizeSample, type CommandError, type RemoteLoadStats, type RunActivity } from "@augment-it/host-client";
import { useEvent } from "@augment-it/messaging";
import { BarChart, Button, EmptyState, ErrorState, TimeChart } from "@augment-it/ui-kit";
import {
  CHART_DAYS,
  cacheSize,
  formatDay,
  formatUsd,
  mountsPerRemote,
  noRuns,
  providerErrors,
  providerLatency,
  spend,
  throughput,
  unpricedTokens,
} from "./charts";
import { formatBytes } from "./health";

type Load<T> = { kind: "loading" } | { kind: "failed"; error: CommandError } | { kind: "loaded"; value: T };

function useLoad<T>(load: () => Promise<T>): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ kind: "loading" });
  const reload = useCallback(() => {
    load().then(
      (value) => setState({ kind: "loaded", value }),
      (err: unknown) => setState({ kind: "failed", error: asCommandError(err) }),
    );
  }, [load]);
  useEffect(reload, [reload]);
  return [state, reload];
}

const loadHistory = () => chartData.cacheSizeHistory();
const loadMounts = () => chartData.remoteLoadStats(CHART_DAYS);
const loadActivity = () => chartData.runActivity(CHART_DAYS);
const formatCount = (n: number) => n.toLocaleString();

/** Loading and error states shared by the three sources; `children` only once loaded. */
function Loaded<T>({ state, what, onRetry, children }: { state: Load<T>; what: string; onRetry: () => void; children: (value: T) => ReactNode }) {
  if (state.kind === "loading") {
    return (
      <p className="aui-muted" role="status">
        Loading {what}…
      </p>
    );
  }
  if (state.kind === "failed") return <ErrorState title={`Could not load ${what}`} detail={state.error.message} onRetry={onRetry} />;
  return <>{children(state.value)}</>;
}

function CacheSizeChart({ history }: { history: CacheSizeSample[] }) {
  const size = useMemo(() => cacheSize(history), [history]);
  if (history.length === 0) {
    return <EmptyState title="No cache changes recorded yet" hint="Each install or clean-up that changes the cache's size adds a point: check for updates to install a remote." />;
  }
  return <TimeChart label="Cache size over time" testId="chart-cache-size" times={size.times} series={size.series} formatValue={formatBytes} steps />;
}

function MountCharts({ stats }: { stats: RemoteLoadStats[] }) {
  const bars = useMemo(() => mountsPerRemote(stats), [stats]);
  if (stats.length === 0) return <EmptyState title="No mounts recorded yet" hint="Each remote the shell mounts or fails to load is counted here." />;
  return <BarChart label={`Mounts and load failures per remote, last ${CHART_DAYS} days`} testId="chart-mounts" categories={bars.categories} series={bars.series} formatValue={formatCount} />;
}

function RunCharts({ activity }: { activity: RunActivity }) {
  const charts = useMemo(
    () => ({ throughput: throughput(activity), spend: spend(activity), latency: providerLatency(activity), errors: providerErrors(activity) }),
    [activity],
  );
  if (noRuns(activity)) {
    return <EmptyState title="No runs yet" hint={`Runs of the last ${CHART_DAYS} days appear here: approve requests in the Request Reviewer and start a run.`} />;
  }
  const unpriced = unpricedTokens(activity);
  return (
    <>
      <TimeChart label="Run throughput: requests per day" testId="chart-throughput" times={charts.throughput.times} series={charts.throughput.series} formatTime={formatDay} formatValue={formatCount} />
      <TimeChart label="Token spend per day (list price)" testId="chart-spend" times={charts.spend.times} series={charts.spend.series} formatTime={formatDay} formatValue={formatUsd} />
      <BarChart label="Provider latency" testId="chart-latency" categories={charts.latency.categories} series={charts.latency.series} formatValue={formatCount} />
      <BarChart label="Provider answers and errors" testId="chart-errors" categories={charts.errors.categories} series={charts.errors.series} formatValue={formatCount} />
      {unpriced > 0 && <p className="aui-muted" data-testid="chart-unpriced">{unpriced.toLocaleString()} tokens of models without a listed price are not in the spend.</p>}
    </>
  );
}

export function Charts() {
  const [history, reloadHistory] = useLoad(loadHistory);
  const [mounts, reloadMounts] = useLoad(loadMounts);
  const [activity, reloadActivity] = useLoad(loadActivity);
  const reloadAll = useCallback(() => {
    reloadHistory();
    reloadMounts();
    reloadActivity();
  }, [reloadHistory, reloadMounts, reloadActivity]);
  // A run changes the run charts; by then the other remotes have mounted too.
  useEvent("run.finished", reloadAll);
  useEvent("remotes.changed", reloadAll);

  return (
    <section className="admin-charts" data-testid="admin-charts" aria-labelledby="admin-charts-title">
      <h2 id="admin-charts-title">Charts</h2>
      <div className="aui-charts">
        <Loaded state={history} what="the cache size history" onRetry={reloadHistory}>
          {(value) => <CacheSizeChart history={value} />}
        </Loaded>
        <Loaded state={mounts} what="mounts per remote" onRetry={reloadMounts}>
          {(value) => <MountCharts stats={value} />}
        </Loaded>
      </div>
      <h3>Runs, last {CHART_DAYS} days</h3>
      <div className="aui-charts">
        <Loaded state={activity} what="run activity" onRetry={reloadActivity}>
          {(value) => <RunCharts activity={value} />}
        </Loaded>
      </div>
      <Button onClick={reloadAll}>Refresh charts</Button>
    </section>
  );
}
