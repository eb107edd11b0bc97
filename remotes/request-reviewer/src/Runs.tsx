// Sending the approved requests: start a run (or resume an unfinished one),
// follow its `run-event`s (retries, waits for a rate limit, concurrency
// changes and why it stops), pause or cancel it, and tell the other remotes
// when it started and finished.
import { useCallback, useEffect, useRef, useState } from "react";
import { call, onRunEvent, type RunEvent, type RunProgress } from "@augment-it/host-client";
import { shellBus } from "@augment-it/messaging";
import { Button, EmptyState, ErrorState } from "@augment-it/ui-kit";
import {
  MAX_REPEATS,
  assertionsOf,
  batchBlocker,
  describeError,
  isResumable,
  parseBudget,
  parseRepeats,
  progressFraction,
  progressText,
  waitNotices,
  type WaitNotice,
} from "./logic";
import { RunChecksSummary } from "./RunChecksSummary";
import { useBusy } from "./useBusy";

export interface RunsProps {
  datasetId: number;
  templateVersionId: number;
  /** Called when a followed run ends, so the requests reload (answered flags). */
  onFinished: () => void;
  /** How many times the run asks each prompt, as typed (host API 1.7.0: `repeats`); the estimate shares it. */
  repeats: string;
  onRepeatsChange: (text: string) => void;
}

function progressOf(event: RunEvent): RunProgress | null {
  return event.kind === "started" || event.kind === "progress" || event.kind === "finished" ? event.progress : null;
}

