// The Insight Assembler's charts: the shaping of `response_stats`, and the
// section's states against Tauri's IPC mock (happy-dom has no canvas, so each
// chart is its table here; tests/shell sees the drawn ones).
import { afterEach, describe, expect, it } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
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
