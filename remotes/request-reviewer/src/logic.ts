// Pure rules of the Request Reviewer: which targets to generate for, what a
// run's progress reads as, and what to tell the user about a failed command.
import { HostError, type ErrorCode, type ModelTarget, type ProviderView, type RunChecks, type RunEvent, type RunProgress } from "@augment-it/host-client";

export const PAGE_SIZE = 100;

/** The model a provider starts with: its saved default, else nothing (the user must type one). */
export function defaultModelOf(provider: ProviderView | undefined): string {
  return provider?.settings.defaultModel?.trim() ?? "";
}

/** Whether the provider can be called: a key in the keychain or in its environment variable. */
export function keyIsSet(provider: ProviderView): boolean {
  return provider.key !== "notSet";
}

/** Whether the person added it (Ollama, LM Studio, vLLM, any OpenAI-compatible server): a key is optional. */
export function isAdded(provider: ProviderView): boolean {
  return provider.settings.kind != null;
}

/** How the provider list names a provider's key: an added provider usually needs none. */
export function keyLabel(provider: ProviderView): string {
  if (keyIsSet(provider)) return "key set";
  return isAdded(provider) ? `${provider.settings.kind}, no key` : "no key";
}

/** The provider to preselect: the first with a key, else the first the person added (usable without one), else the first. */
export function initialProvider(providers: ProviderView[]): ProviderView | undefined {
  return providers.find(keyIsSet) ?? providers.find(isAdded) ?? providers[0];
}

export function sameTarget(a: ModelTarget, b: ModelTarget): boolean {
  return a.provider === b.provider && a.model === b.model;
}

/** The chosen targets plus the one being edited (when it has a model), each once. */
export function targetsToGenerate(chosen: ModelTarget[], current: ModelTarget): ModelTarget[] {
  const all = current.model.trim() ? [...chosen, { provider: current.provider, model: current.model.trim() }] : chosen;
  return all.filter((target, index) => all.findIndex((other) => sameTarget(other, target)) === index);
}

export function targetLabel(target: ModelTarget): string {
  return `${target.provider}/${target.model}`;
}

/** "answered A of T, failed F", plus the run's note when it has one. */
export function progressText(progress: RunProgress): string {
  const fromCache = progress.cached ? ` (${progress.cached} from the AI cache)` : "";
  const base = `answered ${progress.answered}${fromCache} of ${progress.total}, failed ${progress.failed}`;
  return progress.note ? `${base} (${progress.note})` : base;
}

/** Whether a stopped run still has requests to send (paused offline, cancelled, cut off by a crash). */
export function isResumable(progress: RunProgress): boolean {
  return progress.status !== "running" && progress.status !== "completed" && progress.queued + progress.in_flight > 0;
}

/** What one request of a run waits for: a retry after a 429 or 5xx, or a rate limit's reset. */
export interface WaitNotice {
  requestId: number;
  message: string;
}

/**
 * The waits to show after `event`: a retry or a wait replaces its request's
 * line (newest last); the request's answer, failure or the run's end clears it.
 */
export function waitNotices(current: WaitNotice[], event: RunEvent): WaitNotice[] {
  switch (event.kind) {
    case "retrying":
    case "waiting":
      return [...current.filter((w) => w.requestId !== event.requestId), { requestId: event.requestId, message: event.message }];
    case "answered":
    case "failed":
      return current.some((w) => w.requestId === event.requestId) ? current.filter((w) => w.requestId !== event.requestId) : current;
    case "finished":
      return [];
    default:
      return current;
  }
}

/** The budget cap field: `null` when empty (no cap), a positive number of dollars, or "invalid". */
export function parseBudget(text: string): number | null | "invalid" {
  const trimmed = text.trim().replace(/^\$/, "");
  if (trimmed === "") return null;
  if (!/^\d*\.?\d+$|^\d+\.$/.test(trimmed)) return "invalid";
  const dollars = Number.parseFloat(trimmed);
  return Number.isFinite(dollars) && dollars > 0 ? dollars : "invalid";
}

/** The most times a run may ask each prompt (local-data's `MAX_REPEATS`). */
export const MAX_REPEATS = 10;

/**
 * How many times a run asks each approved prompt (host API 1.7.0: `repeats`),
 * as typed: a whole number from 1 to {@link MAX_REPEATS}, else "invalid".
 */
export function parseRepeats(text: string): number | "invalid" {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return "invalid";
  const repeats = Number.parseInt(trimmed, 10);
  return repeats >= 1 && repeats <= MAX_REPEATS ? repeats : "invalid";
}

/** The checks typed one per line (`contains:…`, `regex:…`, `json`, …); Rust parses and refuses bad ones. */
export function assertionsOf(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Why a run cannot go through the batch API with these options, or null when it can. */
export function batchBlocker(cap: number | null | "invalid"): string | null {
  if (cap !== null) return "A batch cannot stop at a budget cap: clear the cap to send as a batch.";
  return null;
}

/**
 * A run's check results as lines a person reads: the whole run's pass rate,
 * then each assertion's counts, then schema validity. None for a run
 * without checks or a schema.
 */
export function checksSummary(checks: RunChecks): string[] {
  const lines: string[] = [];
  if (checks.assertions.length > 0) {
    const rate = checks.pass_rate === null ? "" : ` (${Math.round(checks.pass_rate * 100)}%)`;
    lines.push(`Checks: ${checks.passed} of ${checks.checked} answers passed every check${rate}`);
    for (const tally of checks.assertions) {
      const unscored = tally.unscored > 0 ? `, ${tally.unscored} not scored` : "";
      lines.push(`${tally.assertion}: ${tally.passed} passed, ${tally.failed} failed${unscored}`);
    }
  }
  if (checks.schema_valid + checks.schema_invalid > 0) {
    lines.push(`Schema: ${checks.schema_valid} valid, ${checks.schema_invalid} not valid`);
  }
  return lines;
}

/** Share of the run that is done (answered or failed), 0 to 1. */
export function progressFraction(progress: RunProgress): number {
  if (progress.total <= 0) return 0;
  return Math.min(1, (progress.answered + progress.failed) / progress.total);
}

/** The output-tokens field as a whole number of at least 0, else null (the field says what to type). */
export function parseOutputTokens(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number.parseInt(trimmed, 10) : null;
}

export function formatCost(cost: number | null): string {
  if (cost === null) return "unknown price";
  return `$${cost < 0.01 && cost > 0 ? cost.toFixed(6) : cost.toFixed(4)}`;
}

// The shell's error codes (generated from src-tauri/src/error.rs).
const OFFLINE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["offline", "unreachable"]);
const NO_KEY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["noKey"]);

/** A failed command in words the user can act on. */
export function describeError(err: unknown): string {
  if (!(err instanceof HostError)) return err instanceof Error ? err.message : String(err);
  const code = err.code;
  if (OFFLINE_CODES.has(code)) {
    return `${err.message}: check your connection or the provider's base URL in Settings → Keys.`;
  }
  if (NO_KEY_CODES.has(code)) {
    return `${err.message}: set the provider's API key in Settings → Keys.`;
  }
  return err.message;
}
