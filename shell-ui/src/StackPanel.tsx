// The "Local stack" panel: start and stop the sidecar containers through
// Docker or Podman, each service's state, health and port, the live logs of
// one service, and which parser the last records import used. The work runs
// in Rust (commands/stack.rs); this page only renders its events.
import { useCallback, useEffect, useState } from "react";
import { ErrorState } from "@augment-it/ui-kit";
import { asCommandError } from "./ipc";
import { onStackLog, onStackProgress, onStackStatus, stackIpc, type ServiceView, type StackView } from "./stackIpc";

/** Log lines kept on screen: enough to read, bounded so a chatty service cannot grow the page. */
const MAX_LOG_LINES = 500;

function label(s: ServiceView): string {
  if (s.state === "running") return s.health === "healthy" ? "healthy" : s.health === "unhealthy" ? "running, not answering" : "running";
  if (s.state === "missing") return "missing";
  if (s.state === "exited" || s.state === "dead" || s.state === "created") return "stopped";
  return s.state;
}

export function StackPanel() {
  const [view, setView] = useState<StackView | null>(null);
  // Why the stack's state could not be read (no engine, the usual case), with a retry.
  const [statusError, setStatusError] = useState<string | null>(null);
  // Why Start, Stop or Logs failed, shown once one was clicked.
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<"up" | "down" | null>(null);
  // The last line of the binaries' build `up` runs first in a source checkout.
  const [building, setBuilding] = useState<string | null>(null);
  const [following, setFollowing] = useState<string | null>(null);
  const [lines, setLines] = useState<string[]>([]);

  const refresh = useCallback(async () => {
    try {
      const next = await stackIpc.status();
      setView(next);
      setBusy(next.busy);
      setStatusError(null);
      setError(null);
    } catch (err) {
      // The newer news: an older action's error no longer stands beside it.
      setStatusError(asCommandError(err).message);
      setError(null);
    }
  }, []);

  // An action's failure is the newer news: it replaces the last read's error.
  const failed = useCallback((message: string) => {
    setStatusError(null);
    setError(message);
  }, []);

  useEffect(() => {
    const unlisteners = [
      onStackStatus((next) => {
        setView(next);
        setStatusError(null);
      }),
      onStackProgress((p) => {
        if (p.phase === "started") {
          setBusy(p.operation);
          setBuilding(p.building ?? null);
          return;
        }
        setBusy(null);
        setBuilding(null);
        if (p.error) failed(p.error.message);
        else void refresh();
      }),
      onStackLog((l) => setLines((all) => [...all, `${l.line}`].slice(-MAX_LOG_LINES))),
    ];
    // Listen first so no event of a running operation is missed, then ask.
    void Promise.all(unlisteners).then(refresh);
    return () => unlisteners.forEach((p) => void p.then((unlisten) => unlisten()));
  }, [refresh, failed]);

  const run = async (operation: "up" | "down") => {
    setError(null);
    try {
      if (operation === "down" && following) setFollowing(null);
      const started = operation === "up" ? await stackIpc.up() : await stackIpc.down();
      // The "started" event sets busy; its "failed" may arrive before this
      // reply does, so the reply must not set it again.
      if (!started) void refresh();
    } catch (err) {
      failed(asCommandError(err).message);
    }
  };

  const follow = async (service: string) => {
    setError(null);
    try {
      if (following) await stackIpc.stopLogs(following);
      setLines([]);
      await stackIpc.followLogs(service);
      setFollowing(service);
    } catch (err) {
      failed(asCommandError(err).message);
    }
  };

  const unfollow = async () => {
    if (!following) return;
    await stackIpc.stopLogs(following).catch(() => false);
    setFollowing(null);
  };

  return (
    <section className="panel" data-testid="stack-panel">
      <div className="panel-head">
        <h2>Local stack</h2>
        <div>
          <button type="button" data-testid="stack-start" disabled={busy !== null} onClick={() => void run("up")}>
            {busy === "up" ? "Starting…" : "Start"}
          </button>{" "}
          <button type="button" data-testid="stack-stop" disabled={busy !== null} onClick={() => void run("down")}>
            {busy === "down" ? "Stopping…" : "Stop"}
          </button>
        </div>
      </div>
      {statusError && (
        <div data-testid="stack-error">
          <ErrorState title="Could not read the local stack's state" detail={statusError} onRetry={() => void refresh()} />
        </div>
      )}
      {error && (
        <p className="error" data-testid="stack-error" role="alert">
          {error}
        </p>
      )}
      {view === null && statusError === null && error === null && (
        <p className="aui-muted" role="status">
          Loading the local stack's state…
        </p>
      )}
      {view && (
        <>
          <p
            className="muted"
            data-testid="stack-summary"
            data-healthy={String(view.healthy)}
            data-stopped={String(view.services.every((s) => s.state === "missing"))}
          >
            Stack <b>{view.stack}</b> on {view.engine.kind} ({view.engine.endpoint}, API {view.engine.api_version}):{" "}
            {view.healthy ? "all services healthy" : view.services.every((s) => s.state === "missing") ? "not running" : "not all healthy"}
            {busy && ` — ${busy === "up" ? "starting" : "stopping"}…`}
          </p>
          {building && (
            <p className="muted" data-testid="stack-building" role="status">
              Building the service binaries: {building}
            </p>
          )}
          {view.versionMismatch && (
            <p className="notice" data-testid="stack-version-mismatch" role="status">
              {view.versionMismatch}
            </p>
          )}
          <table className="stack-services">
            <thead>
              <tr>
                <th>service</th>
                <th>status</th>
                <th>port</th>
                <th><span className="visually-hidden">actions</span></th>
              </tr>
            </thead>
            <tbody>
              {view.services.map((s) => (
                <tr key={s.service} data-service={s.service} data-state={s.state} data-health={s.health}>
                  <td>{s.service}</td>
                  <td className="status" title={s.detail ?? undefined}>
                    {label(s)}
                  </td>
                  <td className="version">{s.port ? `127.0.0.1:${s.port}` : "—"}</td>
                  <td>
                    <button type="button" className="logs" onClick={() => void follow(s.service)} disabled={s.state === "missing"}>
                      Logs
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted" data-testid="stack-last-import">
            Last records import: {view.lastImport === null ? "none yet" : view.lastImport === "service" ? "parsers service (local stack)" : "in-process parser"}
          </p>
        </>
      )}
      {following && (
        <div data-testid="stack-log-panel" data-service={following}>
          <div className="panel-head">
            <h3>Logs of {following}</h3>
            <button type="button" onClick={() => void unfollow()}>
              Stop following
            </button>
          </div>
          <pre data-testid="stack-logs" style={{ maxHeight: 300, overflow: "auto", background: "#0f172a", color: "#e2e8f0", padding: 8, fontSize: 12 }}>
            {lines.join("\n")}
          </pre>
        </div>
      )}
    </section>
  );
}
