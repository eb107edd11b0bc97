// The shell's screens and their routes (issue 16, point 1). One screen is
// shown at a time; each has a hash route, so back/forward, deep links and
// restoring the last screen are the URL's job:
//   #/remote/<name>   a remote
//   #/remotes, #/stack, #/settings   the shell's own pages
// The router is wouter's hash location; this file only maps routes to
// screens and orders the sidebar.
import type { RemoteView } from "./ipc";

export type ShellPage = "remotes" | "stack" | "settings";
export type Screen = { kind: "remote"; name: string } | { kind: "page"; page: ShellPage };

/** The Augment-It workflow, in the order an analyst works through it. */
export const WORKFLOW: readonly string[] = [
  "record-collector",
  "prompt-templates",
  "request-reviewer",
  "insight-assembler",
  "admin-dashboard",
];

const PAGES: readonly ShellPage[] = ["remotes", "stack", "settings"];
// The manifest's rule for remote names (crates/manifest validate_remote_name).
const REMOTE_ROUTE = /^\/remote\/([a-z][a-z0-9-]{0,63})$/;

/** The screen of a route, or null when the route names no screen. */
export function parseRoute(route: string): Screen | null {
  const remote = REMOTE_ROUTE.exec(route);
  if (remote) return { kind: "remote", name: remote[1]! };
  const page = route.replace(/^\//, "");
  return (PAGES as readonly string[]).includes(page) ? { kind: "page", page: page as ShellPage } : null;
}

export function routeOf(screen: Screen): string {
  return screen.kind === "remote" ? `/remote/${screen.name}` : `/${screen.page}`;
}

/** The sidebar: the workflow's steps in order, then any other remote by its title. */
export function sidebarGroups(remotes: RemoteView[]): { workflow: RemoteView[]; others: RemoteView[] } {
  const step = (r: RemoteView) => WORKFLOW.indexOf(r.name);
  const title = (r: RemoteView) => r.displayName ?? r.name;
  return {
    workflow: remotes.filter((r) => step(r) >= 0).sort((a, b) => step(a) - step(b)),
    others: remotes.filter((r) => step(r) < 0).sort((a, b) => title(a).localeCompare(title(b))),
  };
}

/** The first screen of the sidebar: where a start with nothing to restore lands; null with no remotes. */
export function firstScreen(remotes: RemoteView[]): Screen | null {
  const { workflow, others } = sidebarGroups(remotes);
  const first = workflow[0] ?? others[0];
  return first ? { kind: "remote", name: first.name } : null;
}

/**
 * Where the shell opens. A route in the URL (a deep link) wins; then the
 * screen saved at the last quit; then the sidebar's first screen. A saved
 * remote that is no longer installed is not restored. "/" (no screen yet)
 * when there is no remote to show.
 */
export function startRoute(linked: string, saved: string | null | undefined, remotes: RemoteView[]): string {
  if (parseRoute(linked)) return linked;
  const restored = saved ? parseRoute(saved) : null;
  if (restored && (restored.kind === "page" || remotes.some((r) => r.name === restored.name))) return routeOf(restored);
  const first = firstScreen(remotes);
  return first ? routeOf(first) : "/";
}
