// The shell page's side of the sandbox bridge: a call from a sandboxed
// remote's frame is forwarded to Rust with the frame's remote name in a
// header, and Rust checks it against that remote's grants
// (src-tauri/src/grants.rs). The name comes from which frame posted, never
// from the message: a frame cannot speak for another remote.
import { invoke } from "@tauri-apps/api/core";
import { asCommandError } from "@augment-it/host-client";
import { asFrameMessage, COMMAND_NAME, REMOTE_HEADER, type FramePhase, type ShellReply } from "./sandbox-protocol";

export interface FrameEvents {
  onLoaded: () => void;
  onMounted: () => void;
  onFailed: (phase: FramePhase, detail: string) => void;
}

interface Frame extends FrameEvents {
  remote: string;
}

const frames = new Map<MessageEventSource, Frame>();
let listening = false;

/** Answers `frame`'s calls as `remote` until the returned function is called. */
export function connectFrame(frame: Window, remote: string, events: FrameEvents): () => void {
  if (!listening) {
    window.addEventListener("message", onMessage);
    listening = true;
  }
  frames.set(frame, { remote, ...events });
  return () => {
    frames.delete(frame);
  };
}

function onMessage(event: MessageEvent) {
  const frame = event.source ? frames.get(event.source) : undefined;
  if (!frame || !event.source) return;
  const message = asFrameMessage(event.data);
  if (!message) return;
  const source = event.source as Window;
  switch (message.kind) {
    case "loaded":
      return frame.onLoaded();
    case "mounted":
      return frame.onMounted();
    case "failed":
      return frame.onFailed(message.phase, message.detail);
    case "call":
      void forward(source, frame.remote, message.id, message.command, message.args);
  }
}

async function forward(source: Window, remote: string, id: number, command: string, args: Record<string, unknown>) {
  let reply: ShellReply;
  if (!COMMAND_NAME.test(command)) {
    reply = { augment: "sandbox", kind: "reply", id, ok: false, error: { code: "refused", message: `${command.slice(0, 80)} is not a shell command a remote can call` } };
  } else {
    try {
      const value = await invoke(command, args, { headers: { [REMOTE_HEADER]: remote } });
      reply = { augment: "sandbox", kind: "reply", id, ok: true, value };
    } catch (err) {
      reply = { augment: "sandbox", kind: "reply", id, ok: false, error: asCommandError(err) };
    }
  }
  // The frame's origin is opaque: "*" is the only target that reaches it, and `source` is that frame.
  source.postMessage(reply, "*");
}
