// The run comparison against Tauri's IPC mock answering like the shell.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ComparePage, RunSummary } from "@augment-it/host-client";
import { CompareRuns } from "./CompareRuns";
import { summaryText, wordDiff } from "./compare-runs";

afterEach(() => {
  cleanup();
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

function run(id: number, targets: [string, string][]): RunSummary {
  return {
    run_id: id,
    status: "completed",
    total: 4,
    queued: 0,
    in_flight: 0,
    answered: 4,
    failed: 0,
    note: null,
    dataset_id: 7,
    template_version_ids: [3],
    targets: targets.map(([provider, model]) => ({ provider, model })),
    created_at: 1,
    finished_at: 2,
  };
}

const RUNS = [run(2, [["openai", "a"], ["anthropic", "b"]]), run(1, [["openai", "a"]])];

const PAGE: ComparePage = {
  pairs: [
    {
      record_id: 10,
      record_position: 0,
      record: { title: "Dune" },
      baseline: { response_id: 1, provider: "openai", model: "a", text: "A novel about sand.", error_code: null },
      candidate: { response_id: 5, provider: "anthropic", model: "b", text: "A NOVEL about   spice.", error_code: null },
      verdict: "differ",
    },
    {
      record_id: 11,
      record_position: 1,
      record: { title: "Emma" },
      baseline: { response_id: 2, provider: "openai", model: "a", text: "A romance.", error_code: null },
      candidate: { response_id: 6, provider: "anthropic", model: "b", text: null, error_code: "server_error" },
      verdict: "missing",
    },
  ],
  summary: { records: 4, agree: 1, differ: 1, missing: 2, agreement_rate: 0.5 },
  next_after: 1,
};

/** Like Rust: the counts come with a first page only. */
const pageAfter = (args: Record<string, unknown>) => ((args.query as { after: number | null }).after === null ? PAGE : { ...PAGE, summary: null });

function shell(calls: Call[], compare: (args: Record<string, unknown>) => unknown = pageAfter) {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_runs") return RUNS;
    if (cmd === "compare_answers") return compare(a);
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
}

const compared = (calls: Call[]) => calls.filter((c) => c.cmd === "compare_answers").map((c) => c.args.query as Record<string, unknown>);

describe("wordDiff", () => {
  it("marks the changed words and ignores case and spacing like the agreement rule", () => {
    const parts = wordDiff("A novel about sand.", "A NOVEL about   spice.");
    expect(parts.filter((p) => p.kind === "removed").map((p) => p.text.trim())).toEqual(["sand"]);
    expect(parts.filter((p) => p.kind === "added").map((p) => p.text.trim())).toEqual(["spice"]);
    expect(wordDiff("Same words here", "same  WORDS here").every((p) => p.kind === "same")).toBe(true);
  });

  it("says the agreement rate with what it counts", () => {
    expect(summaryText(PAGE.summary!)).toBe("Agreement 50% (1 of 2 records with both answers) · 1 differ · 2 missing an answer · 4 records");
    expect(summaryText({ records: 3, agree: 0, differ: 0, missing: 3, agreement_rate: null })).toMatch(/^No record has both answers/);
  });
});

describe("CompareRuns", () => {
  it("compares once both sides name one model, and shows the summary and the word diff", async () => {
    const calls: Call[] = [];
    shell(calls);
    render(<CompareRuns datasetId={7} revision={0} />);
    await waitFor(() => expect(screen.getByTestId("ia-baseline-run")).toBeTruthy());
    expect(calls[0]).toEqual({ cmd: "list_runs", args: { datasetId: 7 } });

    fireEvent.change(screen.getByTestId("ia-baseline-run"), { target: { value: "1" } });
    fireEvent.change(screen.getByTestId("ia-candidate-run"), { target: { value: "2" } });
    expect(screen.getByTestId("ia-candidate-model")).toBeTruthy();
    expect(compared(calls)).toEqual([]);

    fireEvent.change(screen.getByTestId("ia-candidate-model"), { target: { value: "anthropic/b" } });
    await waitFor(() => expect(screen.getByTestId("ia-compare-summary").textContent).toMatch(/^Agreement 50%/));
    expect(compared(calls)).toEqual([
      {
        baseline: { run_id: 1, target: { provider: "openai", model: "a" } },
        candidate: { run_id: 2, target: { provider: "anthropic", model: "b" } },
        filter: "all",
        after: null,
        limit: 50,
      },
    ]);
    const [dune, emma] = screen.getAllByTestId("ia-pair");
    expect(dune.getAttribute("data-verdict")).toBe("differ");
    expect(within(dune).getByText("sand").tagName).toBe("DEL");
    expect(within(dune).getByText("spice").tagName).toBe("INS");
    expect(emma.textContent).toContain("New: no answer: server_error");
  });

  it("pages by record position and starts again on a new filter", async () => {
    const calls: Call[] = [];
    shell(calls);
    render(<CompareRuns datasetId={7} revision={0} />);
    await waitFor(() => expect(screen.getByTestId("ia-baseline-run")).toBeTruthy());
    fireEvent.change(screen.getByTestId("ia-baseline-run"), { target: { value: "1" } });
    fireEvent.change(screen.getByTestId("ia-candidate-run"), { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("ia-candidate-model"), { target: { value: "anthropic/b" } });
    await waitFor(() => expect(compared(calls)).toHaveLength(1));

    fireEvent.click(await screen.findByText("Next records"));
    await waitFor(() => expect(compared(calls).at(-1)).toMatchObject({ after: 1 }));
    expect(screen.getByTestId("ia-compare-summary").textContent).toMatch(/^Agreement 50%/);
    fireEvent.click(screen.getByText("Previous records"));
    await waitFor(() => expect(compared(calls).at(-1)).toMatchObject({ after: null }));

    fireEvent.click(screen.getByText("Next records"));
    await waitFor(() => expect(compared(calls).at(-1)).toMatchObject({ after: 1 }));
    fireEvent.change(screen.getByTestId("ia-compare-show"), { target: { value: "differ" } });
    await waitFor(() => expect(compared(calls).at(-1)).toMatchObject({ filter: "differ", after: null }));
  });

  it("says why a comparison was refused", async () => {
    const calls: Call[] = [];
    shell(calls, () => {
      throw { code: "invalid_input", message: "run 1 and run 2 answered different datasets" };
    });
    render(<CompareRuns datasetId={7} revision={0} />);
    await waitFor(() => expect(screen.getByTestId("ia-baseline-run")).toBeTruthy());
    fireEvent.change(screen.getByTestId("ia-baseline-run"), { target: { value: "1" } });
    fireEvent.change(screen.getByTestId("ia-candidate-run"), { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("ia-candidate-model"), { target: { value: "openai/a" } });
    expect(await screen.findByText("Could not compare the runs")).toBeTruthy();
    expect(screen.getByText(/different datasets/)).toBeTruthy();
  });

  it("says there is nothing to compare with fewer than two runs", async () => {
    mockIPC((cmd) => (cmd === "list_runs" ? [RUNS[1]] : null));
    render(<CompareRuns datasetId={7} revision={0} />);
    expect(await screen.findByText("Nothing to compare yet")).toBeTruthy();
  });
});
