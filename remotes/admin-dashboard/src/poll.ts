// Polling while the page is shown: `load` at once, then `everyMs` after each
// answer (never two at a time), paused while the document is hidden (another
// window in front, minimised) and stopped when the component unmounts.
import { useEffect } from "react";

export function usePoll(load: () => Promise<void>, everyMs: number): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let loading = false;
    let stopped = false;
    const visible = () => document.visibilityState !== "hidden";

    const tick = async () => {
      timer = undefined;
      if (stopped || loading || !visible()) return;
      loading = true;
      try {
        await load();
      } finally {
        loading = false;
      }
      if (!stopped && visible() && timer === undefined) timer = setTimeout(() => void tick(), everyMs);
    };
    const onVisibility = () => {
      if (!visible()) {
        clearTimeout(timer);
        timer = undefined;
      } else if (timer === undefined) {
        void tick();
      }
    };

    void tick();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [load, everyMs]);
}
