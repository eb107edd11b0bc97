// One remote, mounted in its own error boundary. Whatever happens inside a
// remote (it is incompatible, not cached, fails to load, throws while
// rendering) is shown here with the remote's name, version and the reason,
// with a Retry; the rest of the shell keeps working.
import { Component, useEffect, useRef, useState, type ReactNode } from "react";
import { loadRemoteModule } from "./federation";
import { HOST_API_VERSION, type HostApi, type RemoteModule } from "./host-api";
import { ipc, type RemoteView, type Rollback } from "./ipc";

type Why = "incompatible" | "not cached while offline" | "failed to load" | "threw while rendering";

type SlotState =
  | { kind: "loading" }
  | { kind: "loaded"; module: RemoteModule }
  | { kind: "failed"; why: Why; detail: string };

export interface RemoteSlotProps {
  remote: RemoteView;
  /** The registry could not be reached, so a missing version is "not cached while offline". */
  offline: boolean;
  /** The shell rolled this remote back after a failed load. */
  onRolledBack: (rollback: Rollback, reason: string) => void;
  /** Ask the shell to resolve again (used by Retry when no version could be chosen). */
  onResolveAgain: () => void;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export function RemoteSlot({ remote, offline, onRolledBack, onResolveAgain }: RemoteSlotProps) {
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<SlotState>({ kind: "loading" });
  // When the current load started: the mount time is logged (and benchmarked).
  const loadStarted = useRef(0);
  const title = remote.displayName ?? remote.name;
  const expose = remote.exposes[0] ?? "./App";

  useEffect(() => {
    const { name, version, entryUrl, devOverride } = remote;
    if (!version || !entryUrl) return;
    let cancelled = false;
    setState({ kind: "loading" });
    loadStarted.current = performance.now();
    const failed = async (err: unknown) => {
      if (cancelled) return;
      const detail = describeError(err);
      console.error(`remote ${name} ${version} failed to load`, err);
      setState({ kind: "failed", why: "failed to load", detail });
      // A dev override is not a cached version: nothing to roll back.
      if (devOverride) return;
      try {
        const outcome = await ipc.reportLoadFailure(name, version, detail);
        if (outcome.rolledBack && !cancelled) onRolledBack(outcome.rolledBack, detail);
      } catch (reportErr) {
        console.error("could not report the load failure", reportErr);
      }
    };
    loadRemoteModule(name, entryUrl, expose, attempt).then((module) => {
      if (!cancelled) setState({ kind: "loaded", module });
    }, failed);
    return () => {
      cancelled = true;
    };
    // onRolledBack is a callback from the parent; a new identity must not reload the remote.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [remote.name, remote.version, remote.entryUrl, expose, attempt]);

  const retry = () => setAttempt((n) => n + 1);
  let body: ReactNode;
  let slotState: string;
  if (!remote.version || !remote.entryUrl) {
    slotState = "unavailable";
    // The resolver says "incompatible" for every remote it cannot select; when
    // the registry is unreachable and the cache never had a fitting version,
    // the actionable reason is that it is not cached.
    const notCached = offline && /does not offer|not in the registry|nothing .* cached/i.test(remote.reason ?? "");
    body = (
      <Fallback
        title={title}
        version={null}
        why={notCached ? "not cached while offline" : "incompatible"}
        detail={remote.reason ?? "no version of this remote is available"}
        onRetry={onResolveAgain}
      />
    );
  } else if (state.kind === "loading") {
    slotState = "loading";
    body = <p className="loading">Loading {title} {remote.version}…</p>;
  } else if (state.kind === "failed") {
    slotState = "failed";
    body = <Fallback title={title} version={remote.version} why={state.why} detail={state.detail} onRetry={retry} />;
  } else {
    slotState = "loaded";
    const host: HostApi = { hostApiVersion: HOST_API_VERSION, remote: { name: remote.name, version: remote.version } };
    const version = remote.version;
    body = (
      <RemoteErrorBoundary
        key={attempt}
        fallback={(error) => (
          <Fallback title={title} version={version} why="threw while rendering" detail={describeError(error)} onRetry={retry} />
        )}
      >
        <RemoteContent
          module={state.module}
          host={host}
          onMounted={() => {
            if (remote.devOverride) return;
            ipc.markKnownGood(remote.name, version, performance.now() - loadStarted.current).catch((err) => console.error("could not mark known good", err));
          }}
        />
      </RemoteErrorBoundary>
    );
  }

  return (
    <section className="remote-slot" id={`remote-${remote.name}`} data-remote={remote.name} data-version={remote.version ?? ""} data-state={slotState}>
      <header className="remote-slot-header">
        <h2>{title}</h2>
        <span className="version">{remote.version ?? "—"}</span>
        {remote.pinned && <span className="tag">pinned</span>}
        {remote.devOverride && (
          <span className="tag dev-override" data-testid="dev-override">
            dev override: {remote.devOverride.target}
          </span>
        )}
        {remote.source && <span className="source" title="the registry this version came from">{remote.source}</span>}
      </header>
      {remote.version && remote.reason && (
        <p className="fallback-note" data-testid="fallback-reason">
          Using {remote.version}: {remote.reason}
        </p>
      )}
      <div className="remote-body">{body}</div>
    </section>
  );
}

function Fallback(props: { title: string; version: string | null; why: Why; detail: string; onRetry: () => void }) {
  return (
    <div className="fallback" role="alert" data-why={props.why}>
      <strong>
        {props.title}
        {props.version ? ` ${props.version}` : ""} cannot be shown: {props.why}
      </strong>
      <p className="detail">{props.detail}</p>
      <button type="button" className="retry" onClick={props.onRetry}>
        Retry
      </button>
    </div>
  );
}

/** Renders the remote's component, or calls its mount(); reports the first successful mount. */
function RemoteContent({ module, host, onMounted }: { module: RemoteModule; host: HostApi; onMounted: () => void }) {
  const element = useRef<HTMLDivElement>(null);
  // Latest props without re-running the mount effect: a remote is mounted
  // once per loaded module, not on every shell re-render.
  const latest = useRef({ host, onMounted });
  latest.current = { host, onMounted };
  useEffect(() => {
    let unmount: (() => void) | void = undefined;
    if ("mount" in module && typeof module.mount === "function" && element.current) {
      unmount = module.mount(element.current, latest.current.host);
    }
    latest.current.onMounted();
    return () => {
      if (typeof unmount === "function") unmount();
    };
  }, [module]);
  if ("default" in module && typeof module.default === "function") {
    const RemoteComponent = module.default;
    return <RemoteComponent host={host} />;
  }
  return <div ref={element} />;
}

class RemoteErrorBoundary extends Component<{ fallback: (error: unknown) => ReactNode; children: ReactNode }, { error: unknown }> {
  state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error ?? new Error("unknown error") };
  }

  componentDidCatch(error: unknown) {
    console.error("a remote threw while rendering", error);
  }

  render() {
    if (this.state.error) return this.props.fallback(this.state.error);
    return this.props.children;
  }
}