export function Runs({ datasetId, templateVersionId, onFinished, repeats, onRepeatsChange }: RunsProps) {
  const [run, setRun] = useState<RunProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  // null until the shell has listed them.
  const [unfinished, setUnfinished] = useState<RunProgress[] | null>(null);
  const [unfinishedError, setUnfinishedError] = useState<string | null>(null);
  const [lastFailure, setLastFailure] = useState<string | null>(null);
  // Send every request even when the AI cache has its answer (host API 1.4.0: `noCache`).
  const [noCache, setNoCache] = useState(false);
  // The run's budget cap in dollars, as typed (host API 1.5.0: `maxCostUsd`); empty for none.
  const [budget, setBudget] = useState("");
  // Through the provider's batch API at its batch price (host API 1.6.0: `batch`).
  const [batch, setBatch] = useState(false);
  // Checks scoring each answer, one per line as typed (host API 1.6.0: `assertions`).
  const [checks, setChecks] = useState("");
  // The followed batch run's latest word from its provider ("batch_… in_progress").
  const [batchStatus, setBatchStatus] = useState<string | null>(null);
  // What the followed run waits for now, one line per request (retries, rate-limit resets).
  const [waits, setWaits] = useState<WaitNotice[]>([]);
  const [concurrency, setConcurrency] = useState<string | null>(null);
  const [stopping, setStopping] = useState<string | null>(null);
  const { busy, run: act } = useBusy();
  const followed = useRef<number | null>(null);
  // Events can arrive before start_run answers: keep the latest per run.
  const seen = useRef(new Map<number, { progress: RunProgress; finished: boolean }>());
  const announced = useRef(new Set<number>());
  const latest = useRef({ datasetId, onFinished });
  latest.current = { datasetId, onFinished };

  // A failed list is the list's error (with a retry), not the error of an action.
  const listUnfinished = useCallback((live: () => boolean = () => true) => {
    call("unfinished_runs").then(
      (runs) => live() && (setUnfinished(runs), setUnfinishedError(null)),
      (err: unknown) => live() && setUnfinishedError(describeError(err)),
    );
  }, []);

  const announceFinished = useCallback((progress: RunProgress) => {
    if (announced.current.has(progress.run_id) || progress.status === "running") return;
    announced.current.add(progress.run_id);
    shellBus().emit("run.finished", {
      runId: progress.run_id,
      datasetId: latest.current.datasetId,
      answered: progress.answered,
      failed: progress.failed,
      status: progress.status,
    });
    // A run that stopped with requests left (offline, cancelled) is offered for resume at once.
    setUnfinished((list) => [...(list ?? []).filter((r) => r.run_id !== progress.run_id), ...(isResumable(progress) ? [progress] : [])]);
    latest.current.onFinished();
  }, []);

  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let live = true;
    void onRunEvent((event) => {
      if (event.kind === "failed" && followed.current === event.runId) setLastFailure(`request ${event.requestId}: ${event.message}`);
      if (followed.current === event.runId) {
        setWaits((current) => waitNotices(current, event));
        if (event.kind === "concurrencyChanged") setConcurrency(event.message);
        if (event.kind === "stopping") setStopping(event.reason);
        if (event.kind === "batch") setBatchStatus(event.message);
      }
      const progress = progressOf(event);
      if (!progress) return;
      seen.current.set(event.runId, { progress, finished: event.kind === "finished" });
      if (followed.current !== event.runId) return;
      setRun(progress);
      if (event.kind === "finished") announceFinished(progress);
    }).then((stop) => (live ? (unlisten = stop) : stop()));
    listUnfinished(() => live);
    return () => {
      live = false;
      unlisten?.();
    };
  }, [announceFinished, listUnfinished]);

  const follow = useCallback(
    (progress: RunProgress) => {
      followed.current = progress.run_id;
      setLastFailure(null);
      setWaits([]);
      setConcurrency(null);
      setStopping(null);
      setBatchStatus(null);
      const early = seen.current.get(progress.run_id);
      const current = early ?? { progress, finished: progress.status !== "running" };
      setRun(current.progress);
      setError(null);
      if (current.finished) announceFinished(current.progress);
    },
    [announceFinished],
  );

  const cap = parseBudget(budget);
  const assertions = assertionsOf(checks);
  const blocker = batchBlocker(cap);
  const asBatch = batch && blocker === null;
  const repeatCount = parseRepeats(repeats);
  const start = () =>
    act("start", async () => {
      try {
        if (cap === "invalid" || repeatCount === "invalid") return;
        const progress = await call("start_run", {
          datasetId,
          templateVersionId,
          noCache,
          ...(cap === null ? {} : { maxCostUsd: cap }),
          ...(asBatch ? { batch: true } : {}),
          ...(assertions.length > 0 ? { assertions } : {}),
          // Only above 1, so a run asking once reads as it always did.
          ...(repeatCount > 1 ? { repeats: repeatCount } : {}),
        });
        shellBus().emit("run.started", { runId: progress.run_id, datasetId, total: progress.total });
        follow(progress);
      } catch (err) {
        setError(describeError(err));
      }
    });

  const resume = (runId: number) =>
    act(`resume-${runId}`, async () => {
      try {
        // What this run said before it stopped (finished, paused) is not what it says now.
        seen.current.delete(runId);
        if (cap === "invalid") return;
        // A cap typed in the field is the resumed run's new cap (e.g. to go on after "budget reached").
        const progress = await call("resume_run", { runId, ...(cap === null ? {} : { maxCostUsd: cap }) });
        announced.current.delete(runId);
        shellBus().emit("run.started", { runId, datasetId, total: progress.total });
        follow(progress);
      } catch (err) {
        setError(describeError(err));
      }
    });

  const cancel = (runId: number) =>
    act("cancel", async () => {
      try {
        await call("cancel_run", { runId });
      } catch (err) {
        setError(describeError(err));
      }
    });

  const pause = (runId: number) =>
    act("pause", async () => {
      try {
        await call("pause_run", { runId });
      } catch (err) {
        setError(describeError(err));
      }
    });

  const running = run?.status === "running";
  return (
    <div className="rr-runs">
      <h2>Run</h2>
      <Button variant="primary" data-testid="rr-run" disabled={busy("start") || running || cap === "invalid" || repeatCount === "invalid"} onClick={() => void start()}>
        Send approved requests
      </Button>
      <label className="aui-field" title="Each request is sent to its provider even if the same request was answered before; the fresh answers replace the cached ones.">
        <span>Don't use cached answers</span>
        <input type="checkbox" data-testid="rr-no-cache" checked={noCache} disabled={busy("start") || running} onChange={(e) => setNoCache(e.target.checked)} />
      </label>
      <label className="aui-field" title="The run pauses once its answers cost this much at list prices; requests in flight still finish. A cap typed here when you resume a run becomes its new cap.">
        <span>Budget cap (USD, optional)</span>
        <input
          type="text"
          inputMode="decimal"
          data-testid="rr-budget"
          value={budget}
          placeholder="no cap"
          disabled={busy("start") || running}
          aria-invalid={cap === "invalid"}
          onChange={(e) => setBudget(e.target.value)}
        />
      </label>
      {cap === "invalid" && (
        <p className="aui-field-error" data-testid="rr-budget-error">
          Type an amount in dollars above 0, such as 2.50, or leave it empty for no cap.
        </p>
      )}
      <label
        className="aui-field"
        title="Each approved prompt is asked this many times, each answer kept apart, to see whether the model answers the same way (the Insight Assembler's Stability panel). The run costs as many times as much."
      >
        <span>Repeats (1 to {MAX_REPEATS})</span>
        <input
          type="number"
          min={1}
          max={MAX_REPEATS}
          step={1}
          data-testid="rr-repeats"
          value={repeats}
          disabled={busy("start") || running}
          aria-invalid={repeatCount === "invalid"}
          onChange={(e) => onRepeatsChange(e.target.value)}
        />
      </label>
      {repeatCount === "invalid" && (
        <p className="aui-field-error" data-testid="rr-repeats-error">
          Type a whole number from 1 to {MAX_REPEATS}: how many times each prompt is asked.
        </p>
      )}
      <label className="aui-field" title="One check per line, scored on each answer: contains:TEXT, regex:PATTERN, json, range:/field:MIN:MAX, judge:PROVIDER/MODEL:QUESTION.">
        <span>Checks (optional, one per line)</span>
        <textarea
          data-testid="rr-checks"
          rows={3}
          value={checks}
          placeholder={"contains:refund\njson\nrange:/score:0:10"}
          disabled={busy("start") || running}
          onChange={(e) => setChecks(e.target.value)}
        />
      </label>
      <label className="aui-field" title={blocker ?? "OpenAI and Anthropic answer a batch within 24 hours at half the price; quitting the app does not lose it, resume collects it."}>
        <span>Send as a batch (batch price, answers within 24 h)</span>
        <input type="checkbox" data-testid="rr-batch" checked={asBatch} disabled={busy("start") || running || blocker !== null} onChange={(e) => setBatch(e.target.checked)} />
      </label>
      {running && run && (
        <>
          <Button data-testid="rr-pause" disabled={busy("pause") || stopping !== null} onClick={() => void pause(run.run_id)} title="Send nothing new; the requests in flight finish. Resume it later.">
            {stopping === null ? "Pause run" : "Pausing…"}
          </Button>
          <Button data-testid="rr-cancel" disabled={busy("cancel")} onClick={() => void cancel(run.run_id)}>
            Cancel run
          </Button>
        </>
      )}
      {error && (
        <p className="aui-field-error" role="alert" data-testid="rr-run-error">
          {error}
        </p>
      )}
      {run && (
        <div data-testid="rr-run-status" data-status={run.status} data-run-id={run.run_id}>
          <p>
            Run {run.run_id} {run.status}: {progressText(run)}
            {(run.repeats ?? 1) > 1 && ` (each prompt asked ${run.repeats} times)`}
          </p>
          {batchStatus && (
            <p className="aui-muted" role="status" data-testid="rr-batch-status">
              {batchStatus}
            </p>
          )}
          <progress max={1} value={progressFraction(run)} aria-label="Run progress" />
          <RunChecksSummary runId={run.run_id} status={run.status} />
          {running && waits.length > 0 && (
            <ul className="aui-muted" role="status" data-testid="rr-run-waits">
              {waits.map((w) => (
                <li key={w.requestId}>{w.message}</li>
              ))}
            </ul>
          )}
          {running && concurrency && (
            <p className="aui-muted" data-testid="rr-run-concurrency">
              {concurrency}
            </p>
          )}
          {stopping && (
            <p data-testid="rr-run-stop" role="status">
              {running ? `Stopping: ${stopping}. The requests in flight finish first.` : `Stopped: ${stopping}.`}
            </p>
          )}
          {lastFailure && <p className="aui-muted">Last failure: {lastFailure}</p>}
        </div>
      )}
      {unfinishedError ? (
        <ErrorState
          title="Could not list the unfinished runs"
          detail={unfinishedError}
          onRetry={() => {
            setUnfinishedError(null);
            listUnfinished();
          }}
        />
      ) : unfinished === null ? (
        <p className="aui-muted" role="status">
          Loading unfinished runs…
        </p>
      ) : (
        unfinished.length === 0 &&
        !run && (
          <EmptyState title="No unfinished runs" hint="Send the approved requests to start a run; one that stops with requests left is offered here to resume." />
        )
      )}
      {unfinished && unfinished.length > 0 && (
        <div>
          <h3>Unfinished runs</h3>
          <ul>
            {unfinished.map((r) => (
              <li key={r.run_id}>
                Run {r.run_id} ({r.status}): {progressText(r)}{" "}
                <Button
                  data-testid={`rr-resume-${r.run_id}`}
                  disabled={busy(`resume-${r.run_id}`) || (running && run?.run_id === r.run_id)}
                  onClick={() => void resume(r.run_id)}
                >
                  Resume
                </Button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
