// The Stability panel against Tauri's IPC mock answering like the shell.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { RunSummary, StabilityPage } from "@augment-it/host-client";
import { Stability } from "./Stability";
import { repeatedRuns, sampleText, stabilityText } from "./run-stability";

afterEach(() => {
  cleanup();
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

function run(id: number, repeats: number | undefined, targets: [string, string][]): RunSummary {
  return {
    run_id: id,
    status: "completed",
    total: 9,
    queued: 0,
    in_flight: 0,
    answered: 9,
    failed: 0,
    note: null,
    ...(repeats === undefined ? {} : { repeats }),
    dataset_id: 7,
    template_version_ids: [3],
    targets: targets.map(([provider, model]) => ({ provider, model })),
    created_at: 1,
    finished_at: 2,
  };
}

const PAGE: StabilityPage = {
  target: { provider: "openai", model: "a" },
  summary: { repeats: 3, records: 4, complete: 3, stable: 2, unstable: 1, stability_rate: 2 / 3 },
  unstable: [
    {
      record_id: 11,
      record_position: 1,
      record: { title: "Emma" },
      samples: [
        { sample: 0, request_id: 1, response_id: 1, text: "A romance.", error_code: null },
        { sample: 1, request_id: 2, response_id: 2, text: "A comedy of manners.", error_code: null },
        { sample: 2, request_id: 3, response_id: 3, text: "A romance.", error_code: null },
      ],
    },
  ],
  next_after: 1,
};

/** Like Rust: the counts come with a first page only. */
const pageAfter = (args: Record<string, unknown>) => ((args.query as { after: number | null }).after === null ? PAGE : { ...PAGE, summary: null, unstable: [], next_after: null });

function shell(calls: Call[], runs: RunSummary[]) {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === "list_runs") return runs;
    if (cmd === "run_stability") return pageAfter(a);
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
}

describe("stability rules", () => {
  it("keeps the runs with repeats, an older shell's runs (no repeats field) left out", () => {
    const runs = [run(3, 3, [["openai", "a"]]), run(2, 1, [["openai", "a"]]), run(1, undefined, [["openai", "a"]])];
    expect(repeatedRuns(runs).map((r) => r.run_id)).toEqual([3]);
  });

  it("reads the counts and each sample's answer", () => {
    expect(stabilityText(PAGE.summary!)).toBe("Stability 67% (2 of 3 records answered alike all 3 times) · 1 unstable · 1 with a sample unanswered · 4 records");
    expect(stabilityText({ ...PAGE.summary!, complete: 0, stable: 0, unstable: 0, stability_rate: null })).toContain("No record has every sample answered yet");
    expect(sampleText({ sample: 1, request_id: 2, response_id: 4, text: null, error_code: "server_error" })).toBe("no answer: server_error");
    expect(sampleText({ sample: 1, request_id: 2, response_id: null, text: null, error_code: null })).toBe("no answer yet");
  });
});

describe("Stability", () => {
  it("reads the newest run with repeats: the summary over the whole run and each unstable record's answers", async () => {
    const calls: Call[] = [];
    shell(calls, [run(4, 1, [["openai", "a"]]), run(3, 3, [["openai", "a"]])]);
    render(<Stability datasetId={7} revision={0} />);
    await waitFor(() => expect(screen.getByTestId("ia-stability-summary").textContent).toContain("Stability 67%"));
    expect(calls.find((c) => c.cmd === "run_stability")?.args).toEqual({ query: { run_id: 3, target: { provider: "openai", model: "a" }, after: null, limit: 50 } });
    const records = screen.getAllByTestId("ia-unstable-record");
    expect(records).toHaveLength(1);
    expect(within(records[0]).getByText("title: Emma")).toBeTruthy();
    expect(records[0].textContent).toContain("Answer 2: A comedy of manners.");
    fireEvent.click(screen.getByText("Next records"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "run_stability").at(-1)?.args).toEqual({ query: { run_id: 3, target: { provider: "openai", model: "a" }, after: 1, limit: 50 } }));
    expect(screen.getByTestId("ia-stability-summary").textContent).toContain("Stability 67%"); // kept while paging
  });

  it("asks for a model when the run sent to several", async () => {
    const calls: Call[] = [];
    shell(calls, [run(5, 2, [["openai", "a"], ["anthropic", "b"]])]);
    render(<Stability datasetId={7} revision={0} />);
    await screen.findByText("Choose one of the run's models.");
    expect(calls.some((c) => c.cmd === "run_stability")).toBe(false);
    fireEvent.change(screen.getByTestId("ia-stability-model"), { target: { value: "anthropic/b" } });
    await waitFor(() => expect(calls.find((c) => c.cmd === "run_stability")?.args).toEqual({ query: { run_id: 5, target: { provider: "anthropic", model: "b" }, after: null, limit: 50 } }));
  });

  it("says how to get a run with repeats when there is none", async () => {
    shell([], [run(4, 1, [["openai", "a"]])]);
    render(<Stability datasetId={7} revision={0} />);
    await screen.findByText("No run with repeats yet");
  });
});
