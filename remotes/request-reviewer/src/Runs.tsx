// Sending the approved requests: start a run (or resume an unfinished one),
// follow its `run-event`s, cancel it, and tell the other remotes when it
// started and finished.
import { useCallback, useEffect, useRef, useState } from "react";
import { call, onRunEvent, type RunEvent, type RunProgress } from "@augment-it/host-client";
import { shellBus } from "@augment-it/messaging";
import { Button, EmptyState, ErrorState } from "@augment-it/ui-kit";
import { describeError, isResumable, progressFraction, progressText } from "./logic";
import { useBusy } from "./useBusy";

export interface RunsProps {
  datasetId: number;
  templateVersionId: number;
  /** Called when a followed run ends, so the requests reload (answered flags). */
  onFinished: () => void;
}

function progressOf(event: RunEvent): RunProgress | null {
  return event.kind === "started" || event.kind === "progress" || event.kind === "finished" ? event.progress : null;
}

export function Runs({ datasetId, templateVersionId, onFinished }: RunsProps) {
  const [run, setRun] = useState<RunProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  // null until the shell has listed them.
  const [unfinished, setUnfinished] = useState<RunProgress[] | null>(null);
  const [unfinishedError, setUnfinishedError] = useState<string | null>(null);
  const [lastFailure, setLastFailure] = useState<string | null>(null);
  // Send every request even when the AI cache has its answer (host API 1.4.0: `noCache`).
  const [noCache, setNoCache] = useState(false);
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
      const early = seen.current.get(progress.run_id);
      const current = early ?? { progress, finished: progress.status !== "running" };
      setRun(current.progress);
      setError(null);
      if (current.finished) announceFinished(current.progress);
    },
    [announceFinished],
  );

  const start = () =>
    act("start", async () => {
      try {
        const progress = await call("start_run", { datasetId, templateVersionId, noCache });
        shellBus().emit("run.started", { runId: progress.run_id, datasetId, total: progress.total });
        follow(progress);
      } catch (err) {
        setError(describeError(err));
      }
    });

  const resume = (runId: number) =>
    act(`resume-${runId}`, async () => {
      try {
        const progress = await call("resume_run", { runId });
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

  const running = run?.status === "running";
  return (
    <div className="rr-runs">
      <h2>Run</h2>
      <Button variant="primary" data-testid="rr-run" disabled={busy("start") || running} onClick={() => void start()}>
        Send approved requests
      </Button>
      <label className="aui-field" title="Each request is sent to its provider even if the same request was answered before; the fresh answers replace the cached ones.">
        <span>Don't use cached answers</span>
        <input type="checkbox" data-testid="rr-no-cache" checked={noCache} disabled={busy("start") || running} onChange={(e) => setNoCache(e.target.checked)} />
      </label>
      {running && run && (
        <Button data-testid="rr-cancel" disabled={busy("cancel")} onClick={() => void cancel(run.run_id)}>
          Cancel run
        </Button>
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
          </p>
          <progress max={1} value={progressFraction(run)} aria-label="Run progress" />
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
