// The entry is small on purpose: the stylesheet and the static frame in
// index.html are on screen first, the shell reports that paint, and only
// then is React with the rest of the app loaded and started (start.tsx).
import "./language";
import "./styles.css";
import { afterNextFrame, reportShellPainted } from "./painted";

afterNextFrame()
  .then(() => {
    reportShellPainted();
    return import("./start");
  })
  .catch((err: unknown) => console.error("the shell failed to start", err));
