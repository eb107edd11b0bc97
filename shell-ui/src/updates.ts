// Updates never destroy work: a resolved view that brings another version of
// a remote whose slot is mounted does not replace it. The slot keeps the
// version it shows (its files stay served from the cache under their
// versioned mfe:// URL) and the new one waits as "ready" until the user
// clicks Reload, or the slot stops being mounted (it failed, say). Every
// mounted remote counts as in use: the workspace only hides it while another
// page is open, so its state (a half-written template) lives on.
import type { RemoteView } from "./ipc";

export interface Workspace {
  /** What the slots show, in the resolver's order. */
  shown: RemoteView[];
  /** Per remote: the version the resolver chose, held back while its slot is mounted. */
  ready: Record<string, RemoteView>;
}

/** Would mounting `incoming` replace what the slot shows with other code? */
function changesCode(shown: RemoteView, incoming: RemoteView): boolean {
  return incoming.version !== null && incoming.entryUrl !== null && incoming.entryUrl !== shown.entryUrl;
}

/**
 * Takes a resolved list of remotes: what is not mounted is applied at once;
 * a mounted remote keeps what it shows and the new version becomes ready
 * (or, when no version is usable any more, keeps running what it has).
 * Dev overrides always apply (dev mode remounts on every change on purpose).
 */
export function applyResolved(current: Workspace | null, incoming: RemoteView[], isMounted: (name: string) => boolean): Workspace {
  const ready: Record<string, RemoteView> = {};
  const shown = incoming.map((remote) => {
    const showing = current?.shown.find((r) => r.name === remote.name);
    if (!showing || remote.devOverride || !isMounted(remote.name)) return remote;
    if (changesCode(showing, remote)) {
      ready[remote.name] = remote;
      return showing;
    }
    // No usable version any more: the mounted one keeps working until the next start.
    if (remote.version === null && showing.version !== null) return showing;
    return remote;
  });
  return { shown, ready };
}

/** Mounts the ready version of `name` (Reload, or its slot is no longer mounted). */
export function applyReady(current: Workspace, name: string): Workspace {
  const next = current.ready[name];
  if (!next) return current;
  const { [name]: _applied, ...ready } = current.ready;
  return { shown: current.shown.map((r) => (r.name === name ? next : r)), ready };
}

/**
 * Was `view` read before grant changes that the page already shows? Its
 * remotes must not be shown: a background check that read the grants before
 * the person answered a consent prompt would bring the prompt back.
 */
export function isOlderGrants(view: { grantsRevision: number }, shown: number): boolean {
  return view.grantsRevision < shown;
}
