// The Stability panel: for a run that asked each prompt several times (the
// Request Reviewer's Repeats), how many records got the same answer every
// time, and the records that did not, with each repeat's answer. Counts and
// the list come from Rust over the whole run; pages move by record position.
import { useEffect, useState } from "react";
import { call, type RunSummary, type StabilityPage, type StabilitySummary } from "@augment-it/host-client";
import { Button, EmptyState, ErrorState, SelectField, Toolbar } from "@augment-it/ui-kit";
import { onlyTarget } from "./compare-runs";
import { describeError, modelKey, parseModelKey, recordSummary } from "./logic";
import { repeatedRunLabel, repeatedRuns, sampleText, stabilityText } from "./run-stability";

export const STABILITY_PAGE_SIZE = 50;

export function Stability({ datasetId, revision }: { datasetId: number; revision: number }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [runId, setRunId] = useState("");
  const [model, setModel] = useState("");
  // Where each page seen so far started, so Previous goes back exactly.
  const [starts, setStarts] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState<StabilityPage | null>(null);
  // Counted by Rust on a first page only; kept while paging.
  const [summary, setSummary] = useState<StabilitySummary | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    call("list_runs", { datasetId })
      .then((list) => {
        if (!live) return;
        const repeated = repeatedRuns(list);
        setRuns(repeated);
        // The newest run with repeats, unless one is chosen already.
        setRunId((chosen) => (chosen || repeated.length === 0 ? chosen : String(repeated[0].run_id)));
        setError(null);
      })
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, revision]);

  const run = runs?.find((r) => String(r.run_id) === runId);
  const target = run ? (onlyTarget(run) ?? parseModelKey(model)) : null;
  const after = starts[starts.length - 1];
  const request = run && target ? JSON.stringify({ run_id: run.run_id, target, after, limit: STABILITY_PAGE_SIZE }) : null;

  useEffect(() => {
    if (!request) return setPage(null);
    let live = true;
    call("run_stability", { query: JSON.parse(request) })
      .then((result) => {
        if (!live) return;
        setPage(result);
        if (result.summary) setSummary(result.summary);
        setError(null);
      })
      .catch((err: unknown) => live && (setPage(null), setSummary(null), setError(describeError(err))));
    return () => {
      live = false;
    };
  }, [request, revision]);

  // Another run or model is another reading: it starts on its first page.
  const restart = (next: () => void) => (next(), setStarts([null]), setSummary(null));

  if (runs !== null && runs.length === 0 && !error) {
    return (
      <EmptyState
        title="No run with repeats yet"
        hint="Set Repeats above 1 in the Request Reviewer's run form: each prompt is asked that many times, and this panel shows which records got different answers."
      />
    );
  }
  return (
    <div data-testid="ia-stability">
      {runs && (
        <Toolbar>
          <SelectField
            label="Run"
            testId="ia-stability-run"
            value={runId}
            options={runs.map((r) => ({ value: String(r.run_id), label: repeatedRunLabel(r) }))}
            onChange={(value) => restart(() => (setRunId(value), setModel("")))}
          />
          {run && run.targets.length > 1 && (
            <SelectField
              label="Model"
              testId="ia-stability-model"
              value={model}
              options={[{ value: "", label: "choose a model" }, ...run.targets.map((t) => ({ value: modelKey(t), label: modelKey(t) }))]}
              onChange={(value) => restart(() => setModel(value))}
            />
          )}
        </Toolbar>
      )}
      {error && <ErrorState title="Could not read the run's stability" detail={error} />}
      {runs === null && !error && (
        <p className="aui-muted" role="status">
          Loading runs…
        </p>
      )}
      {run && !target && !error && <p className="aui-muted">Choose one of the run's models.</p>}
      {page && (
        <>
          {summary && <p data-testid="ia-stability-summary">{stabilityText(summary)}</p>}
          {page.unstable.length === 0 ? (
            <p className="aui-muted">No record got different answers{summary && summary.complete < summary.records ? " among those with every sample answered" : ""}.</p>
          ) : (
            <ol className="ia-pairs">
              {page.unstable.map((record) => (
                <li key={record.record_id} data-testid="ia-unstable-record" data-record-id={record.record_id}>
                  <p>
                    <strong>{recordSummary(record.record)}</strong>
                  </p>
                  <ul>
                    {record.samples.map((sample) => (
                      <li key={sample.sample} className={sample.text === null ? "aui-field-error" : undefined}>
                        Answer {sample.sample + 1}: {sampleText(sample)}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ol>
          )}
          <Toolbar>
            <Button disabled={starts.length === 1} onClick={() => setStarts(starts.slice(0, -1))}>
              Previous records
            </Button>
            <Button disabled={page.next_after === null} onClick={() => setStarts([...starts, page.next_after])}>
              Next records
            </Button>
          </Toolbar>
        </>
      )}
    </div>
  );
}
