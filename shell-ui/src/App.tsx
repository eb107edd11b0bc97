// The shell: header with the registry status, "Check for updates", the
// pages and the theme; the sidebar of resolved remotes (the workflow's steps
// in order, then any other remote); one screen at a time (routes.ts).
//
// Every remote stays mounted once loaded, hidden while another screen is
// shown, so moving between screens never loses work in one.
//
// Start-up is offline first: the cache's selection paints at once, then a
// background registry check (in Rust) reports through an event. The check
// runs again every `updateCheckMinutes` (settings; 0 = off) from a timer
// here, so the button, the start-up check and the timer share one path.
//
// Updates never destroy work: a resolved view that brings another version
// of a mounted remote only offers it ("… is ready — Reload"; updates.ts).
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { useHashLocation } from "wouter/use-hash-location";
import { asCommandError, ipc, onDevRemoteChanged, onNavigationRefused, onRegistryChecked, onRegistryCheckFailed, type RegistryView, type RemoteView, type Rollback, type UiState } from "./ipc";
import { badgeFor } from "./status";
import { RemoteSlot, failureWords, type Failure, type SlotDataState } from "./RemoteSlot";
import { applyReady, applyResolved, isOlderGrants, type Workspace } from "./updates";
import { Toaster } from "@augment-it/ui-kit";
import { bus } from "./bus";
import { firstScreen, parseRoute, routeOf, sidebarGroups, startRoute, type ShellPage } from "./routes";
import { ThemeContext, useAppliedTheme } from "./theme";
import { ShortcutsHelp, useShortcuts } from "./shortcuts";

// The pages behind the header's buttons load when first opened: the first
// paint parses only what the workspace needs.
const RemotesPanel = lazy(() => import("./RemotesPanel").then((m) => ({ default: m.RemotesPanel })));
const StackPanel = lazy(() => import("./StackPanel").then((m) => ({ default: m.StackPanel })));
const SettingsPage = lazy(() => import("./SettingsPage").then((m) => ({ default: m.SettingsPage })));

const PAGE_LINKS: { page: ShellPage; label: string }[] = [
  { page: "remotes", label: "Remotes" },
  { page: "stack", label: "Local stack" },
  { page: "settings", label: "Settings" },
];

