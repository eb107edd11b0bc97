// The dashboard's health section: cache size, usage of the local database,
// and the local stack's services. Each part loads on its own, so a stopped
// container engine (the usual case) never hides the other two.
import { useCallback, useEffect, useState } from "react";
import { asCommandError, call, type CacheUsage, type CommandError, type StackView, type UsageMetrics } from "@augment-it/host-client";
import { useEvent } from "@augment-it/messaging";
import { Badge, Button, Stat, StatRow } from "@augment-it/ui-kit";
import { formatBytes, stackSummary } from "./health";

type Result<T> = { value: T } | { error: CommandError } | null;

async function attempt<T>(load: () => Promise<T>): Promise<Result<T>> {
  try {
    return { value: await load() };
  } catch (err) {
    return { error: asCommandError(err) };
  }
}

export function Health() {
  const [cache, setCache] = useState<Result<CacheUsage>>(null);
  const [usage, setUsage] = useState<Result<UsageMetrics>>(null);
  const [stack, setStack] = useState<Result<StackView>>(null);

  const reload = useCallback(() => {
    void attempt(() => call("cache_usage")).then(setCache);
    void attempt(() => call("usage_metrics")).then(setUsage);
    void attempt(() => call("stack_status")).then(setStack);
  }, []);
  useEffect(reload, [reload]);
  useEvent("run.finished", reload);
  useEvent("remotes.changed", reload);

  return (
    <section className="admin-health" data-testid="admin-health">
      <h3>Cache</h3>
      {cache && "error" in cache && <p className="aui-muted">Cache size unavailable: {cache.error.message}</p>}
      {cache && "value" in cache && (
        <StatRow>
          <Stat label="Cache size" value={formatBytes(cache.value.bytes)} />
          <Stat label="Blobs" value={cache.value.blobs} />
          <Stat label="Installed versions" value={cache.value.versions} />
        </StatRow>
      )}
      <h3>Usage</h3>
      {usage && "error" in usage && <p className="aui-muted">Usage unavailable: {usage.error.message}</p>}
      {usage && "value" in usage && (
        <StatRow>
          <Stat label="Datasets" value={usage.value.datasets} />
          <Stat label="Records" value={usage.value.records} />
          <Stat label="Templates" value={usage.value.templates} />
          <Stat label="Requests" value={`${usage.value.requests} (${usage.value.approvedRequests} approved)`} />
          <Stat label="Runs" value={usage.value.runs} />
          <Stat label="Responses" value={`${usage.value.responses} (${usage.value.failedResponses} failed)`} />
          <Stat label="Tokens" value={`${usage.value.inputTokens} in / ${usage.value.outputTokens} out`} />
        </StatRow>
      )}
      <h3>Local stack</h3>
      {stack && (
        <p data-testid="admin-stack-summary">
          {stackSummary("error" in stack ? stack : { view: stack.value })}
        </p>
      )}
      {stack && "value" in stack && stack.value.services.length > 0 && (
        <ul className="admin-services">
          {stack.value.services.map((s) => (
            <li key={s.service} data-service={s.service}>
              {s.service}{" "}
              <Badge tone={s.health === "healthy" ? "success" : s.state === "running" ? "warning" : "danger"}>
                {s.state}, {s.health}
              </Badge>
            </li>
          ))}
        </ul>
      )}
      <Button onClick={reload}>Refresh health</Button>
    </section>
  );
}
