// Two runs (a baseline and a new one), or two models of one run, side by
// side record by record, with the new answer's word-level diff against the
// baseline's. The agreement counts and the "show" filter are computed in
// Rust over every record of both runs; pages move by record position.
import { useEffect, useState } from "react";
import { call, type ComparePage, type CompareSide, type CompareSummary, type ComparedPair, type PairFilter, type RunSummary } from "@augment-it/host-client";
import { Button, EmptyState, ErrorState, SelectField, Toolbar } from "@augment-it/ui-kit";
import { onlyTarget, pairAnswerText, runLabel, summaryText, wordDiff } from "./compare-runs";
import { describeError, modelKey, parseModelKey, recordSummary } from "./logic";

export const COMPARE_PAGE_SIZE = 50;

const SHOW: { value: PairFilter; label: string }[] = [
  { value: "all", label: "every record" },
  { value: "differ", label: "disagreements" },
  { value: "agree", label: "agreements" },
  { value: "missing", label: "records missing an answer" },
];

interface SideChoice {
  runId: string;
  /** "provider/model", or "" while the run has several and none is chosen. */
  model: string;
}

function sideOf(choice: SideChoice, runs: RunSummary[]): CompareSide | null {
  const run = runs.find((r) => String(r.run_id) === choice.runId);
  if (!run) return null;
  const target = onlyTarget(run) ?? parseModelKey(choice.model);
  return target ? { run_id: run.run_id, target } : null;
}

function SidePicker({ label, testId, choice, runs, onChange }: { label: string; testId: string; choice: SideChoice; runs: RunSummary[]; onChange: (next: SideChoice) => void }) {
  const run = runs.find((r) => String(r.run_id) === choice.runId);
  return (
    <>
      <SelectField
        label={label}
        testId={`${testId}-run`}
        value={choice.runId}
        options={[{ value: "", label: "choose a run" }, ...runs.map((r) => ({ value: String(r.run_id), label: runLabel(r) }))]}
        onChange={(runId) => onChange({ runId, model: "" })}
      />
      {run && run.targets.length > 1 && (
        <SelectField
          label={`${label} model`}
          testId={`${testId}-model`}
          value={choice.model}
          options={[{ value: "", label: "choose a model" }, ...run.targets.map((t) => ({ value: modelKey(t), label: modelKey(t) }))]}
          onChange={(model) => onChange({ ...choice, model })}
        />
      )}
    </>
  );
}

function Diff({ baseline, candidate }: { baseline: string; candidate: string }) {
  return (
    <p className="ia-diff" data-testid="ia-diff">
      New:{" "}
      {wordDiff(baseline, candidate).map((part, i) =>
        part.kind === "added" ? <ins key={i}>{part.text}</ins> : part.kind === "removed" ? <del key={i}>{part.text}</del> : <span key={i}>{part.text}</span>,
      )}
    </p>
  );
}

function Pair({ pair }: { pair: ComparedPair }) {
  const baseline = pair.baseline?.text ?? null;
  const candidate = pair.candidate?.text ?? null;
  return (
    <li data-testid="ia-pair" data-verdict={pair.verdict} data-record-id={pair.record_id}>
      <p>
        <strong>{recordSummary(pair.record)}</strong> <span className="aui-muted">({pair.verdict === "agree" ? "agree" : pair.verdict === "differ" ? "differ" : "missing an answer"})</span>
      </p>
      <p className={baseline === null ? "aui-field-error" : undefined}>Baseline: {pairAnswerText(pair.baseline)}</p>
      {baseline !== null && candidate !== null ? (
        <Diff baseline={baseline} candidate={candidate} />
      ) : (
        <p className={candidate === null ? "aui-field-error" : undefined}>New: {pairAnswerText(pair.candidate)}</p>
      )}
    </li>
  );
}

export function CompareRuns({ datasetId, revision }: { datasetId: number; revision: number }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [baseline, setBaseline] = useState<SideChoice>({ runId: "", model: "" });
  const [candidate, setCandidate] = useState<SideChoice>({ runId: "", model: "" });
  const [show, setShow] = useState<PairFilter>("all");
  // Where each page seen so far started, so Previous goes back exactly.
  const [starts, setStarts] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState<ComparePage | null>(null);
  // Counted by Rust on a comparison's first page only; kept while paging.
  const [summary, setSummary] = useState<CompareSummary | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    call("list_runs", { datasetId })
      .then((list) => live && (setRuns(list), setError(null)))
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, revision]);

  const sides = runs ? { baseline: sideOf(baseline, runs), candidate: sideOf(candidate, runs) } : null;
  const after = starts[starts.length - 1];
  const request = sides?.baseline && sides.candidate ? JSON.stringify({ baseline: sides.baseline, candidate: sides.candidate, filter: show, after, limit: COMPARE_PAGE_SIZE }) : null;

  useEffect(() => {
    if (!request) return setPage(null);
    let live = true;
    call("compare_answers", { query: JSON.parse(request) })
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

  // Another choice is another comparison: it starts on its first page.
  const restart = <T,>(set: (value: T) => void) => (value: T) => (set(value), setStarts([null]), setSummary(null));

  if (runs !== null && runs.length < 2 && !error) {
    return <EmptyState title="Nothing to compare yet" hint="Compare needs two runs of this dataset, or one run sent to two models." />;
  }
  return (
    <div data-testid="ia-compare-runs">
      <Toolbar>
        {runs && (
          <>
            <SidePicker label="Baseline" testId="ia-baseline" choice={baseline} runs={runs} onChange={restart(setBaseline)} />
            <SidePicker label="New" testId="ia-candidate" choice={candidate} runs={runs} onChange={restart(setCandidate)} />
          </>
        )}
        <SelectField label="Show" testId="ia-compare-show" value={show} options={SHOW} onChange={(v) => restart(setShow)(v as PairFilter)} />
      </Toolbar>
      {error && <ErrorState title="Could not compare the runs" detail={error} />}
      {runs === null && !error && (
        <p className="aui-muted" role="status">
          Loading runs…
        </p>
      )}
      {runs !== null && !request && !error && <p className="aui-muted">Choose a baseline and a new run (and a model where a run sent to several).</p>}
      {page && (
        <>
          {summary && <p data-testid="ia-compare-summary">{summaryText(summary)}</p>}
          {page.pairs.length === 0 ? (
            <p className="aui-muted">No records to show with this filter.</p>
          ) : (
            <ol className="ia-pairs">
              {page.pairs.map((pair) => (
                <Pair key={pair.record_id} pair={pair} />
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
