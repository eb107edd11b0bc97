// The Remotes panel: every installed version per remote, with pin, unpin
// and roll back. Changes apply at once by re-resolving from the cache.
import { useCallback, useEffect, useState } from "react";
import { asCommandError, ipc, type RemoteVersions } from "./ipc";
import { formatTime } from "./status";

export function RemotesPanel(props: { onChanged: () => Promise<void>; onCheck: () => Promise<void>; notify: (text: string) => void }) {
  const { onChanged, notify } = props;
  const [rows, setRows] = useState<RemoteVersions[] | null>(null);

  const load = useCallback(async () => {
    try {
      setRows(await ipc.remoteVersions());
    } catch (err) {
      notify(`Could not list versions: ${asCommandError(err).message}`);
    }
  }, [notify]);

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
      {rows === null ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <p className="muted">Nothing is installed yet.</p>
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
                  <th />
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
