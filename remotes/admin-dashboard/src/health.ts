// Pure helpers for the dashboard's health section: sizes and the local
// stack's one-line summary.
import type { CommandError, StackView } from "@augment-it/host-client";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** What the local stack's line says, from `stack_status` or its error. */
export function stackSummary(result: { view: StackView } | { error: CommandError }): string {
  if ("error" in result) {
    return result.error.code === "engineNotRunning"
      ? "Not running: no container engine answers (start Docker or Podman, then the stack from the Local stack page)."
      : `Unknown: ${result.error.message}`;
  }
  const { services, healthy } = result.view;
  const running = services.filter((s) => s.state === "running").length;
  if (running === 0) return "Stopped: start it from the Local stack page.";
  const healthyCount = services.filter((s) => s.health === "healthy").length;
  return healthy
    ? `Healthy: all ${services.length} services up.`
    : `Degraded: ${healthyCount} of ${services.length} services healthy.`;
}
