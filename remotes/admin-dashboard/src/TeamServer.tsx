// Team server (issue 18, point 2): sign in to a team's auth service with a
// user name and password; the shell keeps the session token in the OS
// keychain and never sends it back. Admins manage the team's users and API
// tokens here; a new token's secret is shown once, for copying.
import { useCallback, useEffect, useState } from "react";
import { asCommandError, call, type CreatedTeamToken, type TeamSession, type TeamToken, type TeamUser } from "@augment-it/host-client";
import { Badge, Button, EmptyState, ErrorState, SelectField, TextField } from "@augment-it/ui-kit";

export const ROLES = ["admin", "publisher", "analyst", "viewer"] as const;
export const SCOPES = [
  { name: "read", label: "read" },
  { name: "run", label: "run" },
  { name: "publish", label: "publish" },
  { name: "yank", label: "yank" },
  { name: "registry:tokens", label: "registry:tokens" },
] as const;

const EMPTY_SIGN_IN = { url: "", username: "", password: "" };
const EMPTY_USER = { name: "", role: "analyst", password: "" };
const EMPTY_TOKEN = { name: "", scopes: ["read"] as string[], days: "90" };

function PasswordField({ label, value, onChange, testId, autoComplete }: { label: string; value: string; onChange: (v: string) => void; testId: string; autoComplete: string }) {
  return (
    <label className="aui-field">
      <span>{label}</span>
      <input type="password" autoComplete={autoComplete} value={value} data-testid={testId} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

/** "until 5 Dec 2026, 14:00" for an RFC 3339 time. */
function until(at: string): string {
  const when = new Date(at);
  return Number.isNaN(when.getTime()) ? at : when.toLocaleString();
}

/** The new token's secret, once, with a Copy button. */
function NewToken({ created, onDone }: { created: CreatedTeamToken; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied("Copied.");
    } catch {
      setCopied("Could not copy: select the token and copy it by hand.");
    }
  };
  return (
    <div className="admin-team-new-token" role="region" aria-label="New API token" data-testid="team-new-token">
      <p>
        <strong>Copy the token “{created.token.description ?? created.token.id}” now: it is shown only this once.</strong> The server keeps only its hash.
      </p>
      <label className="aui-field">
        <span>API token</span>
        <input readOnly value={created.secret} data-testid="team-new-token-secret" onFocus={(e) => e.target.select()} />
      </label>
      <Button onClick={() => void copy()}>Copy</Button> <Button onClick={onDone}>Done</Button>
      {copied && <p role="status">{copied}</p>}
    </div>
  );
}

export function TeamServer() {
  const [session, setSession] = useState<TeamSession | null | undefined>(undefined);
  const [users, setUsers] = useState<TeamUser[]>([]);
  const [tokens, setTokens] = useState<TeamToken[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [signIn, setSignIn] = useState(EMPTY_SIGN_IN);
  const [userForm, setUserForm] = useState(EMPTY_USER);
  const [tokenForm, setTokenForm] = useState(EMPTY_TOKEN);
  const [created, setCreated] = useState<CreatedTeamToken | null>(null);

  const loadTeam = useCallback(async (current: TeamSession | null) => {
    if (current?.role !== "admin") {
      setUsers([]);
      setTokens([]);
      return;
    }
    const [u, t] = await Promise.all([call("team_users"), call("team_tokens")]);
    setUsers(u);
    setTokens(t);
  }, []);

  const reload = useCallback(async () => {
    try {
      const current = await call("team_session");
      setSession(current);
      await loadTeam(current);
      setError(null);
    } catch (err) {
      setSession(null);
      setError(asCommandError(err).message);
    }
  }, [loadTeam]);
  useEffect(() => void reload(), [reload]);

  const act = async (work: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await work();
    } catch (err) {
      setActionError(asCommandError(err).message);
    }
    // An expired session is dropped by the shell: ask again who is signed in.
    await reload();
  };

  const submitSignIn = () => {
    const typed = signIn;
    // The password leaves the page's state as soon as it is sent.
    setSignIn({ ...typed, password: "" });
    return act(() => call("team_sign_in", { url: typed.url.trim(), username: typed.username.trim(), password: typed.password }));
  };

  const addUser = () => {
    const typed = userForm;
    setUserForm(EMPTY_USER);
    return act(() => call("team_create_user", { name: typed.name.trim(), role: typed.role, password: typed.password }));
  };

  const addToken = () =>
    act(async () => {
      const made = await call("team_create_token", { name: tokenForm.name.trim(), scopes: tokenForm.scopes, expiresInDays: Number(tokenForm.days) });
      setCreated(made);
      setTokenForm(EMPTY_TOKEN);
    });

  const toggleScope = (name: string) =>
    setTokenForm((f) => ({ ...f, scopes: f.scopes.includes(name) ? f.scopes.filter((s) => s !== name) : [...f.scopes, name] }));

  const userName = (id: string) => users.find((u) => u.id === id)?.name ?? id;
  const days = Number(tokenForm.days);

  return (
    <section className="admin-team" data-testid="admin-team" aria-labelledby="admin-team-title">
      <h2 id="admin-team-title">Team server</h2>
      <p className="aui-muted">Sign in to your team's auth service to manage its users and API tokens. The session is kept in the OS keychain.</p>
      {error && <ErrorState title="Team server" detail={error} onRetry={() => void reload()} />}
      {session === undefined && !error && (
        <p className="aui-muted" role="status">
          Checking the sign-in…
        </p>
      )}

      {session === null && (
        <form
          className="admin-team-sign-in"
          aria-label="Sign in to a team server"
          onSubmit={(e) => {
            e.preventDefault();
            void submitSignIn();
          }}
        >
          <TextField label="Server URL" value={signIn.url} placeholder="https://auth.example.com" testId="team-url" onChange={(url) => setSignIn({ ...signIn, url })} />
          <TextField label="User name" value={signIn.username} testId="team-username" onChange={(username) => setSignIn({ ...signIn, username })} />
          <PasswordField label="Password" value={signIn.password} testId="team-password" autoComplete="current-password" onChange={(password) => setSignIn({ ...signIn, password })} />
          <Button type="submit" variant="primary" disabled={!signIn.url.trim() || !signIn.username.trim() || !signIn.password}>
            Sign in
          </Button>
        </form>
      )}

      {session && (
        <p data-testid="team-signed-in">
          Signed in to <strong>{session.server}</strong> as <strong>{session.user}</strong> <Badge tone="neutral">{session.role}</Badge>{" "}
          <span className="aui-muted">until {until(session.expiresAt)}</span>{" "}
          <Button onClick={() => void act(() => call("team_sign_out"))}>Sign out</Button>
        </p>
      )}
      {actionError && (
        <p className="aui-field-error" role="alert" data-testid="admin-team-error">
          {actionError}
        </p>
      )}

      {session?.role === "admin" && (
        <>
          <h3>Users</h3>
          {users.length === 0 ? (
            <EmptyState title="No users" />
          ) : (
            <ul className="admin-team-users" aria-label="Team users">
              {users.map((user) => (
                <li key={user.id} data-testid="team-user">
                  <strong>{user.name}</strong> <Badge tone="neutral">{user.role}</Badge>{" "}
                  {user.name !== session.user && (
                    <Button onClick={() => void act(() => call("team_delete_user", { name: user.name }))} aria-label={`Delete user ${user.name}`}>
                      Delete
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <form
            className="admin-team-add-user"
            aria-label="Add a user"
            onSubmit={(e) => {
              e.preventDefault();
              void addUser();
            }}
          >
            <TextField label="New user's name" value={userForm.name} testId="team-new-user" onChange={(name) => setUserForm({ ...userForm, name })} />
            <SelectField label="Role" value={userForm.role} options={ROLES.map((r) => ({ value: r, label: r }))} onChange={(role) => setUserForm({ ...userForm, role })} />
            <PasswordField label="New user's password" value={userForm.password} testId="team-new-user-password" autoComplete="new-password" onChange={(password) => setUserForm({ ...userForm, password })} />
            <Button type="submit" disabled={!userForm.name.trim() || !userForm.password}>
              Add user
            </Button>
          </form>

          <h3>API tokens</h3>
          {created && <NewToken created={created} onDone={() => setCreated(null)} />}
          {tokens.length === 0 ? (
            <EmptyState title="No tokens" />
          ) : (
            <table className="admin-team-tokens" aria-label="Team tokens">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>User</th>
                  <th>Kind</th>
                  <th>Scopes</th>
                  <th>Expires</th>
                  <th>State</th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((token) => (
                  <tr key={token.id} data-testid="team-token">
                    <td>{token.description ?? token.id}</td>
                    <td>{userName(token.userId)}</td>
                    <td>{token.kind}</td>
                    <td>{token.scopes.join(", ")}</td>
                    <td>{until(token.expiresAt)}</td>
                    <td>
                      {token.revokedAt ? (
                        <Badge tone="danger">revoked</Badge>
                      ) : (
                        <Button onClick={() => void act(() => call("team_revoke_token", { id: token.id }))} aria-label={`Revoke token ${token.description ?? token.id}`}>
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <form
            className="admin-team-add-token"
            aria-label="Create an API token"
            onSubmit={(e) => {
              e.preventDefault();
              void addToken();
            }}
          >
            <TextField label="Token name" value={tokenForm.name} placeholder="e.g. CI publisher" testId="team-token-name" onChange={(name) => setTokenForm({ ...tokenForm, name })} />
            <fieldset>
              <legend>Scopes</legend>
              {SCOPES.map((scope) => (
                <label key={scope.name}>
                  <input type="checkbox" checked={tokenForm.scopes.includes(scope.name)} onChange={() => toggleScope(scope.name)} /> {scope.label}
                </label>
              ))}
            </fieldset>
            <TextField label="Expires in (days)" type="number" min={1} value={tokenForm.days} testId="team-token-days" onChange={(d) => setTokenForm({ ...tokenForm, days: d })} />
            <Button type="submit" disabled={tokenForm.scopes.length === 0 || !Number.isInteger(days) || days < 1}>
              Create token
            </Button>
          </form>
        </>
      )}
    </section>
  );
}
