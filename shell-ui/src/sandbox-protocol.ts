// The messages between a sandboxed remote's frame and the shell page
// (issue 15, point 3). The frame has an opaque origin and no Tauri
// internals: posting these to its parent is the only way it reaches the host.

/** Only app commands: plugin commands (`plugin:…|…`) and anything odd never leave the shell page. */
export const COMMAND_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** The header the shell adds to a forwarded call: the frame's remote (src-tauri/src/grants.rs REMOTE_HEADER). */
export const REMOTE_HEADER = "x-augment-remote";

export type FramePhase = "load" | "render" | "timeout";

/** Frame → shell. */
export type FrameMessage =
  | { augment: "sandbox"; kind: "call"; id: number; command: string; args: Record<string, unknown> }
  | { augment: "sandbox"; kind: "loaded" }
  | { augment: "sandbox"; kind: "mounted" }
  | { augment: "sandbox"; kind: "failed"; phase: FramePhase; detail: string };

/** Shell → frame. */
export type ShellReply =
  | { augment: "sandbox"; kind: "reply"; id: number; ok: true; value: unknown }
  | { augment: "sandbox"; kind: "reply"; id: number; ok: false; error: { code: string; message: string } };

/** Shell → frame: the theme in effect changed (the first one is in the frame's URL). */
export type ShellTheme = { augment: "sandbox"; kind: "theme"; theme: "light" | "dark" };

/** The theme a frame takes from a shell message, or null when the message is not one. */
export function asThemeMessage(data: unknown): "light" | "dark" | null {
  if (!data || typeof data !== "object") return null;
  const m = data as Record<string, unknown>;
  if (m.augment !== "sandbox" || m.kind !== "theme") return null;
  return m.theme === "dark" || m.theme === "light" ? m.theme : null;
}

/** What the shell accepts from a frame; anything else is dropped. */
export function asFrameMessage(data: unknown): FrameMessage | null {
  if (!data || typeof data !== "object") return null;
  const m = data as Record<string, unknown>;
  if (m.augment !== "sandbox") return null;
  switch (m.kind) {
    case "loaded":
    case "mounted":
      return { augment: "sandbox", kind: m.kind };
    case "failed": {
      const phase = m.phase === "render" || m.phase === "timeout" ? m.phase : "load";
      return { augment: "sandbox", kind: "failed", phase, detail: String(m.detail ?? "").slice(0, 2000) };
    }
    case "call": {
      if (typeof m.id !== "number" || typeof m.command !== "string") return null;
      const args = m.args ?? {};
      if (typeof args !== "object" || Array.isArray(args)) return null;
      return { augment: "sandbox", kind: "call", id: m.id, command: m.command, args: args as Record<string, unknown> };
    }
    default:
      return null;
  }
}
