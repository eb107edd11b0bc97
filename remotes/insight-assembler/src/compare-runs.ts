// Pure rules of the run comparison: how runs are named in the pickers, the
// summary line, and the word-level diff of two answers.
import { diffWords } from "diff";
import type { CompareSummary, ModelTarget, PairAnswer, RunSummary } from "@augment-it/host-client";
import { modelKey } from "./logic";

/** "Run 12 · 40 answered · openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest" */
export function runLabel(run: RunSummary): string {
  const models = run.targets.map(modelKey).join(", ");
  return `Run ${run.run_id} · ${run.answered} answered${models ? ` · ${models}` : ""}`;
}

/** The model a side must name: the run's only one, or null when it has several to choose from. */
export function onlyTarget(run: RunSummary | undefined): ModelTarget | null {
  return run?.targets.length === 1 ? run.targets[0] : null;
}

/** "Agreement 50% (1 of 2 records both runs answered) · 1 differ · 2 missing an answer" */
export function summaryText(summary: CompareSummary): string {
  const both = summary.agree + summary.differ;
  const rate =
    summary.agreement_rate === null ? "No record has both answers" : `Agreement ${Math.round(summary.agreement_rate * 100)}% (${summary.agree} of ${both} records with both answers)`;
  return `${rate} · ${summary.differ} differ · ${summary.missing} missing an answer · ${summary.records} records`;
}

export interface DiffPart {
  text: string;
  /** "same", or on which side only the words appear. */
  kind: "same" | "removed" | "added";
}

/**
 * The candidate's answer against the baseline's, word by word, ignoring
 * case and spacing as the agreement rule in Rust does (local-data
 * `answers_agree`), so two answers counted as agreeing show no change.
 */
export function wordDiff(baseline: string, candidate: string): DiffPart[] {
  return diffWords(baseline, candidate, { ignoreCase: true }).map((change) => ({
    text: change.value,
    kind: change.added ? "added" : change.removed ? "removed" : "same",
  }));
}

/** The answer, or what went wrong, or that there is none. */
export function pairAnswerText(answer: PairAnswer | null): string {
  if (!answer) return "no answer: not sent in this run";
  return answer.text ?? `no answer: ${answer.error_code ?? "error"}`;
}
