// Module Federation at runtime: remotes are registered from what the Rust
// side resolved (their mfe:// entry URLs), never from a URL baked into the
// build. React and react-dom are shared singletons: every remote renders
// with the shell's copy, so hooks and context work across the boundary.
import * as React from "react";
import * as ReactDOM from "react-dom";
import * as ReactDOMClient from "react-dom/client";
import * as ReactJsxRuntime from "react/jsx-runtime";
import { createInstance } from "@module-federation/runtime";
import * as UiKit from "@augment-it/ui-kit";
import * as HostClient from "@augment-it/host-client";
import * as Messaging from "@augment-it/messaging";
import type { RemoteModule } from "./host-api";

const REACT_VERSION = React.version;

/** The version of host-client and messaging this shell provides (crates/manifest HostProfile::builtin). */
export const SHARED_MODULES_VERSION = "1.0.0";

/** The UI kit is versioned on its own (1.1.0 added the fields' testId, required, min; 1.2.0 toast actions; 1.3.0 the TanStack table and charts); HostProfile::builtin must agree. */
export const UI_KIT_VERSION = UiKit.UI_KIT_VERSION;

/** A shell-provided singleton: remotes consume it with `import: false`, never their own copy. */
function sharedModule(version: string, lib: () => unknown, requiredVersion: string) {
  return { version, scope: "default", lib, shareConfig: { singleton: true, requiredVersion } };
}

const federation = createInstance({
  name: "augment_shell",
  remotes: [],
  shared: {
    react: {
      version: REACT_VERSION,
      scope: "default",
      lib: () => React,
      shareConfig: { singleton: true, requiredVersion: `^${REACT_VERSION.split(".")[0]}.0.0` },
    },
    "react-dom": {
      version: REACT_VERSION,
      scope: "default",
      lib: () => ReactDOM,
      shareConfig: { singleton: true, requiredVersion: `^${REACT_VERSION.split(".")[0]}.0.0` },
    },
    "react-dom/client": {
      version: REACT_VERSION,
      scope: "default",
      lib: () => ReactDOMClient,
      shareConfig: { singleton: true, requiredVersion: `^${REACT_VERSION.split(".")[0]}.0.0` },
    },
    // Remotes compiled with the automatic JSX runtime import this next to react.
    "react/jsx-runtime": sharedModule(REACT_VERSION, () => ReactJsxRuntime, `^${REACT_VERSION.split(".")[0]}.0.0`),
    "@augment-it/ui-kit": sharedModule(UI_KIT_VERSION, () => UiKit, `^${UI_KIT_VERSION}`),
    "@augment-it/host-client": sharedModule(SHARED_MODULES_VERSION, () => HostClient, "^1.0.0"),
    "@augment-it/messaging": sharedModule(SHARED_MODULES_VERSION, () => Messaging, "^1.0.0"),
  },
});

/**
 * Registers `name` at `entryUrl` (replacing an earlier registration, e.g. of
 * another version) and loads its exposed module. `attempt` > 0 adds a query
 * so a retry fetches and evaluates the entry again instead of reusing the
 * module map's failed record; the mfe:// handler ignores the query.
 */
export async function loadRemoteModule(name: string, entryUrl: string, expose: string, attempt: number): Promise<RemoteModule> {
  const entry = attempt > 0 ? `${entryUrl}?attempt=${attempt}` : entryUrl;
  federation.registerRemotes([{ name, entry, type: "module" }], { force: true });
  const id = `${name}/${expose.replace(/^\.\//, "")}`;
  const module = await federation.loadRemote<RemoteModule>(id);
  if (!module) throw new Error(`${id} loaded but exported nothing`);
  if (!("mount" in module && typeof module.mount === "function") && !("default" in module && typeof module.default === "function")) {
    throw new Error(`${id} exports neither a React component (default) nor mount()`);
  }
  return module;
}
