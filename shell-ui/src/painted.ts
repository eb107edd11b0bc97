// Tells the shell, once per start, that the page has painted the shell with
// the remotes from the cache: the start-up benchmark times spawn → this.
import { useEffect, useRef } from "react";
import { ipc } from "./ipc";

export function useSignalPainted(ready: boolean) {
  const sent = useRef(false);
  useEffect(() => {
    if (!ready || sent.current) return;
    sent.current = true;
    // The frame with the DOM is painted before the timeout after the next animation frame runs.
    requestAnimationFrame(() =>
      setTimeout(() => {
        ipc.shellPainted().catch((err) => console.error("could not report the first paint", err));
      }, 0),
    );
  }, [ready]);
}
