import { describe, expect, it } from "vitest";
import { HostError, type ProviderView } from "@augment-it/host-client";
import { checksSummary, defaultModelOf, describeError, formatCost, initialProvider, isResumable, keyLabel, parseBudget, parseOutputTokens, parseRepeats, progressFraction, progressText, targetsToGenerate, waitNotices } from "./logic";

const provider = (name: string, key: ProviderView["key"], defaultModel?: string): ProviderView => ({
  provider: name,
  key,
  envVar: "X",
  defaultBaseUrl: "http://x",
  settings: { defaultModel },
});

describe("logic", () => {
  it("preselects the first provider with a key and its default model", () => {
    const list = [provider("anthropic", "notSet"), provider("openai", "fromEnvironment", "gpt-4o-mini")];
    expect(initialProvider(list)?.provider).toBe("openai");
    expect(defaultModelOf(list[1])).toBe("gpt-4o-mini");
    expect(defaultModelOf(list[0])).toBe("");
  });

  it("offers a provider the person added, which needs no key, before a built-in one without a key", () => {
    const ollama: ProviderView = { ...provider("ollama", "notSet", "llama3.2"), settings: { kind: "ollama", defaultModel: "llama3.2" } };
    const list = [provider("openai", "notSet"), ollama];
    expect(initialProvider(list)?.provider).toBe("ollama");
    expect(keyLabel(ollama)).toBe("ollama, no key");
    expect(keyLabel(provider("openai", "notSet"))).toBe("no key");
    expect(keyLabel(provider("openai", "set"))).toBe("key set");
    expect(initialProvider([...list, provider("groq", "set")])?.provider).toBe("groq");
  });

  it("adds the typed target to the chosen ones once", () => {
    const chosen = [{ provider: "openai", model: "a" }];
    expect(targetsToGenerate(chosen, { provider: "openai", model: " a " })).toEqual(chosen);
    expect(targetsToGenerate(chosen, { provider: "openai", model: "b" })).toHaveLength(2);
    expect(targetsToGenerate([], { provider: "openai", model: "" })).toEqual([]);
  });

  it("sums up a run's checks, and says nothing for a run without checks or schema", () => {
    const none = { run_id: 1, checked: 0, passed: 0, pass_rate: null, assertions: [], schema_valid: 0, schema_invalid: 0 };
    expect(checksSummary(none)).toEqual([]);
    const judged = {
      ...none,
      checked: 3,
      passed: 2,
      pass_rate: 2 / 3,
      assertions: [{ assertion: "judge:openai/gpt-4o-mini:Fair?", passed: 2, failed: 0, unscored: 1 }],
      schema_valid: 2,
      schema_invalid: 1,
    };
    expect(checksSummary(judged)).toEqual([
      "Checks: 2 of 3 answers passed every check (67%)",
      "judge:openai/gpt-4o-mini:Fair?: 2 passed, 0 failed, 1 not scored",
      "Schema: 2 valid, 1 not valid",
    ]);
  });

  it("reads progress and cost", () => {
    const p = { run_id: 1, status: "running" as const, total: 4, queued: 1, in_flight: 1, answered: 1, failed: 1, note: "rate limited" };
    expect(progressText(p)).toBe("answered 1 of 4, failed 1 (rate limited)");
    expect(progressText({ ...p, note: null, cached: 1 })).toBe("answered 1 (1 from the AI cache) of 4, failed 1");
    expect(progressText({ ...p, note: null, cached: 0 })).toBe("answered 1 of 4, failed 1");
    expect(progressFraction(p)).toBe(0.5);
    expect(formatCost(null)).toBe("unknown price");
    expect(formatCost(1.5)).toBe("$1.5000");
  });

  it("offers a stopped run for resume only while it has requests left", () => {
    const p = { run_id: 1, total: 4, queued: 2, in_flight: 0, answered: 2, failed: 0, note: null };
    expect(isResumable({ ...p, status: "cancelled" })).toBe(true);
    expect(isResumable({ ...p, status: "paused" })).toBe(true);
    expect(isResumable({ ...p, status: "running" })).toBe(false);
    expect(isResumable({ ...p, status: "cancelled", queued: 0 })).toBe(false);
    expect(isResumable({ ...p, status: "completed", queued: 0 })).toBe(false);
  });

  it("accepts only whole output-token counts", () => {
    expect(parseOutputTokens(" 256 ")).toBe(256);
    expect(parseOutputTokens("0")).toBe(0);
    expect(parseOutputTokens("-1")).toBeNull();
    expect(parseOutputTokens("2.5")).toBeNull();
    expect(parseOutputTokens("")).toBeNull();
  });

  it("says what to do about offline and missing keys", () => {
    expect(describeError(new HostError("start_run", { code: "offline", message: "no answer" }))).toContain("Settings → Keys");
    expect(describeError(new HostError("start_run", { code: "noKey", message: "openai has none" }))).toContain("set the provider's API key");
    // The code decides, not the words of the message.
    expect(describeError(new HostError("start_run", { code: "provider", message: "no API key for openai" }))).toBe("no API key for openai");
    expect(describeError(new HostError("x", { code: "missingFields", message: "record 3 lacks publisher" }))).toBe("record 3 lacks publisher");
  });

  it("keeps one wait line per request, newest last, until its answer, failure or the run's end", () => {
    const retry = { kind: "retrying", runId: 9, requestId: 1, message: "openai: rate limited, retrying in 2 s (attempt 2 of 4)" } as const;
    const wait = { kind: "waiting", runId: 9, requestId: 2, message: "openai: waiting 3 s for the rate limit to reset", delayMs: 3000 } as const;
    let waits = waitNotices(waitNotices([], retry), wait);
    expect(waits.map((w) => w.requestId)).toEqual([1, 2]);
    waits = waitNotices(waits, { ...retry, message: "openai: rate limited, retrying in 4 s (attempt 3 of 4)" });
    expect(waits).toEqual([{ requestId: 2, message: wait.message }, { requestId: 1, message: "openai: rate limited, retrying in 4 s (attempt 3 of 4)" }]);
    expect(waitNotices(waits, { kind: "sending", runId: 9, requestId: 3, attempt: 1 })).toBe(waits);
    expect(waitNotices(waits, { kind: "failed", runId: 9, requestId: 1, code: "rate_limited", message: "gave up" }).map((w) => w.requestId)).toEqual([2]);
    expect(waitNotices(waits, { kind: "answered", runId: 9, requestId: 2 }).map((w) => w.requestId)).toEqual([1]);
    const p = { run_id: 9, status: "paused", total: 2, queued: 1, in_flight: 0, answered: 1, failed: 0, note: "paused by you" } as const;
    expect(waitNotices(waits, { kind: "finished", runId: 9, progress: p })).toEqual([]);
  });

  it("reads a budget cap in dollars, empty for none", () => {
    expect(parseBudget("")).toBeNull();
    expect(parseBudget("  ")).toBeNull();
    expect(parseBudget("2.50")).toBe(2.5);
    expect(parseBudget("$3")).toBe(3);
    expect(parseBudget(".5")).toBe(0.5);
    for (const bad of ["0", "-1", "abc", "1e3", "1,5", "2.5.1", "0.00"]) expect(parseBudget(bad)).toBe("invalid");
  });
});

describe("parseRepeats", () => {
  it("takes a whole number from 1 to 10 and nothing else", () => {
    expect(parseRepeats("1")).toBe(1);
    expect(parseRepeats(" 10 ")).toBe(10);
    for (const bad of ["", "0", "11", "2.5", "-3", "three", "1e1"]) expect(parseRepeats(bad)).toBe("invalid");
  });
});
