// The Request Reviewer's loading, empty and error states (issue 16, point 5):
// each list the page asks the shell for says it is loading until the answer,
// says what to do when it is empty, and shows a failure with a retry.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { RunProgress } from "@augment-it/host-client";
import RequestReviewer from "./App";
import { deferred } from "../../testing";

const bus = createEventBus<AugmentEvents>();
beforeAll(() => {
  installShellBus(bus);
  bus.emit("dataset.selected", { datasetId: 7, name: "books" });
  bus.emit("template.selected", { templateId: 2, versionId: 3, version: 1, name: "blurb" });
});
// Unmount first: the run-event listener unregisters through the mock.
afterEach(() => {
  cleanup();
  clearMocks();
});

const OPENAI = { provider: "openai", key: "fromEnvironment", envVar: "AUGMENT_OPENAI_API_KEY", defaultBaseUrl: "", settings: { defaultModel: "gpt-4o-mini" } };
const ESTIMATE = [{ provider: "openai", model: "gpt-4o-mini", requests: 2, input_tokens: 20, output_tokens: 512, cost_usd: null }];
const PAUSED: RunProgress = { run_id: 9, status: "paused", total: 2, queued: 1, in_flight: 0, answered: 1, failed: 0, note: null };

/** The shell with nothing generated yet; `overrides` answer (or hold) single commands. */
function shell(overrides: Record<string, () => unknown> = {}) {
  const calls: string[] = [];
  mockIPC(
    (cmd) => {
      calls.push(cmd);
      if (overrides[cmd]) return overrides[cmd]();
      switch (cmd) {
        case "provider_status":
          return [OPENAI];
        case "list_requests":
          return { total: 0, items: [] };
        case "estimate_requests":
          return ESTIMATE;
        case "unfinished_runs":
          return [];
        default:
          throw { code: "internal", message: `unexpected ${cmd}` };
      }
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const alertTitled = async (title: string) => (await screen.findByText(title)).closest("[role=alert]") as HTMLElement;

describe("the provider list", () => {
  it("says it is loading until the shell answers, then offers the providers", async () => {
    const providers = deferred<unknown>();
    shell({ provider_status: () => providers.promise });
    render(<RequestReviewer />);
    expect(screen.getByText("Loading providers…").getAttribute("role")).toBe("status");
    expect(screen.queryByTestId("rr-provider")).toBeNull();
    await act(async () => providers.resolve([OPENAI]));
    await waitFor(() => expect((screen.getByTestId("rr-provider") as HTMLSelectElement).value).toBe("openai"));
    expect(screen.queryByText("Loading providers…")).toBeNull();
  });

  it("shows a failure as the list's error, not as a failed action, with a retry that lists them", async () => {
    let failing = true;
    const calls = shell({
      provider_status: () => {
        if (failing) throw { code: "keychain", message: "the keychain is locked" };
        return [OPENAI];
      },
    });
    render(<RequestReviewer />);
    const alert = await alertTitled("Could not list the providers: type a provider id instead");
    expect(alert.textContent).toContain("the keychain is locked");
    // Nothing was done yet: the action's error line stays empty.
    expect(screen.queryByTestId("rr-error")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect((screen.getByTestId("rr-provider") as HTMLSelectElement).value).toBe("openai"));
    expect(calls.filter((c) => c === "provider_status")).toHaveLength(2);
    expect(screen.queryByText("Could not list the providers: type a provider id instead")).toBeNull();
  });
});

const REQUEST = { id: 11, record_id: 1, provider: "openai", model: "gpt-4o-mini", rendered: "Describe Dune", edited: null, status: "pending", answered: false };

describe("the requests table", () => {
  it("says it is loading, not that there are no requests, until the first page; then says how to get some", async () => {
    const page = deferred<unknown>();
    shell({ list_requests: () => page.promise });
    render(<RequestReviewer />);
    const table = screen.getByTestId("rr-requests");
    expect(within(table).getByText("Loading requests…").getAttribute("role")).toBe("status");
    expect(table.querySelector("[data-state=empty]")).toBeNull();
    await act(async () => page.resolve({ total: 0, items: [] }));
    const empty = await within(table).findByText("No requests yet");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Generate requests");
  });

  it("shows a failed page as the table's error, not as a failed review, with a retry that lists again", async () => {
    let failing = true;
    const calls = shell({
      list_requests: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return { total: 1, items: [REQUEST] };
      },
    });
    render(<RequestReviewer />);
    const alert = await alertTitled("Could not load the requests");
    expect(alert.textContent).toContain("the database is locked");
    expect(screen.queryByTestId("rr-requests-error")).toBeNull();
    expect(screen.queryByText("No requests yet")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("rr-requests").querySelector('[data-request-id="11"]')).not.toBeNull());
    expect(calls.filter((c) => c === "list_requests")).toHaveLength(2);
    expect(screen.queryByText("Could not load the requests")).toBeNull();
  });
});

describe("the estimate", () => {
  it("says it is loading, not that there is nothing, until the first answer; then says what to do when empty", async () => {
    const estimate = deferred<unknown>();
    shell({ estimate_requests: () => estimate.promise });
    render(<RequestReviewer />);
    const section = screen.getByTestId("rr-estimate");
    expect(within(section).getByText("Loading the estimate…").getAttribute("role")).toBe("status");
    expect(section.querySelector("[data-state=empty]")).toBeNull();
    await act(async () => estimate.resolve([]));
    const empty = await within(section).findByText("No requests to estimate");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Generate requests above");
  });

  it("shows a failed estimate with a retry that estimates again", async () => {
    let failing = true;
    shell({
      estimate_requests: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return ESTIMATE;
      },
    });
    render(<RequestReviewer />);
    const alert = await alertTitled("Could not estimate the requests");
    expect(alert.textContent).toContain("the database is locked");
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("rr-estimate").textContent).toContain("openai/gpt-4o-mini"));
    expect(screen.queryByText("Could not estimate the requests")).toBeNull();
  });
});

