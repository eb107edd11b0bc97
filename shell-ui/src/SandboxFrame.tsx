// A sandboxed remote's frame (issue 15, point 3): an iframe with an opaque
// origin (`sandbox="allow-scripts"`, no `allow-same-origin`) showing the
// sandbox page, which loads and mounts the remote and reports back through
// the bridge (sandbox-bridge.ts). The frame never gets Tauri internals, the
// shell's DOM or its storage.
import { useContext, useEffect, useRef, useState } from "react";
import { connectFrame, type FrameEvents } from "./sandbox-bridge";
import type { ShellTheme } from "./sandbox-protocol";
import { ThemeContext } from "./theme";

/** The sandbox page (src-tauri/src/scheme.rs, SANDBOX_PREFIX). */
export function sandboxUrl(entryUrl: string, params: Record<string, string>): string {
  // Windows serves custom schemes as http://<scheme>.localhost.
  const origin = entryUrl.startsWith("http://mfe.localhost/") ? "http://mfe.localhost" : "mfe://localhost";
  return `${origin}/@sandbox/index.html?${new URLSearchParams(params).toString()}`;
}

export interface SandboxFrameProps extends FrameEvents {
  name: string;
  version: string;
  entryUrl: string;
  expose: string;
  attempt: number;
  title: string;
}

export function SandboxFrame({ name, version, entryUrl, expose, attempt, title, ...events }: SandboxFrameProps) {
  const frame = useRef<HTMLIFrameElement>(null);
  const latest = useRef(events);
  latest.current = events;
  useEffect(() => {
    const window = frame.current?.contentWindow;
    if (!window) return;
    return connectFrame(window, name, {
      onLoaded: () => latest.current.onLoaded(),
      onMounted: () => latest.current.onMounted(),
      onFailed: (phase, detail) => latest.current.onFailed(phase, detail),
    });
  }, [name]);
  // The theme at the first load is in the URL; later changes go by message,
  // so changing the theme never reloads the remote (and loses its work).
  const theme = useContext(ThemeContext);
  const [firstTheme] = useState(theme);
  useEffect(() => {
    const message: ShellTheme = { augment: "sandbox", kind: "theme", theme };
    frame.current?.contentWindow?.postMessage(message, "*");
  }, [theme]);
  const src = sandboxUrl(entryUrl, { remote: name, version, entry: entryUrl, expose, attempt: String(attempt), theme: firstTheme });
  return (
    <iframe
      ref={frame}
      className="sandboxed-remote"
      data-testid="sandbox-frame"
      title={`${title} (sandboxed)`}
      sandbox="allow-scripts"
      referrerPolicy="no-referrer"
      src={src}
    />
  );
}
