// What the shell's tests share: a resolved remote as Rust reports it.
import type { RemoteView } from "./ipc";

/** A cached, first-party remote at `version`, exposing ./App. */
export function remoteView(name: string, displayName: string, version = "1.0.0"): RemoteView {
  return {
    name,
    version,
    entryUrl: `mfe://localhost/${name}/${version}/remoteEntry.js`,
    exposes: ["./App"],
    displayName,
    source: "file:///reg",
    verdict: "cached",
    pinned: false,
    lastKnownGood: null,
    reason: null,
    devOverride: null,
    sandboxed: false,
    permissions: [],
    granted: [],
    heldBack: null,
  };
}