describe("the estimate's batch price (issue 17, point 7)", () => {
  it("shows the batch price beside the live one when the model has a batch rate, a dash otherwise", async () => {
    shell({
      estimate_requests: () => [
        { provider: "openai", model: "gpt-4o-mini", requests: 2, input_tokens: 20, output_tokens: 512, cost_usd: 0.5, batch_cost_usd: 0.25 },
        { provider: "ollama", model: "llama3.2", requests: 2, input_tokens: 20, output_tokens: 512, cost_usd: null },
      ],
    });
    render(<RequestReviewer />);
    const section = screen.getByTestId("rr-estimate");
    await waitFor(() => expect(section.textContent).toContain("ollama/llama3.2"));
    expect(within(section).getByText("Batch cost (USD)")).toBeTruthy();
    const cells = (label: string) =>
      Array.from(section.querySelectorAll("[role=row]"))
        .find((row) => row.textContent?.includes(label))
        ?.querySelectorAll("[role=gridcell]");
    const openai = Array.from(cells("openai/gpt-4o-mini") ?? []).map((c) => c.textContent);
    expect(openai.slice(-2)).toEqual(["$0.5000", "$0.2500"]);
    const local = Array.from(cells("ollama/llama3.2") ?? []).map((c) => c.textContent);
    expect(local.slice(-2)).toEqual(["unknown price", "—"]);
  });
});

describe("the unfinished runs", () => {
  it("says they are loading, then that there are none and how a run starts", async () => {
    const runs = deferred<unknown>();
    shell({ unfinished_runs: () => runs.promise });
    render(<RequestReviewer />);
    expect((await screen.findByText("Loading unfinished runs…")).getAttribute("role")).toBe("status");
    expect(screen.queryByText("No unfinished runs")).toBeNull();
    await act(async () => runs.resolve([]));
    const empty = await screen.findByText("No unfinished runs");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Send the approved requests");
  });

  it("shows a failed list as its own error, not as a failed run, with a retry that lists them", async () => {
    let failing = true;
    shell({
      unfinished_runs: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return [PAUSED];
      },
    });
    render(<RequestReviewer />);
    const alert = await alertTitled("Could not list the unfinished runs");
    expect(alert.textContent).toContain("the database is locked");
    expect(screen.queryByTestId("rr-run-error")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    expect(await screen.findByTestId("rr-resume-9")).toBeTruthy();
    expect(screen.queryByText("Could not list the unfinished runs")).toBeNull();
  });
});
