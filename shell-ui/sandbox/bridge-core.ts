// `@tauri-apps/api/core` inside a sandboxed remote's frame (aliased by
// vite.sandbox.config.ts): `invoke` posts the call to the shell page, which
// forwards it to Rust under this frame's remote name. There is no other way
// out of the frame.
import type { ShellReply } from "../src/sandbox-protocol";

type Pending = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

const pending = new Map<number, Pending>();
let nextId = 1;

window.addEventListener("message", (event) => {
  if (event.source !== window.parent) return;
  const reply = event.data as ShellReply | null;
  if (!reply || reply.augment !== "sandbox" || reply.kind !== "reply") return;
  const call = pending.get(reply.id);
  if (!call) return;
  pending.delete(reply.id);
  if (reply.ok) call.resolve(reply.value);
  else call.reject(reply.error);
});

export function invoke<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    window.parent.postMessage({ augment: "sandbox", kind: "call", id, command, args: args ?? {} }, "*");
  });
}
