import { describe, expect, it } from "vitest";
import { HostError, type ProviderView } from "@augment-it/host-client";
import { defaultModelOf, describeError, formatCost, initialProvider, isResumable, keyLabel, parseOutputTokens, progressFraction, progressText, targetsToGenerate } from "./logic";

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
});
