// Pure rules of the Stability panel (issue 17 point 6): which runs asked
// each prompt more than once, and how their counts read. Whether a record is
// stable is decided in Rust over the whole run (local-data `run_stability`).
import type { RunSummary, SampleAnswer, StabilitySummary } from "@augment-it/host-client";

/** The runs that asked each prompt more than once, newest first as listed (an older shell has no `repeats`: none). */
export function repeatedRuns(runs: RunSummary[]): RunSummary[] {
  return runs.filter((run) => (run.repeats ?? 1) > 1);
}

/** "Run 12 · each prompt asked 3 times · openai/gpt-4o-mini" */
export function repeatedRunLabel(run: RunSummary): string {
  const models = run.targets.map((t) => `${t.provider}/${t.model}`).join(", ");
  return `Run ${run.run_id} · each prompt asked ${run.repeats ?? 1} times${models ? ` · ${models}` : ""}`;
}

/** "Stability 67% (2 of 3 records answered alike all 3 times) · 1 unstable · 1 with a sample unanswered · 4 records" */
export function stabilityText(summary: StabilitySummary): string {
  const rate =
    summary.stability_rate === null
      ? "No record has every sample answered yet"
      : `Stability ${Math.round(summary.stability_rate * 100)}% (${summary.stable} of ${summary.complete} records answered alike all ${summary.repeats} times)`;
  const incomplete = summary.records - summary.complete;
  return `${rate} · ${summary.unstable} unstable · ${incomplete} with a sample unanswered · ${summary.records} records`;
}

/** One sample's answer as shown: its text, or what went wrong. */
export function sampleText(sample: SampleAnswer): string {
  if (sample.text !== null) return sample.text;
  return sample.error_code ? `no answer: ${sample.error_code}` : "no answer yet";
}
