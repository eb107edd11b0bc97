// The one-line registry status the header shows, from the registries' states,
// and the words the Remotes page uses for each registry.
import type { RegistryState, RegistryView } from "./ipc";

export type BadgeKind = "checking" | "online" | "offline" | "stale" | "refused" | "none" | "error";

export type Badge = { kind: BadgeKind; text: string; /** Every registry, one line each, for the tooltip. */ detail: string };

export function formatTime(unixSeconds: number | null | undefined): string {
  if (unixSeconds == null) return "never";
  return new Date(unixSeconds * 1000).toLocaleString();
}

/** "12:03" today, the date and time otherwise: short enough for the header. */
export function formatWhen(unixSeconds: number | null | undefined, now: Date = new Date()): string {
  if (unixSeconds == null) return "never";
  const at = new Date(unixSeconds * 1000);
  if (at.toDateString() === now.toDateString()) return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return at.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

/** A registry's state: its status, or "error" when resolving it failed as a whole. */
export function registryKind(registry: RegistryView): RegistryState | "error" {
  if (registry.error) return "error";
  return registry.status?.state ?? "offline";
}

/** One registry in words: state, reason, when it last verified (and, offline, when it was last reached). */
export function describeRegistry(registry: RegistryView, now?: Date): string {
  if (registry.error) return `registry error: ${registry.error.message}`;
  const status = registry.status;
  if (!status) return "registry offline: not checked yet";
  const reason = status.reason ? `: ${status.reason}` : "";
  const verified = `last verified ${formatWhen(status.lastVerifiedAt, now)}`;
  switch (status.state) {
    case "online":
      return status.reason ? `online${reason}` : "online";
    case "offline":
      // "offline, registry last reached at T" is what a person on a plane needs first.
      return `offline — registry last reached at ${formatWhen(status.lastReachedAt, now)}, ${verified}${status.reason ? ` (${status.reason})` : ""}`;
    case "stale":
      return `registry stale${reason} — ${verified}`;
    case "refused":
      return `registry refused${reason} — ${verified}`;
  }
}

/** Worst first: a refused answer is a security matter, then a registry that cannot be used at all, then one answering unusably, then none answering. */
const SEVERITY: (RegistryState | "error")[] = ["refused", "error", "stale", "offline", "online"];

/** The worst state wins: a registry that is not online is what a person needs to know about. */
export function badgeFor(registries: RegistryView[], checked: boolean, now?: Date): Badge {
  if (!checked) return { kind: "checking", text: "checking registry…", detail: "" };
  if (registries.length === 0) return { kind: "none", text: "no registry configured — showing the cache", detail: "" };
  const detail = registries.map((r) => `${r.url}: ${describeRegistry(r, now)}`).join("\n");
  const ranked = [...registries].sort((a, b) => SEVERITY.indexOf(registryKind(a)) - SEVERITY.indexOf(registryKind(b)));
  const worst = ranked[0]!;
  const kind = registryKind(worst);
  if (kind === "online") return { kind, text: "online", detail };
  const others = ranked.slice(1).filter((r) => registryKind(r) !== "online").length;
  const more = others > 0 ? ` (and ${others} more registr${others === 1 ? "y" : "ies"} not online)` : "";
  return { kind, text: `${describeRegistry(worst, now)}${more}`, detail };
}
