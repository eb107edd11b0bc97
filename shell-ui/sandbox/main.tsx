// The page a sandboxed remote runs in: mfe://localhost/@sandbox/index.html,
// in an iframe with an opaque origin (src-tauri/src/scheme.rs SANDBOX_CSP).
// It gives the remote its own React and shared modules (host-client's
// `invoke` is the bridge, see bridge-core.ts), loads its entry with Module
// Federation as the shell does, mounts it, and tells the shell page how
// that went.
import "../src/language";
import "../src/styles.css";
import { Component, useEffect, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import { loadRemoteModule } from "../src/federation";
import { HOST_API_VERSION, type HostApi, type RemoteModule } from "../src/host-api";
import { asThemeMessage, type FramePhase } from "../src/sandbox-protocol";
import { applyTheme } from "@augment-it/ui-kit";

function tell(message: { kind: "loaded" } | { kind: "mounted" } | { kind: "failed"; phase: FramePhase; detail: string }) {
  window.parent.postMessage({ augment: "sandbox", ...message }, "*");
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

class Boundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  componentDidCatch(error: unknown) {
    tell({ kind: "failed", phase: "render", detail: describe(error) });
  }
  render() {
    return this.state.failed ? null : this.props.children;
  }
}

function Mounted({ module, host }: { module: RemoteModule; host: HostApi }) {
  useEffect(() => {
    const element = document.getElementById("mount");
    let unmount: (() => void) | void = undefined;
    if ("mount" in module && typeof module.mount === "function" && element) unmount = module.mount(element, host);
    const settled = setTimeout(() => tell({ kind: "mounted" }));
    return () => {
      clearTimeout(settled);
      if (typeof unmount === "function") unmount();
    };
  }, [module, host]);
  if ("default" in module && typeof module.default === "function") {
    const Remote = module.default;
    return <Remote host={host} />;
  }
  return <div id="mount" />;
}

async function start() {
  const params = new URLSearchParams(location.search);
  const name = params.get("remote") ?? "";
  const version = params.get("version") ?? "";
  const entry = params.get("entry") ?? "";
  const expose = params.get("expose") ?? "./App";
  // The shell's theme: first from the URL, then from the shell's messages.
  applyTheme(params.get("theme") === "dark" ? "dark" : "light");
  window.addEventListener("message", (event) => {
    const theme = event.source === window.parent ? asThemeMessage(event.data) : null;
    if (theme) applyTheme(theme);
  });
  // The bus is this frame's own: events do not cross into the shell (yet).
  installShellBus(createEventBus<AugmentEvents>());
  let module: RemoteModule;
  try {
    module = await loadRemoteModule(name, entry, expose, Number(params.get("attempt") ?? 0));
  } catch (err) {
    tell({ kind: "failed", phase: "load", detail: describe(err) });
    return;
  }
  tell({ kind: "loaded" });
  const host: HostApi = { hostApiVersion: HOST_API_VERSION, remote: { name, version } };
  const root = document.getElementById("root");
  if (!root) return;
  createRoot(root).render(
    <Boundary>
      <Mounted module={module} host={host} />
    </Boundary>,
  );
}

void start();
