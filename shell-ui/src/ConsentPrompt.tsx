// Consent like browser extensions (issue 15, point 2): before a sandboxed
// remote first mounts, and before an update that asks for more, the person
// sees what it asks for and allows or refuses. Nothing of the remote has
// loaded while this shows. The grant is written by a shell-only command
// (grant_remote_permissions), which a remote can never call.
import { useState } from "react";
import { ipc, type RemoteView } from "./ipc";

/** A sandboxed remote whose shown version asks for something not granted (or was never asked about). */
export function needsConsent(remote: RemoteView): boolean {
  if (!remote.sandboxed || !remote.version || !remote.entryUrl) return false;
  if (remote.granted === null) return true;
  return remote.permissions.some((p) => !remote.granted?.includes(p));
}

export interface ConsentPromptProps {
  remote: Pick<RemoteView, "name" | "version" | "permissions" | "source">;
  title: string;
  permissionText: Record<string, string>;
  /** Called once the grant is saved: the shell resolves again. */
  onDecided: () => void;
}

export function ConsentPrompt({ remote, title, permissionText, onDecided }: ConsentPromptProps) {
  const [refused, setRefused] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  if (refused) {
    return (
      <div className="consent refused" data-testid="consent-refused" role="status">
        <p>
          You did not allow {title}. It stays off until you review its permissions.
        </p>
        <button type="button" onClick={() => setRefused(false)}>
          Review permissions
        </button>
      </div>
    );
  }
  const allow = async () => {
    setSaving(true);
    setError(null);
    try {
      await ipc.grantRemotePermissions(remote.name, remote.permissions);
      onDecided();
    } catch (err) {
      setError(err && typeof err === "object" && "message" in err ? String(err.message) : String(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <div className="consent" data-testid="consent" data-version={remote.version ?? ""} role="dialog" aria-label={`Permissions for ${title}`}>
      <h3>
        {title} {remote.version} asks for
      </h3>
      {remote.permissions.length === 0 ? (
        <p>No permissions: it can only show things and read what is not sensitive.</p>
      ) : (
        <ul className="permissions">
          {remote.permissions.map((p) => (
            <li key={p} data-permission={p}>
              <code>{p}</code> — {permissionText[p] ?? "unknown permission"}
            </li>
          ))}
        </ul>
      )}
      <p className="muted">
        From {remote.source ?? "an unknown registry"}. It runs sandboxed: it never sees your keys, and it can only do what you allow
        here. You can revoke this on the Remotes page.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" data-testid="consent-allow" disabled={saving} onClick={() => void allow()}>
        Allow
      </button>{" "}
      <button type="button" data-testid="consent-refuse" disabled={saving} onClick={() => setRefused(true)}>
        Don’t allow
      </button>
    </div>
  );
}
