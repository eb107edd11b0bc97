// The Insight Assembler's charts (issue 16, point 4): for the selected
// dataset (and template version), answer length and cost per model and the
// tag counts, summed by the shell (`response_stats`). Loads again whenever
// `revision` changes (a tag added, a run finished), keeping the charts on
// show meanwhile; another dataset or version shows "Loading" until its answer.
import { useEffect, useMemo, useState } from "react";
import { asCommandError, chartData, type CommandError, type ResponseStats } from "@augment-it/host-client";
import { BarChart, EmptyState, ErrorState } from "@augment-it/ui-kit";
import { answerLength, costPerModel, formatUsd, tagCounts, unpricedModels } from "./charts";

/** `of` names the dataset and version an answer is for. */
type Load = { kind: "loading" } | { kind: "failed"; of: string; error: CommandError } | { kind: "loaded"; of: string; stats: ResponseStats };

const formatCount = (n: number) => n.toLocaleString();

export function Charts({ datasetId, templateVersionId, revision }: { datasetId: number; templateVersionId: number | null; revision: number }) {
  const [answer, setAnswer] = useState<Load>({ kind: "loading" });
  const [retries, setRetries] = useState(0);
  const of = `${datasetId}/${templateVersionId}`;
  // Another dataset's charts are never shown as this one's.
  const load: Load = answer.kind !== "loading" && answer.of === of ? answer : { kind: "loading" };
  useEffect(() => {
    let live = true;
    chartData.responseStats(datasetId, templateVersionId).then(
      (stats) => live && setAnswer({ kind: "loaded", of, stats }),
      (err: unknown) => live && setAnswer({ kind: "failed", of, error: asCommandError(err) }),
    );
    return () => {
      live = false;
    };
  }, [of, datasetId, templateVersionId, revision, retries]);

  return (
    <section className="ia-charts" data-testid="ia-charts" aria-labelledby="ia-charts-title">
      <h2 id="ia-charts-title">Charts</h2>
      {load.kind === "loading" && (
        <p className="aui-muted" role="status">
          Loading charts…
        </p>
      )}
      {load.kind === "failed" && <ErrorState title="Could not load the charts" detail={load.error.message} onRetry={() => setRetries((n) => n + 1)} />}
      {load.kind === "loaded" && <Loaded stats={load.stats} />}
    </section>
  );
}

function Loaded({ stats }: { stats: ResponseStats }) {
  const charts = useMemo(() => ({ length: answerLength(stats), cost: costPerModel(stats), tags: tagCounts(stats) }), [stats]);
  if (stats.models.length === 0) {
    return <EmptyState title="No runs yet" hint="Run the approved requests of this dataset in the Request Reviewer: answers per model appear here." />;
  }
  const unpriced = unpricedModels(stats);
  return (
    <div className="aui-charts">
      <BarChart label="Answer length per model" testId="chart-answer-length" categories={charts.length.categories} series={charts.length.series} formatValue={formatCount} />
      <div>
        <BarChart label="Cost per model (list price)" testId="chart-cost" categories={charts.cost.categories} series={charts.cost.series} formatValue={formatUsd} />
        {unpriced.length > 0 && <p className="aui-muted">No listed price for {unpriced.join(", ")}.</p>}
      </div>
      {stats.tags.length === 0 ? (
        <EmptyState title="No tags yet" hint="Tag responses above to count them here." />
      ) : (
        <div>
          <BarChart label="Tag counts" testId="chart-tags" categories={charts.tags.categories} series={charts.tags.series} formatValue={formatCount} />
          {stats.distinctTags > stats.tags.length && <p className="aui-muted">The {stats.tags.length} most used of {stats.distinctTags} tags.</p>}
        </div>
      )}
    </div>
  );
}
