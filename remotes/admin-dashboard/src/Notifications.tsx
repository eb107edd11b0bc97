// Notifications (issue 19, point 2): where word goes when a run finishes,
// fails or reaches its budget, and when an import is done. Desktop
// notifications on or off; webhook endpoints (generic signed JSON, Slack,
// Teams) with a Test button; the delivery log. A URL and a secret are typed
// here once and go to the OS keychain: the shell never sends them back, so
// an endpoint shows only its host.
import { useCallback, useEffect, useState } from "react";
import {
  asCommandError,
  call,
  type HookDelivery,
  type HookDeliveryOutcome,
  type HookEndpoint,
} from "@augment-it/host-client";
import { Badge, Button, EmptyState, ErrorState, SelectField, TextField } from "@augment-it/ui-kit";

export const HOOK_EVENTS = [
  { name: "run.finished", label: "Run finished" },
  { name: "run.failed", label: "Run stopped with a problem" },
  { name: "run.budget_reached", label: "Budget reached" },
  { name: "import.done", label: "Import done" },
] as const;

const PRESETS = [
  { value: "generic", label: "Generic (signed JSON)" },
  { value: "slack", label: "Slack incoming webhook" },
  { value: "teams", label: "Microsoft Teams (Workflows or incoming webhook)" },
];

const EMPTY_FORM = { name: "", preset: "generic", url: "", secret: "", events: ["run.finished", "run.failed"] as string[] };

/** "delivered" / "failed (HTTP 500)" / "could not connect", for a test's outcome. */
export function describeOutcome(outcome: HookDeliveryOutcome): string {
  if (outcome.delivered) return `Delivered to ${outcome.host} (HTTP ${outcome.status ?? "?"}).`;
  return `Not delivered to ${outcome.host}: ${outcome.error ?? "no answer"}.`;
}