export function App() {
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [registries, setRegistries] = useState<RegistryView[]>([]);
  const [checked, setChecked] = useState(false);
  const [checking, setChecking] = useState(false);
  const [notices, setNotices] = useState<string[]>([]);
  const [location, navigate] = useHashLocation();
  const screen = parseRoute(location);
  // null until ui.json is read; then what is saved there (the last screen, the theme).
  const [uiState, setUiState] = useState<UiState | null>(null);
  const theme = useAppliedTheme(uiState?.theme ?? "system");
  // null until the settings are read; 0 = no periodic check.
  const [checkMinutes, setCheckMinutes] = useState<number | null>(null);
  const [permissionText, setPermissionText] = useState<Record<string, string>>({});
  // The remotes whose slot is mounted now (reported by the slots).
  const mountedSlots = useRef(new Set<string>());
  const remotes = workspace?.shown ?? null;

  const notify = useCallback((text: string) => setNotices((list) => [...list.slice(-4), text]), []);

  // Saved settings Rust skipped (a dev-override folder gone, a malformed registry): each told once.
  const toldProblems = useRef(new Set<string>());
  const tellProblems = useCallback(
    (problems: string[] | undefined) => {
      for (const problem of problems ?? []) {
        if (toldProblems.current.has(problem)) continue;
        toldProblems.current.add(problem);
        notify(`Settings skipped: ${problem}`);
      }
    },
    [notify],
  );

  /** A resolved list of remotes: applied at once, except another version of a mounted remote, which waits for Reload. */
  const showResolved = useCallback((list: RemoteView[]) => {
    setWorkspace((current) => applyResolved(current, list, (name) => mountedSlots.current.has(name)));
  }, []);

  // The newest grants revision shown (ShellView.grantsRevision): a view read
  // before the person's last consent answer must not undo it on screen.
  const grantsShown = useRef(0);

  const refreshFromCache = useCallback(async () => {
    try {
      const view = await ipc.remotesFromCache();
      performance.mark("augment:remotes-read");
      if (isOlderGrants(view, grantsShown.current)) return;
      grantsShown.current = view.grantsRevision;
      showResolved(view.remotes);
      setPermissionText(view.permissionDescriptions ?? {});
      tellProblems(view.problems);
    } catch (err) {
      notify(`Could not read the cache: ${asCommandError(err).message}`);
    }
  }, [notify, showResolved, tellProblems]);

  const readCheckInterval = useCallback(async () => {
    try {
      setCheckMinutes((await ipc.getSettings()).updateCheckMinutes);
    } catch (err) {
      notify(`Could not read the settings: ${asCommandError(err).message}`);
    }
  }, [notify]);

  // "Checking" is set before asking, never after the reply: the check's
  // result event can arrive before the reply, and only that event (or a
  // failure to start) may end it. A `false` reply means a check is already
  // running; its event ends this one too.
  const checkForUpdates = useCallback(async () => {
    setChecking(true);
    try {
      await ipc.checkForUpdates();
    } catch (err) {
      setChecking(false);
      notify(`Could not check for updates: ${asCommandError(err).message}`);
    }
  }, [notify]);

  useEffect(() => {
    const unlisteners: Promise<() => void>[] = [
      onRegistryChecked((view) => {
        if (isOlderGrants(view, grantsShown.current)) {
          // The check's versions are in the cache by now; read them with the current grants.
          void refreshFromCache();
        } else {
          grantsShown.current = view.grantsRevision;
          showResolved(view.remotes);
        }
        setPermissionText(view.permissionDescriptions ?? {});
        tellProblems(view.problems);
        setRegistries(view.registries);
        setChecked(true);
        setChecking(false);
        // Remotes that show the registries (the Admin Dashboard) read the last one, also when mounted later.
        bus.emit("registries.checked", { checkedAt: Math.floor(Date.now() / 1000), registries: view.registries });
      }),
      // Dev mode: a new entry URL (a new revision in its path) remounts the remote.
      onDevRemoteChanged((change) => {
        setWorkspace(
          (current) =>
            current && { ...current, shown: current.shown.map((r) => (r.name === change.remote ? { ...r, entryUrl: change.entryUrl } : r)) },
        );
      }),
      onNavigationRefused(({ url }) => notify(`Refused to leave the shell page for ${url}: remotes run inside the shell only.`)),
      onRegistryCheckFailed((err) => {
        setChecking(false);
        setChecked(true);
        notify(`Registry check failed: ${err.message}`);
      }),
    ];
    // Paint from the cache while the listeners register; ask for the
    // background check only once both are done, so its event cannot be missed.
    Promise.all([...unlisteners, refreshFromCache()])
      .then(checkForUpdates)
      .catch((err) => notify(`Start-up failed: ${asCommandError(err).message}`));
    return () => {
      unlisteners.forEach((p) => p.then((unlisten) => unlisten()));
    };
  }, [refreshFromCache, checkForUpdates, notify, showResolved, tellProblems]);

  // The periodic background check; the interval is re-read when the settings are saved.
  useEffect(() => {
    void readCheckInterval();
  }, [readCheckInterval]);
  useEffect(() => {
    if (!checkMinutes || checkMinutes <= 0) return;
    const timer = setInterval(() => void checkForUpdates(), checkMinutes * 60_000);
    return () => clearInterval(timer);
  }, [checkMinutes, checkForUpdates]);

  useEffect(() => {
    ipc.getUiState().then(
      (read) => {
        performance.mark("augment:ui-state-read");
        setUiState(read);
      },
      (err) => {
        notify(`Could not read the last screen and theme: ${asCommandError(err).message}`);
        setUiState({ lastRoute: null, theme: "system" });
      },
    );
  }, [notify]);

  // Where to open, once the cache and ui.json are read: a deep link stays,
  // else the last screen, else the first one (see routes.ts). A start with
  // no remotes yet waits on "/"; the first check's remotes open the first screen.
  const started = useRef(false);
  useEffect(() => {
    if (!uiState || !remotes) return;
    const firstTime = !started.current;
    started.current = true;
    if (!firstTime && location !== "/") return;
    const route = startRoute(location, firstTime ? uiState.lastRoute : null, remotes);
    if (route !== location) navigate(route, { replace: true });
  }, [uiState, remotes, location, navigate]);

  const saveUiState = useCallback(
    (next: UiState) => {
      setUiState(next);
      ipc.saveUiState(next).catch((err) => notify(`Could not save the last screen and theme: ${asCommandError(err).message}`));
    },
    [notify],
  );
  // The screen shown is saved, so the next start opens it.
  const onAScreen = screen !== null;
  useEffect(() => {
    if (!started.current || !uiState || !onAScreen || uiState.lastRoute === location) return;
    saveUiState({ ...uiState, lastRoute: location });
  }, [location, onAScreen, uiState, saveUiState]);

  const [helpOpen, setHelpOpen] = useState(false);
  useShortcuts((action) => {
    if (action.kind === "screen") navigate(routeOf(action.screen));
    else if (action.kind === "check") void checkForUpdates();
    else setHelpOpen(true);
  });

  const onSettingsSaved = useCallback(async () => {
    await readCheckInterval();
    await checkForUpdates();
  }, [readCheckInterval, checkForUpdates]);

  const titleOf = useCallback(
    (name: string) => workspace?.shown.find((r) => r.name === name)?.displayName ?? name,
    [workspace],
  );

  const onRolledBack = useCallback(
    (rollback: Rollback, failure: Failure) => {
      notify(
        `${titleOf(rollback.name)} ${rollback.from} ${failureWords(failure.phase)} (${failure.detail}); rolled back to ${rollback.to}, the last known good version, and pinned it.`,
      );
      void refreshFromCache();
    },
    [notify, refreshFromCache, titleOf],
  );

  const applyUpdate = useCallback((name: string) => {
    setWorkspace((current) => current && applyReady(current, name));
  }, []);

  // The screen on show loads alone; the hidden ones wait until it has settled
  // (mounted, failed or asking for consent), so an analyst's first screen does
  // not share the machine with four others. A page, or a remote that is not
  // installed, has nothing to wait for.
  const [hiddenMayLoad, setHiddenMayLoad] = useState(false);
  const shownRemote = screen?.kind === "remote" ? screen.name : null;
  const shownRemoteRef = useRef(shownRemote);
  shownRemoteRef.current = shownRemote;
  // Each slot's last reported state: a slot can settle (asking for consent,
  // no version to load) before the start route names it.
  const slotStates = useRef(new Map<string, SlotDataState>());
  useEffect(() => {
    const shownSettled = shownRemote !== null && (slotStates.current.get(shownRemote) ?? "loading") !== "loading";
    const nothingToWaitFor = screen?.kind === "page" || (remotes && shownRemote && !remotes.some((r) => r.name === shownRemote));
    if (shownSettled || nothingToWaitFor) setHiddenMayLoad(true);
  }, [screen?.kind, shownRemote, remotes]);

  const onSlotState = useCallback((name: string, state: SlotDataState, mounted: boolean) => {
    slotStates.current.set(name, state);
    if (name === shownRemoteRef.current && state !== "loading") setHiddenMayLoad(true);
    if (mounted) {
      mountedSlots.current.add(name);
      return;
    }
    mountedSlots.current.delete(name);
    // A slot that failed holds no work: a version waiting for it is mounted now.
    if (state === "failed") setWorkspace((current) => current && applyReady(current, name));
  }, []);

  // Remotes that show remote state (the Admin Dashboard) reload on this.
  useEffect(() => {
    if (remotes) bus.emit("remotes.changed", { reason: "the shell's remote list changed" });
  }, [remotes]);

  const badge = badgeFor(registries, checked);
  const offline = badge.kind === "offline" || badge.kind === "error";

  return (
    <div className="shell">
      <header className="topbar">
        <h1>Augment-It</h1>
        <span className={`badge badge-${badge.kind}`} data-testid="registry-status" data-state={badge.kind} title={badge.detail || undefined}>
          {badge.text}
        </span>
        <button type="button" data-testid="check-updates" disabled={checking} onClick={checkForUpdates}>
          {checking ? "Checking…" : "Check for updates"}
        </button>
        <nav className="pages" aria-label="Pages">
          {PAGE_LINKS.map(({ page, label }) => (
            <a
              key={page}
              href={`#${routeOf({ kind: "page", page })}`}
              data-testid={`open-${page}`}
              aria-current={screen?.kind === "page" && screen.page === page ? "page" : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        <button type="button" data-testid="open-shortcuts" title="Keyboard shortcuts (?)" onClick={() => setHelpOpen(true)}>
          ?
        </button>
        <label className="theme-choice">
          Theme{" "}
          <select
            data-testid="theme"
            value={uiState?.theme ?? "system"}
            disabled={!uiState}
            onChange={(event) => uiState && saveUiState({ ...uiState, theme: event.target.value as UiState["theme"] })}
          >
            <option value="system">System</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
      </header>
      {notices.length > 0 && (
        <ul className="notices" data-testid="notices">
          {notices.map((text, i) => (
            <li key={i}>{text}</li>
          ))}
        </ul>
      )}
      <div className="body">
        <aside className="sidebar">
          {remotes === null ? (
            <p className="muted">Reading the cache…</p>
          ) : remotes.length === 0 ? (
            <p className="muted">No remotes yet. Add a registry in Settings, then check for updates.</p>
          ) : (
            <nav data-testid="remote-nav" aria-label="Remotes">
              {Object.entries(sidebarGroups(remotes)).map(([group, list]) =>
                list.length === 0 ? null : (
                  <section key={group} className="nav-group">
                    <h2>{group === "workflow" ? "Workflow" : "Other remotes"}</h2>
                    <ol className="remote-nav">
                      {list.map((remote) => (
                        <li key={remote.name} data-remote={remote.name}>
                          <a
                            href={`#${routeOf({ kind: "remote", name: remote.name })}`}
                            data-testid={`nav-${remote.name}`}
                            aria-current={screen?.kind === "remote" && screen.name === remote.name ? "page" : undefined}
                            className={remote.version ? "" : "unavailable"}
                          >
                            {remote.displayName ?? remote.name}
                          </a>
                          <span className="version">{remote.version ?? "unavailable"}</span>
                          {workspace?.ready[remote.name]?.version && (
                            <span className="tag update" title="a new version is ready: Reload it in its screen">
                              {workspace.ready[remote.name]?.version} ready
                            </span>
                          )}
                          {remote.devOverride && (
                            <span className="tag dev-override" data-testid="dev-override" title="dev mode: not from a registry, never cached">
                              dev override: {remote.devOverride.target}
                            </span>
                          )}
                        </li>
                      ))}
                    </ol>
                  </section>
                ),
              )}
            </nav>
          )}
        </aside>
        <main>
          {screen === null && location !== "/" && (
            <div className="panel" data-testid="no-screen" role="alert">
              <p>There is no screen at {location}.</p>
              <a href={`#${remotes ? routeOf(firstScreen(remotes) ?? { kind: "page", page: "remotes" }) : "/"}`}>Go to the first screen</a>
            </div>
          )}
          {screen?.kind === "remote" && remotes && !remotes.some((r) => r.name === screen.name) && (
            <div className="panel" data-testid="no-screen" role="alert">
              <p>{screen.name} is not installed.</p>
              <a href={`#${routeOf({ kind: "page", page: "remotes" })}`}>See the remotes</a>
            </div>
          )}
          <ThemeContext.Provider value={theme}>
            <div className="workspace" hidden={screen?.kind !== "remote"}>
              {remotes?.map((remote) => (
                <RemoteSlot
                  key={remote.name}
                  remote={remote}
                  onScreen={shownRemote === remote.name}
                  waiting={!hiddenMayLoad && shownRemote !== remote.name}
                  offline={offline}
                  update={workspace?.ready[remote.name] ?? null}
                  onApplyUpdate={() => applyUpdate(remote.name)}
                  onRolledBack={onRolledBack}
                  onResolveAgain={checkForUpdates}
                  onPermissionsChanged={refreshFromCache}
                  permissionText={permissionText}
                  onStateChange={onSlotState}
                />
              ))}
            </div>
          </ThemeContext.Provider>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            {screen?.kind === "page" && screen.page === "remotes" && (
              <RemotesPanel
                onChanged={refreshFromCache}
                onCheck={checkForUpdates}
                notify={notify}
                registries={registries}
                checked={checked}
                remotes={remotes ?? []}
              />
            )}
            {screen?.kind === "page" && screen.page === "stack" && <StackPanel />}
            {screen?.kind === "page" && screen.page === "settings" && (
              <SettingsPage notify={notify} onSaved={onSettingsSaved} registries={registries} />
            )}
          </Suspense>
        </main>
      </div>
      <ShortcutsHelp open={helpOpen} onClose={() => setHelpOpen(false)} />
      <Toaster />
    </div>
  );
}
