// The dashboard's health section: cache size, usage of the local database,
// and the local stack's services. Each part loads on its own, with its own
// loading line and error (and retry), so a stopped container engine (the
// usual case, a state rather than an error) never hides the other two.
import { useCallback, useEffect, useState } from "react";
import { asCommandError, call, type AiCacheSize, type CacheUsage, type CommandError, type StackView, type UsageMetrics } from "@augment-it/host-client";
import { useEvent } from "@augment-it/messaging";
import { Badge, Button, ErrorState, Stat, StatRow } from "@augment-it/ui-kit";
import { formatBytes, stackSummary } from "./health";

type Result<T> = { value: T } | { error: CommandError } | null;

async function attempt<T>(load: () => Promise<T>): Promise<Result<T>> {
  try {
    return { value: await load() };
  } catch (err) {
    return { error: asCommandError(err) };
  }
}

/** The AI response cache: what it holds, and "Clear AI cache" behind a
 * confirm step (nothing else removes an answer from it). */
export function AiCache({ version }: { version: number }) {
  const [size, setSize] = useState<Result<AiCacheSize>>(null);
  const [confirming, setConfirming] = useState(false);
  const [clearing, setClearing] = useState(false);
  const [clearError, setClearError] = useState<string | null>(null);
  const [cleared, setCleared] = useState<string | null>(null);
  const reload = useCallback(() => void attempt(() => call("ai_cache_size")).then(setSize), []);
  useEffect(() => reload(), [reload, version]);

  const clear = async () => {
    setClearing(true);
    setClearError(null);
    setCleared(null);
    try {
      const removed = await call("prune_ai_cache", {});
      setCleared(`Cleared the AI cache: ${removed} answer${removed === 1 ? "" : "s"} removed.`);
      setConfirming(false);
      reload();
    } catch (err) {
      setClearError(asCommandError(err).message);
    } finally {
      setClearing(false);
    }
  };

  return (
    <div data-testid="admin-ai-cache">
      <h3>AI answers cache</h3>
      {size === null && <Loading what="the AI cache size" />}
      {size && "error" in size && <ErrorState title="Could not load the AI cache size" detail={size.error.message} onRetry={reload} />}
      {size && "value" in size && (
        <>
          <StatRow>
            <Stat label="Cached answers" value={size.value.entries} />
            <Stat label="AI cache size" value={formatBytes(size.value.bytes)} />
          </StatRow>
          {size.value.entries === 0 ? (
            <p className="aui-muted">Nothing cached yet: answers are kept here after a run, so sending the same request again costs nothing.</p>
          ) : confirming ? (
            <p role="group" aria-label="Confirm clearing the AI cache">
              Remove all {size.value.entries} cached answers? Runs will ask the providers again (and pay for it).{" "}
              <Button variant="primary" data-testid="admin-ai-cache-confirm" disabled={clearing} onClick={() => void clear()}>
                {clearing ? "Clearing…" : "Clear"}
              </Button>{" "}
              <Button data-testid="admin-ai-cache-keep" disabled={clearing} onClick={() => setConfirming(false)}>
                Keep
              </Button>
            </p>
          ) : (
            <Button data-testid="admin-ai-cache-clear" onClick={() => setConfirming(true)}>
              Clear AI cache
            </Button>
          )}
          {cleared && (
            <p className="aui-muted" role="status" data-testid="admin-ai-cache-cleared">
              {cleared}
            </p>
          )}
          {clearError && (
            <p className="aui-field-error" role="alert" data-testid="admin-ai-cache-error">
              Could not clear the AI cache: {clearError}
            </p>
          )}
        </>
      )}
    </div>
  );
}

export function Health() {
  const [cache, setCache] = useState<Result<CacheUsage>>(null);
  const [usage, setUsage] = useState<Result<UsageMetrics>>(null);
  const [stack, setStack] = useState<Result<StackView>>(null);

  const reloadCache = useCallback(() => void attempt(() => call("cache_usage")).then(setCache), []);
  const reloadUsage = useCallback(() => void attempt(() => call("usage_metrics")).then(setUsage), []);
  const reloadStack = useCallback(() => void attempt(() => call("stack_status")).then(setStack), []);
  // The AI answers cache reloads itself after a clear; a run adds to it.
  const [aiCacheVersion, setAiCacheVersion] = useState(0);
  const reload = useCallback(() => {
    reloadCache();
    reloadUsage();
    reloadStack();
    setAiCacheVersion((v) => v + 1);
  }, [reloadCache, reloadUsage, reloadStack]);
  useEffect(reload, [reload]);
  useEvent("run.finished", reload);
  useEvent("remotes.changed", reload);
  // No container engine is a state the summary reports, not a failure to retry.
  const stackFailed = stack && "error" in stack && stack.error.code !== "engineNotRunning" ? stack.error : null;

  return (
    <section className="admin-health" data-testid="admin-health">
      <h3>Cache</h3>
      {cache === null && <Loading what="the cache size" />}
      {cache && "error" in cache && <ErrorState title="Could not load the cache size" detail={cache.error.message} onRetry={reloadCache} />}
      {cache && "value" in cache && (
        <StatRow>
          <Stat label="Cache size" value={formatBytes(cache.value.bytes)} />
          <Stat label="Blobs" value={cache.value.blobs} />
          <Stat label="Installed versions" value={cache.value.versions} />
        </StatRow>
      )}
      <AiCache version={aiCacheVersion} />
      <h3>Usage</h3>
      {usage === null && <Loading what="the usage" />}
      {usage && "error" in usage && <ErrorState title="Could not load the usage" detail={usage.error.message} onRetry={reloadUsage} />}
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
      {stack === null && <Loading what="the local stack's state" />}
      {stackFailed && <ErrorState title="Could not read the local stack's state" detail={stackFailed.message} onRetry={reloadStack} />}
      {stack && !stackFailed && (
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

function Loading({ what }: { what: string }) {
  return (
    <p className="aui-muted" role="status">
      Loading {what}…
    </p>
  );
}
