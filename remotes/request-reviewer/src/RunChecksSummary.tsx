// How a run's answers scored against its checks, over the whole run (the
// counts come from Rust: `run_checks`), read when the run starts and again
// whenever its status changes (not at every progress event: counting a
// large run's checks is a query over all of them).
import { useEffect, useState } from "react";
import { call, type RunChecks } from "@augment-it/host-client";
import { checksSummary, describeError } from "./logic";

export function RunChecksSummary({ runId, status }: { runId: number; status: string }) {
  const [checks, setChecks] = useState<RunChecks | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    call("run_checks", { runId }).then(
      (found) => live && (setChecks(found), setError(null)),
      (err: unknown) => live && setError(describeError(err)),
    );
    return () => {
      live = false;
    };
  }, [runId, status]);
  if (error) return <p className="aui-muted" data-testid="rr-run-checks">Could not read the run's checks: {error}</p>;
  const lines = checks ? checksSummary(checks) : [];
  if (lines.length === 0) return null;
  return (
    <ul className="aui-muted" data-testid="rr-run-checks">
      {lines.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}
