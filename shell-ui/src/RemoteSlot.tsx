// One remote, mounted in its own error boundary. Whatever happens inside a
// remote (it is incompatible, not cached, fails to load, throws while
// rendering, never finishes mounting) is shown here with the remote's name,
// version and the reason, with a Retry; the rest of the shell keeps working.
//
// A version that fails in any of those ways before it has mounted is
// reported (`report_load_failure` with its phase), and the shell rolls back
// to the last known-good version when there is one. A version becomes known
// good only once it has mounted: its first commit went through without
// throwing (see RemoteContent).
//
// `data-state` on the slot is a contract for tests and tools:
// - `loading`: the entry is loading, or the remote has not committed its first render yet;
// - `mounted`: the remote's content is on screen;
// - `failed`: it cannot be shown (incompatible, not cached, failed to load,
//   threw, did not mount in time) and nothing was rolled back; `.fallback[data-why]` says why;
// - `rolled-back`: a version failed and the shell went back to the last
//   known-good one, which is loading or mounted in this slot
//   (`data-rolled-back-from` names the failed version, `data-version` the one shown,
//   `data-mounted` whether it is on screen yet);
// - `consent`: a sandboxed remote waits for the person to grant what it asks
//   for (`[data-testid=consent]`); nothing of it has loaded.
// `data-sandboxed` says whether the remote runs in a sandboxed frame.
import { Component, Suspense, useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { loadRemoteModule } from "./federation";
import { HOST_API_VERSION, type HostApi, type RemoteModule } from "./host-api";
import { ipc, type FailurePhase, type RemoteView, type Rollback } from "./ipc";
import { SandboxFrame } from "./SandboxFrame";
import { ConsentPrompt, needsConsent } from "./ConsentPrompt";

/**
 * How long a version may take from the start of its load to its first
 * committed render. Past it the version counts as failed (phase "timeout"):
 * an entry that never settles or a component that suspends forever must not
 * leave a slot on "Loading…" with nothing rolled back. Remotes load from the
 * local cache, so a healthy one mounts in well under a second.
 */
export const MOUNT_TIMEOUT_MS = 10_000;

/** The slot's `data-state` (see the top of this file). */
export type SlotDataState = "loading" | "mounted" | "failed" | "rolled-back" | "consent";

type Why = "incompatible" | "not cached while offline" | "failed to load" | "threw while rendering" | "did not mount in time";

const WHY: Record<FailurePhase, Why> = {
  load: "failed to load",
  render: "threw while rendering",
  timeout: "did not mount in time",
};

/** What went wrong, for notices: "failed while rendering". */
export function failureWords(phase: FailurePhase, timeoutMs: number = MOUNT_TIMEOUT_MS): string {
  switch (phase) {
    case "load":
      return "failed to load";
    case "render":
      return "failed while rendering";
    case "timeout":
      return `did not finish mounting within ${timeoutMs / 1000} s`;
  }
}

export interface Failure {
  phase: FailurePhase;
  detail: string;
}

/**
 * What a slot shows. Every state but loading names the entry (`for`, see
 * `loadKey`) it belongs to: on a new version the slot renders once with the
 * new props before its effect starts the new load, and that render must not
 * show the old module (or the old failure) under the new version.
 */
type SlotState =
  | { kind: "loading" }
  | { kind: "loaded"; for: string; module: RemoteModule; loadId: number; mounted: boolean }
  /** A sandboxed remote: its frame loads and mounts it, and says when. */
  | { kind: "sandbox"; for: string; loadId: number; mounted: boolean }
  | { kind: "failed"; for: string; why: Why; detail: string };

/** Which entry a state belongs to: the version, its entry URL and the retry attempt. */
function loadKey(remote: RemoteView, attempt: number): string {
  return `${remote.version ?? ""} ${remote.entryUrl ?? ""} ${attempt}`;
}

/** The load in progress: failures and mounts of an earlier one are ignored. */
interface Load {
  id: number;
  /** `loadKey` of the entry being loaded. */
  key: string;
  name: string;
  version: string;
  devOverride: boolean;
  current: boolean;
  loaded: boolean;
  mounted: boolean;
  failed: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

export interface RemoteSlotProps {
  remote: RemoteView;
  /** False while another screen is shown: the slot stays mounted (its work kept) but hidden. */
  onScreen?: boolean;
  /** Not loaded yet: the screen on show loads first (App.tsx). */
  waiting?: boolean;
  /** The registry could not be reached, so a missing version is "not cached while offline". */
  offline: boolean;
  /** A different version is ready but held back because this slot is mounted (updates never remount a remote in use). */
  update?: RemoteView | null;
  /** The user asked for the held-back version. */
  onApplyUpdate?: () => void;
  /** The shell rolled this remote back after it failed. */
  onRolledBack: (rollback: Rollback, failure: Failure) => void;
  /** Ask the shell to resolve again (used by Retry when no version could be chosen). */
  onResolveAgain: () => void;
  /** The person granted permissions: read the view again from the cache. */
  onPermissionsChanged?: () => void;
  /** Every change of the slot's state; `mounted` is true while the remote's content is committed. */
  onStateChange?: (name: string, state: SlotDataState, mounted: boolean) => void;
  /** Tests shorten the bound; the shell uses MOUNT_TIMEOUT_MS. */
  mountTimeoutMs?: number;
  /** What each permission allows, for the consent prompt (ShellView.permissionDescriptions). */
  permissionText?: Record<string, string>;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const message = err.message || err.name;
    // "TypeError: x is not a function" says more than the message alone.
    return err.name && err.name !== "Error" && !message.startsWith(err.name) ? `${err.name}: ${message}` : message;
  }
  return String(err);
}

export function RemoteSlot(props: RemoteSlotProps) {
  const { remote, offline, update, onApplyUpdate, onResolveAgain, waiting = false, mountTimeoutMs = MOUNT_TIMEOUT_MS, permissionText = {} } = props;
  // A sandboxed remote mounts only with the person's consent to what it asks for.
  const consent = needsConsent(remote);
  const [reviewing, setReviewing] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<SlotState>({ kind: "loading" });
  const [rolledBack, setRolledBack] = useState<(Rollback & Failure) | null>(null);
  // When the current load started: the mount time is logged (and benchmarked).
  const loadStarted = useRef(0);
  const load = useRef<Load | null>(null);
  // The parent's callbacks change identity on its re-renders; a new one must not reload the remote.
  const callbacks = useRef(props);
  callbacks.current = props;
  const title = remote.displayName ?? remote.name;
  const expose = remote.exposes[0] ?? "./App";

  const live = (id: number): Load | null => {
    const current = load.current;
    return current && current.id === id && current.current ? current : null;
  };

  /** The version of load `id` failed in `phase`: show it, report it once, follow a rollback. */
  const fail = useCallback((id: number, phase: FailurePhase, err: unknown) => {
    const current = load.current;
    if (!current || current.id !== id || !current.current || current.failed) return;
    current.failed = true;
    clearTimeout(current.timer);
    const { name, version, devOverride } = current;
    const detail = describeError(err);
    console.error(`remote ${name} ${version} ${failureWords(phase)}`, err);
    setState({ kind: "failed", for: current.key, why: WHY[phase], detail });
    // A dev override is not a cached version: nothing to roll back.
    if (devOverride) return;
    ipc.reportLoadFailure(name, version, detail, phase).then(
      (outcome) => {
        if (!outcome.rolledBack || !load.current || load.current.id !== id || !load.current.current) return;
        setRolledBack({ ...outcome.rolledBack, phase, detail });
        callbacks.current.onRolledBack(outcome.rolledBack, { phase, detail });
      },
      (reportErr: unknown) => console.error("could not report the failure", reportErr),
    );
  }, []);

  const mounted = useCallback((id: number) => {
    const current = load.current;
    if (!current || current.id !== id || !current.current || current.failed || current.mounted) return;
    current.mounted = true;
    performance.mark(`augment:${current.name}:mounted`);
    clearTimeout(current.timer);
    setState((s) => ((s.kind === "loaded" || s.kind === "sandbox") && s.loadId === id ? { ...s, mounted: true } : s));
    if (current.devOverride) return;
    ipc
      .markKnownGood(current.name, current.version, performance.now() - loadStarted.current)
      .catch((err: unknown) => console.error("could not mark known good", err));
  }, []);

  useEffect(() => {
    const { name, version, entryUrl, devOverride } = remote;
    if (!version || !entryUrl || consent || waiting) return;
    const id = (load.current?.id ?? 0) + 1;
    const key = loadKey(remote, attempt);
    const current: Load = { id, key, name, version, devOverride: devOverride != null, current: true, loaded: false, mounted: false, failed: false };
    load.current = current;
    setState({ kind: "loading" });
    loadStarted.current = performance.now();
    performance.mark(`augment:${name}:load`);
    const seconds = mountTimeoutMs / 1000;
    current.timer = setTimeout(() => {
      const stuck = current.loaded
        ? `its entry loaded, but its first render did not finish within ${seconds} s (it may be waiting on something that never resolves)`
        : `its entry did not finish loading within ${seconds} s`;
      fail(id, "timeout", new Error(stuck));
    }, mountTimeoutMs);
    if (remote.sandboxed) {
      setState({ kind: "sandbox", for: key, loadId: id, mounted: false });
      return () => {
        current.current = false;
        clearTimeout(current.timer);
      };
    }
    loadRemoteModule(name, entryUrl, expose, attempt).then(
      (module) => {
        if (!live(id) || current.failed) return;
        current.loaded = true;
        performance.mark(`augment:${name}:loaded`);
        setState({ kind: "loaded", for: key, module, loadId: id, mounted: false });
      },
      (err: unknown) => fail(id, "load", err),
    );
    return () => {
      current.current = false;
      clearTimeout(current.timer);
    };
    // The callbacks are stable or read through refs; only a new version, entry or retry reloads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [remote.name, remote.version, remote.entryUrl, remote.sandboxed, consent, waiting, expose, attempt, mountTimeoutMs]);

  // A rollback note belongs to the two versions it names; another version clears it.
  useEffect(() => {
    if (rolledBack && remote.version !== rolledBack.from && remote.version !== rolledBack.to) setRolledBack(null);
  }, [remote.version, rolledBack]);

  const retry = () => setAttempt((n) => n + 1);
  // A state left from another entry is not this one's: until the effect above starts the new load, say loading.
  const shown: SlotState = state.kind !== "loading" && state.for !== loadKey(remote, attempt) ? { kind: "loading" } : state;
  let body: ReactNode;
  let slotState: SlotDataState;
  let isMounted = false;
  if (!remote.version || !remote.entryUrl) {
    slotState = "failed";
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
  } else if (consent) {
    slotState = "consent";
    body = (
      <ConsentPrompt
        remote={remote}
        title={title}
        permissionText={permissionText}
        onDecided={() => (props.onPermissionsChanged ?? onResolveAgain)()}
      />
    );
  } else if (shown.kind === "loading") {
    slotState = "loading";
    body = <p className="loading">Loading {title} {remote.version}…</p>;
  } else if (shown.kind === "failed") {
    slotState = rolledBack && rolledBack.from === remote.version ? "rolled-back" : "failed";
    body = <Fallback title={title} version={remote.version} why={shown.why} detail={shown.detail} onRetry={retry} />;
  } else if (shown.kind === "sandbox") {
    isMounted = shown.mounted;
    slotState = isMounted ? "mounted" : "loading";
    const loadId = shown.loadId;
    body = (
      <SandboxFrame
        name={remote.name}
        version={remote.version}
        entryUrl={remote.entryUrl}
        expose={expose}
        attempt={attempt}
        title={title}
        onLoaded={() => {
          const current = live(loadId);
          if (current) current.loaded = true;
        }}
        onMounted={() => mounted(loadId)}
        onFailed={(phase, detail) => fail(loadId, phase, new Error(detail))}
      />
    );
  } else {
    isMounted = shown.mounted;
    slotState = isMounted ? "mounted" : "loading";
    const host: HostApi = { hostApiVersion: HOST_API_VERSION, remote: { name: remote.name, version: remote.version } };
    const version = remote.version;
    const loadId = shown.loadId;
    body = (
      <RemoteErrorBoundary
        key={attempt}
        onError={(error) => fail(loadId, "render", error)}
        fallback={(error) => (
          <Fallback title={title} version={version} why="threw while rendering" detail={describeError(error)} onRetry={retry} />
        )}
      >
        {/* A remote that suspends waits here, inside its slot, never in the shell's tree. */}
        <Suspense fallback={<p className="loading">Loading {title} {version}…</p>}>
          <RemoteContent module={shown.module} host={host} onMounted={() => mounted(loadId)} />
        </Suspense>
      </RemoteErrorBoundary>
    );
  }
  if (rolledBack && slotState !== "failed" && (remote.version === rolledBack.to || remote.version === rolledBack.from)) {
    slotState = "rolled-back";
  }

  useEffect(() => {
    callbacks.current.onStateChange?.(remote.name, slotState, isMounted);
  }, [remote.name, slotState, isMounted]);

  return (
    <section
      className="remote-slot"
      id={`remote-${remote.name}`}
      data-remote={remote.name}
      data-version={remote.version ?? ""}
      data-state={slotState}
      data-mounted={String(isMounted)}
      data-sandboxed={String(remote.sandboxed)}
      data-rolled-back-from={slotState === "rolled-back" ? rolledBack?.from : undefined}
      hidden={props.onScreen === false}
    >
      <header className="remote-slot-header">
        <h2>{title}</h2>
        <span className="version">{remote.version ?? "—"}</span>
        {remote.pinned && <span className="tag">pinned</span>}
        {remote.devOverride && (
          <span className="tag dev-override" data-testid="dev-override">
            dev override: {remote.devOverride.target}
          </span>
        )}
        <details className="slot-details" data-testid="slot-details">
          <summary>Details</summary>
          <dl>
            <dt>Version</dt>
            <dd>{remote.version ?? "none"}</dd>
            <dt>From</dt>
            <dd className="source" title="the registry this version came from">{remote.source ?? "—"}</dd>
            <dt>Runs</dt>
            <dd>{remote.sandboxed ? "sandboxed, with only what you granted" : "in the shell, first-party"}</dd>
          </dl>
        </details>
      </header>
      {remote.sandboxed && !consent && remote.heldBack && (
        <div className="held-back" data-testid="held-back" data-version={remote.heldBack.version} role="status">
          {title} {remote.heldBack.version} asks for more: {remote.heldBack.adds.join(", ")}. You are using {remote.version} until you allow it.{" "}
          <button type="button" data-testid="review-update" onClick={() => setReviewing(true)}>
            Review
          </button>
        </div>
      )}
      {reviewing && remote.heldBack && (
        <ConsentPrompt
          remote={{ ...remote, version: remote.heldBack.version, permissions: [...(remote.granted ?? []), ...remote.heldBack.adds] }}
          title={title}
          permissionText={permissionText}
          onDecided={() => {
            setReviewing(false);
            (props.onPermissionsChanged ?? onResolveAgain)();
          }}
        />
      )}
      {update?.version && (
        <div className="update-ready" data-testid="update-ready" data-version={update.version} role="status">
          {title} {update.version} is ready —{" "}
          <button type="button" data-testid="apply-update" onClick={onApplyUpdate}>
            Reload
          </button>
        </div>
      )}
      {rolledBack && slotState === "rolled-back" && (
        <p className="fallback-note" data-testid="rollback-note">
          {rolledBack.from} {failureWords(rolledBack.phase, mountTimeoutMs)} ({rolledBack.detail}); rolled back to {rolledBack.to}, the last known good
          version, and pinned it.
        </p>
      )}
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

/**
 * Renders the remote's component, or calls its mount(); reports the mount
 * once the first commit has settled. A remote that throws while rendering
 * never commits; one that throws in an effect of its first commit (or in
 * mount()) makes the error boundary replace this subtree before the settle
 * timer fires, and the cleanup cancels the report: only a remote that
 * really mounted is marked known good.
 */
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
    const settled = setTimeout(() => latest.current.onMounted());
    return () => {
      clearTimeout(settled);
      if (typeof unmount === "function") unmount();
    };
  }, [module]);
  if ("default" in module && typeof module.default === "function") {
    const RemoteComponent = module.default;
    return <RemoteComponent host={host} />;
  }
  return <div ref={element} />;
}

class RemoteErrorBoundary extends Component<
  { fallback: (error: unknown) => ReactNode; onError: (error: unknown) => void; children: ReactNode },
  { error: unknown }
> {
  state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error: error ?? new Error("unknown error") };
  }

  componentDidCatch(error: unknown) {
    console.error("a remote threw while rendering", error);
    this.props.onError(error ?? new Error("unknown error"));
  }

  render() {
    if (this.state.error) return this.props.fallback(this.state.error);
    return this.props.children;
  }
}
