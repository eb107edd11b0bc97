// The Admin Dashboard: each registry's state after the shell's last check
// (state, reason, last verified), every remote the shell knows, with its version,
// source, cache state, compatibility verdict and pin; then cache size, usage
// of the local database and the local stack's health (Health.tsx), the charts
// (Charts.tsx) and the local services' own metrics (ServiceMetrics.tsx). Data comes only from
// the shell's commands (host-client) and its bus: a "remotes.changed" event
// reloads it, the last "registries.checked" event gives the registries' state.
import { useCallback, useEffect, useMemo, useState } from "react";
import { host, HostError, type RemoteVersions, type ShellView } from "@augment-it/host-client";
import { useEvent, useLastEvent } from "@augment-it/messaging";
import {
  Badge,
  Button,
  DataTable,
  EmptyState,
  ErrorState,
  Page,
  SelectField,
  Stat,
  StatRow,
  TextField,
  Toolbar,
  toast,
  type BadgeTone,
  type Column,
} from "@augment-it/ui-kit";
import { Charts } from "./Charts";
import { Prices } from "./Prices";
import { Notifications } from "./Notifications";
import { TeamServer } from "./TeamServer";
import { Health } from "./Health";
import { ServiceMetricsPanel } from "./ServiceMetrics";
import { dashboardRows, matchesFilter, registryRows, type Compatibility, type DashboardRow, type RegistryRow } from "./rows";

/** What the shell passes to every remote (shell-ui/src/federation.ts HostApi). */
export interface DashboardProps {
  host?: { hostApiVersion: string; remote: { name: string; version: string } };
}

type Load = { kind: "loading" } | { kind: "failed"; message: string } | { kind: "loaded"; view: ShellView; versions: RemoteVersions[] };

const TONE: Record<Compatibility, BadgeTone> = { compatible: "success", fallback: "warning", incompatible: "danger" };

const COLUMNS: Column<DashboardRow>[] = [
  {
    key: "remote",
    header: "Remote",
    width: "1.4fr",
    // Every remote is loaded at once, so the table sorts what it holds.
    sortValue: (row) => row.title,
    render: (row) => (
      <span title={row.name}>
        {row.title}
        {row.title !== row.name && <small> ({row.name})</small>}
      </span>
    ),
  },
  { key: "version", header: "Version", width: "0.7fr", render: (row) => row.version ?? "—", sortValue: (row) => row.version },
  {
    key: "source",
    header: "Source",
    width: "1.4fr",
    render: (row) => <span title={row.source ?? ""}>{row.source ?? "—"}</span>,
    sortValue: (row) => row.source,
  },
  {
    key: "cache",
    header: "Cache",
    width: "1fr",
    sortValue: (row) => row.cacheState,
    render: (row) => (
      <span title={`cached versions: ${row.cachedVersions.join(", ") || "none"}`}>
        {row.cacheState} ({row.cachedVersions.length})
      </span>
    ),
  },
  {
    key: "compatibility",
    header: "Compatibility",
    width: "1.4fr",
    sortValue: (row) => row.compatibility,
    render: (row) => (
      <Badge tone={TONE[row.compatibility]} title={row.reason ?? undefined}>
        {row.compatibility}
        {row.reason ? `: ${row.reason}` : ""}
      </Badge>
    ),
  },
  { key: "pin", header: "Pin", width: "0.8fr", render: (row) => row.pinned ?? "follows updates", sortValue: (row) => row.pinned },
  { key: "known-good", header: "Known good", width: "0.8fr", render: (row) => row.lastKnownGood ?? "—", sortValue: (row) => row.lastKnownGood },
];

const REGISTRY_TONE: Record<RegistryRow["state"], BadgeTone> = {
  online: "success",
  offline: "warning",
  stale: "warning",
  refused: "danger",
  error: "danger",
  "not checked": "neutral",
};

function formatTime(unixSeconds: number | null): string {
  return unixSeconds == null ? "never" : new Date(unixSeconds * 1000).toLocaleString();
}