function SecretField({ label, value, onChange, placeholder, testId }: { label: string; value: string; onChange: (v: string) => void; placeholder?: string; testId: string }) {
  return (
    <label className="aui-field">
      <span>{label}</span>
      <input type="password" autoComplete="off" value={value} placeholder={placeholder} data-testid={testId} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

export function Notifications() {
  const [endpoints, setEndpoints] = useState<HookEndpoint[] | null>(null);
  const [log, setLog] = useState<HookDelivery[]>([]);
  const [desktop, setDesktop] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [tested, setTested] = useState<Record<number, string>>({});
  const [form, setForm] = useState(EMPTY_FORM);

  const reload = useCallback(async () => {
    try {
      const [list, deliveries, settings] = await Promise.all([
        call("list_hook_endpoints"),
        call("hook_deliveries", { limit: 50 }),
        call("notification_settings"),
      ]);
      setEndpoints(list);
      setLog(deliveries);
      setDesktop(settings.desktop);
      setError(null);
    } catch (err) {
      setError(asCommandError(err).message);
    }
  }, []);
  useEffect(() => void reload(), [reload]);

  const act = async (work: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await work();
      await reload();
    } catch (err) {
      setActionError(asCommandError(err).message);
    }
  };

  const add = () =>
    act(async () => {
      const secret = form.secret.trim() === "" ? null : form.secret;
      await call("add_hook_endpoint", { name: form.name, preset: form.preset, events: form.events, url: form.url, secret });
      setForm(EMPTY_FORM);
    });

  const test = (endpoint: HookEndpoint) =>
    act(async () => {
      setTested((t) => ({ ...t, [endpoint.id]: "Sending a test…" }));
      const outcome = await call("test_hook_endpoint", { id: endpoint.id });
      setTested((t) => ({ ...t, [endpoint.id]: describeOutcome(outcome) }));
    });

  const toggleEvent = (name: string) =>
    setForm((f) => ({ ...f, events: f.events.includes(name) ? f.events.filter((e) => e !== name) : [...f.events, name] }));

  return (
    <section className="admin-notifications" data-testid="admin-notifications" aria-labelledby="admin-notifications-title">
      <h2 id="admin-notifications-title">Notifications</h2>
      <p className="aui-muted">Word when a run finishes, stops with a problem or reaches its budget, and when an import is done.</p>
      {error && <ErrorState title="Could not load the notification settings" detail={error} onRetry={() => void reload()} />}
      {desktop !== null && (
        <label className="admin-notifications-desktop">
          <input type="checkbox" checked={desktop} onChange={(e) => void act(() => call("set_desktop_notifications", { enabled: e.target.checked }))} />
          Show desktop notifications
        </label>
      )}

      <h3>Webhooks</h3>
      {endpoints === null && !error && (
        <p className="aui-muted" role="status">
          Loading the endpoints…
        </p>
      )}
      {endpoints && endpoints.length === 0 && <EmptyState title="No webhook endpoints" hint="Add one below to post to Slack, Teams or your own receiver." />}
      {endpoints && endpoints.length > 0 && (
        <ul className="admin-hook-endpoints" aria-label="Webhook endpoints">
          {endpoints.map((endpoint) => (
            <li key={endpoint.id} data-testid="hook-endpoint">
              <strong>{endpoint.name}</strong> <Badge tone="neutral">{endpoint.preset}</Badge> <span className="aui-muted">{endpoint.host}</span>{" "}
              <span className="aui-muted">{endpoint.events.join(", ")}</span>{" "}
              <Button onClick={() => void test(endpoint)} aria-label={`Test ${endpoint.name}`}>
                Test
              </Button>{" "}
              <Button onClick={() => void act(() => call("delete_hook_endpoint", { id: endpoint.id }))} aria-label={`Delete ${endpoint.name}`}>
                Delete
              </Button>
              {tested[endpoint.id] && (
                <p role="status" data-testid="hook-test-outcome">
                  {tested[endpoint.id]}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}

      <form
        className="admin-hook-add"
        aria-label="Add a webhook endpoint"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <TextField label="Name" value={form.name} placeholder="e.g. team channel" onChange={(name) => setForm({ ...form, name })} />
        <SelectField label="Preset" value={form.preset} options={PRESETS} onChange={(preset) => setForm({ ...form, preset })} />
        <SecretField label="URL" value={form.url} placeholder="https://…" testId="hook-url" onChange={(url) => setForm({ ...form, url })} />
        <SecretField
          label={form.preset === "generic" ? "Signing secret" : "Signing secret (optional)"}
          value={form.secret}
          placeholder="at least 16 characters"
          testId="hook-secret"
          onChange={(secret) => setForm({ ...form, secret })}
        />
        <fieldset>
          <legend>Events</legend>
          {HOOK_EVENTS.map((event) => (
            <label key={event.name}>
              <input type="checkbox" checked={form.events.includes(event.name)} onChange={() => toggleEvent(event.name)} /> {event.label}
            </label>
          ))}
        </fieldset>
        <Button type="submit" variant="primary" disabled={!form.name.trim() || !form.url.trim() || form.events.length === 0}>
          Add endpoint
        </Button>
        <p className="aui-muted">The URL and secret are kept in the OS keychain; only the URL's host is shown again.</p>
      </form>
      {actionError && (
        <p className="aui-field-error" role="alert" data-testid="admin-notifications-error">
          {actionError}
        </p>
      )}

      <h3>Delivery log</h3>
      {log.length === 0 ? (
        <p className="aui-muted">Nothing sent yet.</p>
      ) : (
        <table className="admin-hook-log" aria-label="Delivery log">
          <thead>
            <tr>
              <th>Time</th>
              <th>Event</th>
              <th>Endpoint</th>
              <th>Attempt</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {log.map((d) => (
              <tr key={d.id} data-outcome={d.outcome}>
                <td>{new Date(d.at).toLocaleString()}</td>
                <td>{d.event}</td>
                <td>
                  {d.endpoint} <span className="aui-muted">{d.host}</span>
                </td>
                <td>{d.attempt}</td>
                <td>
                  <Badge tone={d.outcome === "delivered" ? "success" : d.outcome === "retrying" ? "warning" : "danger"}>{d.outcome}</Badge>{" "}
                  {d.status !== null && `HTTP ${d.status}`} {d.error}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
