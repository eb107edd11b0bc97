// Settings: registries in priority order (first wins), each with the trust
// anchor used on first contact, and how often to check them for updates.
// Saved to settings.json in the config dir.
import { useCallback, useEffect, useState } from "react";
import { EmptyState, ErrorState } from "@augment-it/ui-kit";
import { KeysPanel } from "./KeysPanel";
import { asCommandError, ipc, type RegistryConfig, type RegistryView, type SettingsView } from "./ipc";

/** The longest interval between update checks (a week); src-tauri/src/settings.rs refuses more. */
export const MAX_UPDATE_CHECK_MINUTES = 7 * 24 * 60;

/** The interval field's text as minutes, or why it is not one. */
export function parseCheckMinutes(text: string): { minutes: number } | { error: string } {
  const trimmed = text.trim();
  const minutes = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || minutes > MAX_UPDATE_CHECK_MINUTES) {
    return {
      error: `"${trimmed}" is not an interval: enter whole minutes from 1 to ${MAX_UPDATE_CHECK_MINUTES} (a week), or 0 to check only at start and on request.`,
    };
  }
  return { minutes };
}

export function SettingsPage(props: { notify: (text: string) => void; onSaved: () => Promise<void>; registries: RegistryView[] }) {
  const { notify } = props;
  const [view, setView] = useState<SettingsView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [rows, setRows] = useState<RegistryConfig[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [minutes, setMinutes] = useState("");
  const [minutesError, setMinutesError] = useState<string | null>(null);

  // The form waits for the saved settings: saving a form that never loaded would replace them with blanks.
  const load = useCallback(() => {
    ipc.getSettings().then(
      (loaded) => {
        setView(loaded);
        setRows(loaded.saved.registries);
        setMinutes(String(loaded.updateCheckMinutes));
        setLoadError(null);
      },
      (err) => setLoadError(asCommandError(err).message),
    );
  }, []);
  useEffect(load, [load]);

  const update = (i: number, patch: Partial<RegistryConfig>) => setRows((list) => list.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  const move = (i: number, by: number) =>
    setRows((list) => {
      const j = i + by;
      if (j < 0 || j >= list.length) return list;
      const next = [...list];
      [next[i], next[j]] = [next[j], next[i]];
      return next;
    });

  const save = async () => {
    const registries = rows.map((r) => ({ url: r.url.trim(), trust: r.trust?.trim() ? r.trust.trim() : null }));
    const interval = parseCheckMinutes(minutes);
    if ("error" in interval) {
      setMinutesError(interval.error);
      return;
    }
    setMinutesError(null);
    try {
      await ipc.saveSettings({ registries, updateCheckMinutes: interval.minutes });
      setError(null);
      notify("Settings saved; checking the registries.");
      await props.onSaved();
    } catch (err) {
      setError(asCommandError(err).message);
    }
  };

  const statusOf = (url: string) => props.registries.find((r) => r.url === url);

  if (view === null) {
    return (
      <>
        <section className="panel" data-testid="settings">
          <h2>Registries</h2>
          {loadError ? (
            <ErrorState title="Could not read the settings" detail={loadError} onRetry={load} />
          ) : (
            <p className="aui-muted" role="status">
              Loading the settings…
            </p>
          )}
        </section>
        <KeysPanel />
      </>
    );
  }

  return (
    <>
    <section className="panel" data-testid="settings">
      <h2>Registries</h2>
      <p className="muted">In priority order: a remote comes from the first registry that offers a compatible version.</p>
      {view?.launchRegistry && (
        <p>
          From the command line (used first, not saved): <code>{view.launchRegistry.url}</code>
        </p>
      )}
      {rows.length === 0 && (
        <EmptyState title="No registry saved" hint="Add a registry: the remotes then come from it, checked for updates, instead of only from the cache." />
      )}
      <ol className="registries">
        {rows.map((row, i) => (
          <li key={i}>
            <input aria-label="registry URL" value={row.url} placeholder="https://registry.example/ or /path/to/registry" onChange={(e) => update(i, { url: e.target.value })} />
            <input aria-label="trusted key" value={row.trust ?? ""} placeholder="public key (hex) or path to .pub / root.json" onChange={(e) => update(i, { trust: e.target.value })} />
            <label title="First-party: its remotes run in the shell's page with every command. Otherwise they run sandboxed, with only the permissions you grant.">
              <input type="checkbox" aria-label="first-party registry" checked={row.trusted ?? false} onChange={(e) => update(i, { trusted: e.target.checked })} /> first-party
            </label>
            <button type="button" onClick={() => move(i, -1)} disabled={i === 0}>
              ↑
            </button>
            <button type="button" onClick={() => move(i, 1)} disabled={i === rows.length - 1}>
              ↓
            </button>
            <button type="button" onClick={() => setRows((list) => list.filter((_, j) => j !== i))}>
              Remove
            </button>
            {statusOf(row.url)?.status && <span className="muted"> {statusOf(row.url)?.status?.state}</span>}
          </li>
        ))}
      </ol>
      <button type="button" onClick={() => setRows((list) => [...list, { url: "", trust: "" }])}>
        Add registry
      </button>
      <h2>Updates</h2>
      <p>
        <label>
          Check the registries for updates every{" "}
          <input
            aria-label="minutes between update checks"
            data-testid="update-check-minutes"
            inputMode="numeric"
            size={6}
            value={minutes}
            aria-invalid={minutesError ? true : undefined}
            onChange={(e) => setMinutes(e.target.value)}
          />{" "}
          minutes
        </label>
        <span className="muted"> (0 = only at start and on request). A new version of a remote in use waits for you to reload it.</span>
      </p>
      {minutesError && (
        <p className="error" role="alert" data-testid="update-check-error">
          {minutesError}
        </p>
      )}
      <button type="button" onClick={save}>
        Save
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {view && <p className="muted">Saved in {view.path}</p>}
    </section>
    <KeysPanel />
    </>
  );
}
