// What the dashboard shows per remote, from the two shell views: the
// resolved selection (remotes_from_cache) and the cache's installed versions
// (remote_versions). Kept pure so it is tested without a shell.
import type { RegistryState, RegistryView, RemoteVersions, RemoteView, ShellView } from "@augment-it/host-client";

export type Compatibility = "compatible" | "fallback" | "incompatible";

export interface DashboardRow {
  name: string;
  title: string;
  version: string | null;
  source: string | null;
  /** "installed" (downloaded now), "cached", or "not cached". */
  cacheState: "installed" | "cached" | "not cached";
  cachedVersions: string[];
  compatibility: Compatibility;
  /** Why a newer version was passed over, or why none fits. */
  reason: string | null;
  pinned: string | null;
  lastKnownGood: string | null;
}

export function compatibilityOf(remote: RemoteView): Compatibility {
  if (remote.verdict === "incompatible" || !remote.version) return "incompatible";
  return remote.reason ? "fallback" : "compatible";
}

export function dashboardRows(view: ShellView, versions: RemoteVersions[]): DashboardRow[] {
  const byName = new Map(versions.map((v) => [v.name, v]));
  const names = new Set([...view.remotes.map((r) => r.name), ...versions.map((v) => v.name)]);
  const views = new Map(view.remotes.map((r) => [r.name, r]));
  return [...names].sort().map((name) => {
    const remote = views.get(name);
    const cached = byName.get(name);
    const cachedVersions = (cached?.versions ?? []).map((v) => v.version);
    const version = remote?.version ?? cached?.active ?? null;
    const cacheState = remote?.verdict === "installed" ? "installed" : version && cachedVersions.includes(version) ? "cached" : "not cached";
    return {
      name,
      title: remote?.displayName ?? name,
      version,
      source: remote?.source ?? cached?.versions.find((v) => v.version === version)?.registry ?? null,
      cacheState,
      cachedVersions,
      compatibility: remote ? compatibilityOf(remote) : "incompatible",
      reason: remote?.reason ?? (remote ? null : "not offered by any configured registry"),
      pinned: cached?.pinned ?? (remote?.pinned ? remote.version : null),
      lastKnownGood: remote?.lastKnownGood ?? cached?.lastKnownGood ?? null,
    };
  });
}

export function matchesFilter(row: DashboardRow, filter: string): boolean {
  const needle = filter.trim().toLowerCase();
  if (!needle) return true;
  return [row.name, row.title, row.version ?? "", row.source ?? "", row.compatibility].some((field) => field.toLowerCase().includes(needle));
}

/** A registry as the dashboard shows it. */
export interface RegistryRow {
  url: string;
  fromLaunch: boolean;
  /** "not checked" until the shell's first registry check has finished. */
  state: RegistryState | "error" | "not checked";
  reason: string | null;
  lastVerifiedAt: number | null;
  lastReachedAt: number | null;
  snapshotVersion: number | null;
}

/**
 * The registries from the shell's last check (its "registries.checked"
 * event) or, before one has finished, from the cache paint: the times come
 * from the cache, but the state is not known yet.
 */
export function registryRows(view: ShellView, lastCheck: { registries: RegistryView[] } | undefined): RegistryRow[] {
  const checked = lastCheck !== undefined || view.checked;
  const registries = lastCheck?.registries ?? view.registries;
  return registries.map((registry) => {
    const status = registry.status;
    return {
      url: registry.url,
      fromLaunch: registry.fromLaunch,
      state: !checked ? "not checked" : registry.error ? "error" : (status?.state ?? "offline"),
      reason: !checked ? "no registry check has finished yet" : (registry.error?.message ?? status?.reason ?? null),
      lastVerifiedAt: status?.lastVerifiedAt ?? null,
      lastReachedAt: status?.lastReachedAt ?? null,
      snapshotVersion: status?.snapshotVersion ?? null,
    };
  });
}
