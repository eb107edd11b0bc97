// Runs one action at a time per name and tells the UI which are in flight,
// so each button is disabled only while its own action runs.
import { useCallback, useState } from "react";

export function useBusy() {
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const run = useCallback(async (name: string, action: () => Promise<void>) => {
    setBusy((current) => ({ ...current, [name]: true }));
    try {
      await action();
    } finally {
      setBusy((current) => ({ ...current, [name]: false }));
    }
  }, []);
  return { busy: (name: string) => busy[name] === true, run };
}