/** One line per registry: where, its state and why, when it last verified and last answered. */
function Registries({ rows }: { rows: RegistryRow[] }) {
  if (rows.length === 0) {
    return (
      <div data-testid="admin-registries">
        <EmptyState title="No registry is configured" hint="The remotes come from the cache: add a registry in the shell's Settings to get updates." />
      </div>
    );
  }
  return (
    <ul className="admin-registries" data-testid="admin-registries">
      {rows.map((row) => (
        <li key={row.url} data-testid="admin-registry" data-registry={row.url} data-state={row.state}>
          <Badge tone={REGISTRY_TONE[row.state]}>{row.state}</Badge> <span className="admin-registry-url">{row.url}</span>
          {row.fromLaunch && <small> (command line)</small>}
          {row.reason && <span className="admin-registry-reason">: {row.reason}</span>}
          <small className="admin-registry-times">
            {" "}
            — last verified {formatTime(row.lastVerifiedAt)}, last reached {formatTime(row.lastReachedAt)}
            {row.snapshotVersion != null && `, snapshot ${row.snapshotVersion}`}
          </small>
        </li>
      ))}
    </ul>
  );
}

const SHOW_OPTIONS = [
  { value: "all", label: "All remotes" },
  { value: "compatible", label: "Compatible" },
  { value: "fallback", label: "Fallback" },
  { value: "incompatible", label: "Incompatible" },
];

export default function AdminDashboard({ host: shellHost }: DashboardProps) {
  const [load, setLoad] = useState<Load>({ kind: "loading" });
  const [filter, setFilter] = useState("");
  const [show, setShow] = useState("all");

  /** Loads the remotes; false when it failed (the page then shows why). */
  const reload = useCallback(async () => {
    try {
      const [view, versions] = await Promise.all([host.remotesFromCache(), host.remoteVersions()]);
      setLoad({ kind: "loaded", view, versions });
      return true;
    } catch (err) {
      const message = err instanceof HostError ? `${err.message} (${err.code})` : String(err);
      setLoad({ kind: "failed", message });
      return false;
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);
  useEvent("remotes.changed", () => void reload());
  const lastCheck = useLastEvent("registries.checked");

  const rows = useMemo(() => (load.kind === "loaded" ? dashboardRows(load.view, load.versions) : []), [load]);
  const registries = useMemo(() => (load.kind === "loaded" ? registryRows(load.view, lastCheck) : []), [load, lastCheck]);
  const shown = rows.filter((row) => matchesFilter(row, filter) && (show === "all" || row.compatibility === show));

  const actions = (
    <>
      <Button
        onClick={() =>
          void reload().then((ok) => ok && toast("Remote list refreshed from the cache", "success"))
        }
      >
        Refresh
      </Button>
    </>
  );

  if (load.kind === "failed") {
    return (
      <Page title="Admin Dashboard" actions={actions}>
        <ErrorState title="Could not read the remotes from the shell" detail={load.message} onRetry={() => void reload()} />
      </Page>
    );
  }

  const cachedVersions = rows.reduce((sum, row) => sum + row.cachedVersions.length, 0);
  return (
    <Page title="Admin Dashboard" actions={actions}>
      {shellHost && (
        <p className="admin-self" data-testid="admin-self">
          This is {shellHost.remote.name} {shellHost.remote.version} on host API {shellHost.hostApiVersion}.
        </p>
      )}
      {/* No counts before the first answer: a row of zeros would say "nothing installed". */}
      {load.kind === "loaded" && (
        <StatRow>
          <Stat label="Remotes" value={rows.length} />
          <Stat label="Compatible" value={rows.filter((r) => r.compatibility !== "incompatible").length} />
          <Stat label="Incompatible" value={rows.filter((r) => r.compatibility === "incompatible").length} />
          <Stat label="Pinned" value={rows.filter((r) => r.pinned).length} />
          <Stat label="Cached versions" value={cachedVersions} />
        </StatRow>
      )}
      <h2>Registries</h2>
      {load.kind === "loaded" && <Registries rows={registries} />}
      <Toolbar>
        <TextField label="Filter" type="search" value={filter} onChange={setFilter} placeholder="name, version, source" />
        <SelectField label="Show" value={show} options={SHOW_OPTIONS} onChange={setShow} />
      </Toolbar>
      {load.kind === "loading" ? (
        <p className="aui-muted" role="status">
          Loading remotes…
        </p>
      ) : (
        <DataTable
          label="Remotes"
          columns={COLUMNS}
          rows={shown}
          rowKey={(row) => row.name}
          empty={
            <EmptyState
              title={rows.length === 0 ? "No remotes yet" : "No remote matches the filter"}
              hint={rows.length === 0 ? "Publish a remote into a configured registry, then check for updates." : undefined}
            />
          }
        />
      )}
      <Health />
      <Prices />
      <Notifications />
      <TeamServer />
      <Charts />
      <ServiceMetricsPanel />
    </Page>
  );
}
