// The one-line registry status the header shows, from the registries' states.
import type { RegistryView } from "./ipc";

export type Badge = { kind: "checking" | "online" | "offline" | "stale" | "none" | "error"; text: string };

export function formatTime(unixSeconds: number | null | undefined): string {
  if (unixSeconds == null) return "never";
  return new Date(unixSeconds * 1000).toLocaleString();
}

/** The worst state wins: an offline or stale registry is what a person needs to know about. */
export function badgeFor(registries: RegistryView[], checked: boolean): Badge {
  if (!checked) return { kind: "checking", text: "checking registry…" };
  if (registries.length === 0) return { kind: "none", text: "no registry configured — showing the cache" };
  for (const registry of registries) {
    if (registry.error) return { kind: "error", text: `registry error: ${registry.error.message}` };
  }
  for (const registry of registries) {
    const status = registry.status;
    if (status?.state === "offline") {
      return { kind: "offline", text: `offline — registry last reached at ${formatTime(status.lastReachedAt)}` };
    }
  }
  for (const registry of registries) {
    const status = registry.status;
    if (status?.state === "stale") {
      return { kind: "stale", text: `registry metadata stale since ${formatTime(status.staleSince)}` };
    }
  }
  return { kind: "online", text: "online" };
}
