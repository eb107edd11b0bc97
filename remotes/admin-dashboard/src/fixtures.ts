import type { RegistryView, RemoteVersions, ShellView, UsageMetrics } from "@augment-it/host-client";

/**
 * What `remotes_from_cache` answers with three remotes: one current, one on a
 * fallback version and pinned, one with no usable version. It is the cache
 * paint (no request), so its registry is "offline mode" with the cache's times.
 */
export const shellView: ShellView = {
  checked: false,
  registries: [
    {
      url: "file:///reg",
      fromLaunch: true,
      status: { state: "offline", reason: "offline mode", lastVerifiedAt: 1_700_000_000, lastReachedAt: 1_700_000_000, snapshotVersion: 3 },
      error: null,
    },
  ],
  remotes: [
    {
      name: "admin-dashboard",
      version: "1.0.0",
      entryUrl: "mfe://localhost/admin-dashboard/1.0.0/remoteEntry.js",
      exposes: ["./App"],
      displayName: "Admin Dashboard",
      source: "file:///reg",
      verdict: "installed",
      pinned: false,
      lastKnownGood: "1.0.0",
      reason: null,
      devOverride: null,
      sandboxed: false,
      permissions: [],
      granted: null,
      heldBack: null,
    },
    {
      name: "gamma",
      version: "1.0.0",
      entryUrl: "mfe://localhost/gamma/1.0.0/remoteEntry.js",
      exposes: ["./App"],
      displayName: "Gamma",
      source: "file:///reg",
      verdict: "cached",
      pinned: true,
      lastKnownGood: null,
      reason: "2.0.0 needs host API ^2.0.0, this app provides 1.0.0",
      devOverride: null,
      sandboxed: false,
      permissions: [],
      granted: null,
      heldBack: null,
    },
    {
      name: "omega",
      version: null,
      entryUrl: null,
      exposes: [],
      displayName: null,
      source: null,
      verdict: "incompatible",
      pinned: false,
      lastKnownGood: null,
      reason: "needs shared react ^20.0.0, this app provides 19.2.0",
      devOverride: null,
      sandboxed: false,
      permissions: [],
      granted: null,
      heldBack: null,
    },
  ],
  problems: [],
  permissionDescriptions: {},
  grantsRevision: 0,
};

export const remoteVersions: RemoteVersions[] = [
  {
    name: "admin-dashboard",
    active: "1.0.0",
    pinned: null,
    lastKnownGood: "1.0.0",
    versions: [{ version: "1.0.0", registry: "file:///reg", installedAt: 1 }],
  },
  {
    name: "gamma",
    active: "1.0.0",
    pinned: "1.0.0",
    lastKnownGood: null,
    versions: [
      { version: "1.0.0", registry: "file:///reg", installedAt: 1 },
      { version: "2.0.0", registry: "file:///reg", installedAt: 2 },
    ],
  },
];

export const usageMetrics: UsageMetrics = {
  datasets: 1,
  records: 50,
  templates: 1,
  requests: 50,
  approvedRequests: 50,
  runs: 1,
  responses: 48,
  failedResponses: 2,
  inputTokens: 1200,
  outputTokens: 900,
};

/** The shell's last check: the launch registry refused an answer, a team registry is online. */
export const checkedRegistries: RegistryView[] = [
  {
    url: "file:///reg",
    fromLaunch: true,
    status: {
      state: "refused",
      reason: "snapshot.json is signed by a key this registry's root does not list",
      lastVerifiedAt: 1_700_000_000,
      lastReachedAt: 1_700_000_600,
      snapshotVersion: 3,
    },
    error: null,
  },
  {
    url: "https://team.example/registry/",
    fromLaunch: false,
    status: { state: "online", reason: null, lastVerifiedAt: 1_700_000_600, lastReachedAt: 1_700_000_600, snapshotVersion: 12 },
    error: null,
  },
];
