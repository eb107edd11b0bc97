// The entry is small on purpose: the stylesheet and the static frame in
// index.html are on screen first, the shell reports that paint, and only
// then is React with the rest of the app loaded and started (start.tsx),
// while Rust reads the cached remotes and the saved screen (start-state.ts).
import "./language";
import "./styles.css";
import { afterNextFrame, reportShellPainted } from "./painted";
import { readStartState } from "./start-state";

afterNextFrame()
  .then(() => {
    reportShellPainted();
    // Rust reads the cache and the saved screen while the app's code loads.
    readStartState();
    return import("./start");
  })
  .catch((err: unknown) => console.error("the shell failed to start", err));
