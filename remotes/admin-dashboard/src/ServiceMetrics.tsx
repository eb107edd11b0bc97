// "Service metrics" (issue 18, point 5): the local stack's own Prometheus
// series, read through the shell's `stack_metrics` every few seconds while
// the dashboard is shown, kept as a short ring of samples, charted per
// service: requests per second, error ratio, 95th-percentile latency and
// requests in flight; and per AI provider the tokens and cost the connector
// counted. The math is in serviceMetrics.ts.
import { useCallback, useMemo, useState } from "react";
import { asCommandError, call, type CommandError, type StackMetrics } from "@augment-it/host-client";
import { BarChart, EmptyState, ErrorState, TimeChart } from "@augment-it/ui-kit";
import { formatUsd } from "./charts";
import { usePoll } from "./poll";
import { POLL_MS, formatRate, formatRatio, formatSeconds, providerTotals, pushSample, serviceCharts } from "./serviceMetrics";

const formatTime = (unixSeconds: number) => new Date(unixSeconds * 1000).toLocaleTimeString();
const formatCount = (n: number) => n.toLocaleString();

export function ServiceMetricsPanel({ everyMs = POLL_MS }: { everyMs?: number }) {
  const [ring, setRing] = useState<StackMetrics[]>([]);
  const [error, setError] = useState<CommandError | null>(null);

  const load = useCallback(async () => {
    try {
      const sample = await call("stack_metrics");
      // A stopped stack ends the series: rates across a restart of the whole stack mean nothing.
      setRing((ring) => (sample.notRunning ? [sample] : pushSample(ring, sample)));
      setError(null);
    } catch (err) {
      setError(asCommandError(err));
    }
  }, []);
  usePoll(load, everyMs);

  const latest = ring.at(-1);
  return (
    <section className="admin-service-metrics" data-testid="admin-service-metrics" aria-labelledby="admin-service-metrics-title">
      <h2 id="admin-service-metrics-title">Service metrics</h2>
      {error ? (
        <ErrorState title="Could not read the local services' metrics" detail={error.message} onRetry={() => void load()} />
      ) : !latest ? (
        <p className="aui-muted" role="status">
          Loading the local services' metrics…
        </p>
      ) : latest.notRunning ? (
        <EmptyState title="The local stack is not running" hint={latest.notRunning} />
      ) : (
        <Running ring={ring} latest={latest} everyMs={everyMs} />
      )}
    </section>
  );
}

function Running({ ring, latest, everyMs }: { ring: StackMetrics[]; latest: StackMetrics; everyMs: number }) {
  const charts = useMemo(() => serviceCharts(ring), [ring]);
  const providers = useMemo(() => providerTotals(latest), [latest]);
  const unavailable = latest.services.filter((s) => s.unavailable);
  const priced = providers.filter((p) => p.costUsd != null);
  return (
    <>
      {unavailable.length > 0 && (
        <ul className="admin-service-unavailable" data-testid="service-metrics-unavailable">
          {unavailable.map((s) => (
            <li key={s.service} data-service={s.service}>
              {s.service}: no numbers ({s.unavailable})
            </li>
          ))}
        </ul>
      )}
      {charts.times.length === 0 ? (
        <p className="aui-muted" role="status">
          Collecting: rates appear after the next sample, in {Math.round(everyMs / 1000)} s.
        </p>
      ) : (
        <div className="aui-charts">
          <TimeChart label="Requests per second" testId="chart-service-requests" times={charts.times} series={charts.requests} formatTime={formatTime} formatValue={formatRate} />
          <TimeChart label="Error ratio (4xx and 5xx)" testId="chart-service-errors" times={charts.times} series={charts.errors} formatTime={formatTime} formatValue={formatRatio} />
          <TimeChart label="Latency, 95th percentile" testId="chart-service-latency" times={charts.times} series={charts.p95} formatTime={formatTime} formatValue={formatSeconds} />
          <TimeChart label="Requests in flight" testId="chart-service-in-flight" times={charts.times} series={charts.inFlight} formatTime={formatTime} formatValue={formatCount} steps />
        </div>
      )}
      {providers.length > 0 && (
        <div className="aui-charts">
          <BarChart
            label="Provider tokens since the connector started"
            testId="chart-provider-tokens"
            categories={providers.map((p) => p.provider)}
            series={[
              { label: "Input tokens", values: providers.map((p) => p.inputTokens) },
              { label: "Output tokens", values: providers.map((p) => p.outputTokens), color: "success" },
            ]}
            formatValue={formatCount}
          />
          {priced.length > 0 && (
            <BarChart
              label="Provider cost since the connector started (USD)"
              testId="chart-provider-cost"
              categories={priced.map((p) => p.provider)}
              series={[{ label: "Cost (USD)", values: priced.map((p) => p.costUsd), color: "warning" }]}
              formatValue={formatUsd}
            />
          )}
        </div>
      )}
    </>
  );
}
