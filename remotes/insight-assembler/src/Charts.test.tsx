// The Insight Assembler's charts: the shaping of `response_stats`, and the
// section's states against Tauri's IPC mock (happy-dom has no canvas, so each
// chart is its table here; tests/shell sees the drawn ones).
import { afterEach, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ResponseStats } from "@augment-it/host-client";
import { Charts } from "./Charts";
import { answerLength, costPerModel, tagCounts, unpricedModels } from "./charts";

afterEach(() => clearMocks());

const STATS: ResponseStats = {
  models: [
    { provider: "anthropic", model: "claude-x", answers: 2, failures: 0, meanAnswerChars: 120.4, inputTokens: 10, outputTokens: 5, costUsd: null },
    { provider: "openai", model: "gpt-4o-mini", answers: 0, failures: 3, meanAnswerChars: null, inputTokens: 0, outputTokens: 0, costUsd: 0 },
  ],
  tags: [{ tag: "good", count: 2 }],
  distinctTags: 1,
};

describe("chart shaping", () => {
  it("one bar per model, none where a figure is unknown", () => {
    expect(answerLength(STATS)).toMatchObject({ categories: ["anthropic/claude-x", "openai/gpt-4o-mini"], series: [{ values: [120, null] }] });
    expect(costPerModel(STATS).series[0].values).toEqual([null, 0]);
    expect(tagCounts(STATS)).toMatchObject({ categories: ["good"], series: [{ values: [2] }] });
    expect(unpricedModels(STATS)).toEqual(["anthropic/claude-x"]);
  });
});

describe("Charts", () => {
  it("asks for the dataset's stats and charts them", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return STATS;
    });
    const { rerender } = render(<Charts datasetId={7} templateVersionId={3} revision={0} />);
    const length = await screen.findByTestId("chart-answer-length");
    expect(within(length).getByRole("cell", { name: "120" })).toBeTruthy();
    expect(within(screen.getByTestId("chart-cost")).getAllByRole("cell", { name: "—" })).toHaveLength(1);
    expect(screen.getByText("No listed price for anthropic/claude-x.")).toBeTruthy();
    expect(within(screen.getByTestId("chart-tags")).getByRole("rowheader", { name: "good" })).toBeTruthy();
    expect(calls).toEqual([{ cmd: "response_stats", args: { datasetId: 7, templateVersionId: 3 } }]);
    rerender(<Charts datasetId={7} templateVersionId={3} revision={1} />);
    await waitFor(() => expect(calls).toHaveLength(2));
  });

  it("says no runs yet for a dataset without responses, and shows errors", async () => {
    mockIPC(() => ({ models: [], tags: [], distinctTags: 0 }));
    render(<Charts datasetId={7} templateVersionId={null} revision={0} />);
    expect(await screen.findByText("No runs yet")).toBeTruthy();
    clearMocks();
    mockIPC(() => {
      throw { code: "notFound", message: "there is no dataset with id 8" };
    });
    render(<Charts datasetId={8} templateVersionId={null} revision={0} />);
    expect((await screen.findByRole("alert")).textContent).toContain("there is no dataset with id 8");
  });
});

describe("Charts states (issue 16, point 5)", () => {
  it("says it is loading, not that there are no runs, until the answer; a new dataset loads again", async () => {
    const replies: ((stats: ResponseStats) => void)[] = [];
    mockIPC(() => new Promise((resolve) => replies.push(resolve)));
    const { rerender } = render(<Charts datasetId={7} templateVersionId={3} revision={0} />);
    expect(screen.getByText("Loading charts…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("No runs yet")).toBeNull();
    await waitFor(() => expect(replies).toHaveLength(1));
    await act(async () => replies[0](STATS));
    expect(await screen.findByTestId("chart-answer-length")).toBeTruthy();
    // A new revision keeps the charts on show while it loads.
    rerender(<Charts datasetId={7} templateVersionId={3} revision={1} />);
    await waitFor(() => expect(replies).toHaveLength(2));
    expect(screen.getByTestId("chart-answer-length")).toBeTruthy();
    expect(screen.queryByText("Loading charts…")).toBeNull();
    // Another dataset's charts are not this one's: loading until its answer.
    rerender(<Charts datasetId={8} templateVersionId={null} revision={1} />);
    expect(screen.getByText("Loading charts…")).toBeTruthy();
    expect(screen.queryByTestId("chart-answer-length")).toBeNull();
    await waitFor(() => expect(replies).toHaveLength(3));
    await act(async () => replies[2]({ models: [], tags: [], distinctTags: 0 }));
    const empty = (await screen.findByText("No runs yet")).closest("[data-state=empty]");
    expect(empty?.textContent).toContain("Run the approved requests");
  });

  it("shows a failure with a retry that loads the charts", async () => {
    let failing = true;
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (failing) throw { code: "database", message: "the database is locked" };
      return STATS;
    });
    render(<Charts datasetId={7} templateVersionId={3} revision={0} />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Could not load the charts");
    expect(alert.textContent).toContain("the database is locked");
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    expect(await screen.findByTestId("chart-answer-length")).toBeTruthy();
    expect(calls).toEqual(["response_stats", "response_stats"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
