// The Remotes panel: each registry with its state after the last check, then
// every installed version per remote, with pin, unpin and roll back. Changes
// apply by re-resolving from the cache (a mounted remote offers them as
// "ready — Reload" in its slot).
import { useCallback, useEffect, useState } from "react";
import { EmptyState, ErrorState } from "@augment-it/ui-kit";
import { asCommandError, ipc, type RegistryView, type RemoteVersions, type RemoteView } from "./ipc";
import { formatTime, registryKind } from "./status";

export function RemotesPanel(props: {
  onChanged: () => Promise<void>;
  onCheck: () => Promise<void>;
  notify: (text: string) => void;
  /** The registries as the last check left them. */
  registries: RegistryView[];
  /** false until the first check has finished. */
  checked: boolean;
  /** The remotes as shown in the workspace: the sandboxed ones list their grants. */
  remotes?: RemoteView[];
}) {
  const { onChanged, notify } = props;
  const [rows, setRows] = useState<RemoteVersions[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  // A failed list shows in the panel with a retry (a note alone would leave "Loading…" up).
  const load = useCallback(async () => {
    try {
      setRows(await ipc.remoteVersions());
      setLoadError(null);
    } catch (err) {
      setLoadError(asCommandError(err).message);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
      await onChanged();
      await load();
    } catch (err) {
      notify(`${what} failed: ${asCommandError(err).message}`);
    }
  };

  return (
    <section className="panel" data-testid="remotes-panel">
      <div className="panel-head">
        <h2>Remotes</h2>
        <button type="button" onClick={() => void props.onCheck().then(load)}>
          Check for updates
        </button>
      </div>
      <Registries registries={props.registries} checked={props.checked} />
      <Grants remotes={props.remotes ?? []} act={act} />
      <h3>Installed versions</h3>
      {loadError && <ErrorState title="Could not list the installed versions" detail={loadError} onRetry={() => void load()} />}
      {rows === null ? (
        !loadError && (
          <p className="aui-muted" role="status">
            Loading the installed versions…
          </p>
        )
      ) : rows.length === 0 ? (
        <EmptyState
          title="Nothing is installed yet"
          hint={props.registries.length === 0 ? "Add a registry in Settings, then check for updates." : "Check for updates to install the remotes the registries offer."}
        />
      ) : (
        rows.map((remote) => (
          <article key={remote.name} className="remote-row" data-remote={remote.name}>
            <h3>{remote.name}</h3>
            <p>
              active <b>{remote.active ?? "—"}</b> · pinned <b>{remote.pinned ?? "no"}</b> · last known good <b>{remote.lastKnownGood ?? "—"}</b>
            </p>
            <div className="actions">
              {remote.pinned && (
                <button type="button" onClick={() => act("Unpin", () => ipc.unpinRemote(remote.name))}>
                  Unpin
                </button>
              )}
              <button type="button" onClick={() => act("Roll back", () => ipc.rollbackRemote(remote.name))}>
                Roll back
              </button>
            </div>
            <table>
              <thead>
                <tr>
                  <th>version</th>
                  <th>installed</th>
                  <th>registry</th>
                  <th><span className="visually-hidden">actions</span></th>
                </tr>
              </thead>
              <tbody>
                {remote.versions.map((v) => (
                  <tr key={v.version}>
                    <td>{v.version}</td>
                    <td>{formatTime(v.installedAt)}</td>
                    <td className="source">{v.registry}</td>
                    <td>
                      {remote.pinned !== v.version && (
                        <button type="button" onClick={() => act("Pin", () => ipc.pinRemote(remote.name, v.version))}>
                          Pin
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        ))
      )}
    </section>
  );
}

/** One row per registry: state, reason, when it last verified and last answered, its snapshot. */
function Registries({ registries, checked }: { registries: RegistryView[]; checked: boolean }) {
  if (!checked) {
    return (
      <p className="aui-muted" role="status">
        Checking the registries…
      </p>
    );
  }
  if (registries.length === 0) return <EmptyState title="No registry is configured" hint="The remotes come from the cache: add a registry in Settings to get updates." />;
  return (
    <table className="registry-rows">
      <thead>
        <tr>
          <th>registry</th>
          <th>state</th>
          <th>reason</th>
          <th>last verified</th>
          <th>last reached</th>
          <th>snapshot</th>
        </tr>
      </thead>
      <tbody>
        {registries.map((registry) => {
          const kind = registryKind(registry);
          const status = registry.status;
          return (
            <tr key={registry.url} data-testid="registry-row" data-registry={registry.url} data-state={kind}>
              <td className="source">
                {registry.url}
                {registry.fromLaunch && <span className="tag">command line</span>}
              </td>
              <td>
                <span className={`badge badge-${kind}`}>{kind}</span>
              </td>
              <td className="reason">{registry.error?.message ?? status?.reason ?? "—"}</td>
              <td>{formatTime(status?.lastVerifiedAt)}</td>
              <td>{formatTime(status?.lastReachedAt)}</td>
              <td>{status?.snapshotVersion ?? "—"}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** What each sandboxed remote was granted, revocable (issue 15, point 2): its next mount asks again. */
function Grants({ remotes, act }: { remotes: RemoteView[]; act: (what: string, action: () => Promise<unknown>) => Promise<void> }) {
  const sandboxed = remotes.filter((r) => r.sandboxed);
  if (sandboxed.length === 0) return null;
  return (
    <>
      <h3>Sandboxed remotes and what they may do</h3>
      <ul className="grants" data-testid="grants">
        {sandboxed.map((remote) => (
          <li key={remote.name} data-remote={remote.name}>
            <strong>{remote.displayName ?? remote.name}</strong>{" "}
            {remote.granted === null ? (
              <span className="muted">not asked yet</span>
            ) : remote.granted.length === 0 ? (
              <span className="muted">granted nothing</span>
            ) : (
              <span data-testid="granted">{remote.granted.join(", ")}</span>
            )}{" "}
            {remote.granted !== null && (
              <button
                type="button"
                data-testid="revoke"
                onClick={() => void act(`Revoking ${remote.name}`, () => ipc.revokeRemotePermissions(remote.name))}
              >
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
