// The Request Reviewer against Tauri's IPC mock answering like the shell,
// with the shell's bus installed as the shell does.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { RequestRow, RunProgress } from "@augment-it/host-client";
import { Toaster } from "@augment-it/ui-kit";
import RequestReviewer from "./App";
import { keysetPage } from "../../testing";
import manifest from "../remote.json";
import pkg from "../package.json";

const bus = createEventBus<AugmentEvents>();
beforeAll(() => installShellBus(bus));
// Unmount first: the run-event listener unregisters through the mock.
afterEach(() => {
  cleanup();
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

function request(id: number, status: RequestRow["status"]): RequestRow {
  return { id, dataset_id: 7, record_id: 100 + id, template_version_id: 3, provider: "openai", model: "gpt-4o-mini", rendered: `Describe book ${id}`, edited: null, status, answered: false };
}

const progress = (status: RunProgress["status"], answered: number): RunProgress => ({
  run_id: 9, status, total: 2, queued: 0, in_flight: 0, answered, failed: 0, note: null,
});

function shell(calls: Call[], overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  let status: RequestRow["status"] = "pending";
  let edited: string | null = null;
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (overrides[cmd]) return overrides[cmd](a);
      switch (cmd) {
        case "provider_status":
          return [{ provider: "openai", key: "fromEnvironment", envVar: "AUGMENT_OPENAI_API_KEY", defaultBaseUrl: "", settings: { defaultModel: "gpt-4o-mini" } }];
        case "generate_requests":
          return 2;
        case "list_requests":
          return { total: 2, items: [{ ...request(1, status), edited }, request(2, status)] };
        case "set_all_request_status":
          status = "approved";
          return 2;
        case "last_bulk_status_change":
          return { id: 41, count: 2, from: "pending", to: "approved" };
        case "undo_bulk_status_change":
          status = "pending";
          return 2;
        case "estimate_requests":
          return [{ provider: "openai", model: "gpt-4o-mini", requests: 2, input_tokens: 20, output_tokens: 512, cost_usd: null }];
        case "unfinished_runs":
          return [];
        case "start_run":
          return progress("running", 0);
        case "run_checks":
          return { run_id: 9, checked: 0, passed: 0, pass_rate: null, assertions: [], schema_valid: 0, schema_invalid: 0 };
        case "set_request_status":
          return (a.requestIds as number[]).length;
        case "edit_request":
          edited = a.text as string | null;
          return { ...request(1, status), edited };
        default:
          throw { code: "internal", message: `unexpected ${cmd}` };
      }
    },
    { shouldMockEvents: true },
  );
}

function select() {
  act(() => {
    bus.emit("dataset.selected", { datasetId: 7, name: "books" });
    bus.emit("template.selected", { templateId: 2, versionId: 3, version: 1, name: "blurb" });
  });
}

/** `list_requests` over `total` pending requests, paged by cursor as the shell pages them. */
function pendingPages(total: number) {
  return (a: Record<string, unknown>) => {
    const { limit } = a.query as { limit: number };
    return keysetPage(total, limit, a.cursor, (i) => request(i + 1, "pending"));
  };
}

describe("RequestReviewer", () => {
  it("says what to select when nothing is selected", () => {
    const fresh = createEventBus<AugmentEvents>();
    installShellBus(fresh);
    shell([]);
    render(<RequestReviewer />);
    expect(screen.getByText("No dataset selected")).toBeTruthy();
    installShellBus(bus);
  });

  it("generates, lists, approves all and estimates", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    const approved: AugmentEvents["requests.approved"][] = [];
    const off = bus.on("requests.approved", (p) => approved.push(p));
    render(<RequestReviewer />);
    expect(screen.getByTestId("rr-selection").textContent).toContain("books × template blurb v1");
    await waitFor(() => expect((screen.getByTestId("rr-model") as HTMLInputElement).value).toBe("gpt-4o-mini"));
    fireEvent.click(screen.getByTestId("rr-generate"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "generate_requests")).toBe(true));
    expect(calls.find((c) => c.cmd === "generate_requests")?.args).toEqual({ datasetId: 7, templateVersionId: 3, targets: [{ provider: "openai", model: "gpt-4o-mini" }] });
    await screen.findByText("Describe book 1");
    expect(calls.find((c) => c.cmd === "list_requests")?.args).toEqual({ query: { dataset_id: 7, template_version_id: 3, status: null, offset: 0, limit: 100, sort: null }, cursor: null });
    fireEvent.click(screen.getByTestId("rr-approve-all"));
    await waitFor(() => expect(screen.getByTestId("rr-requests").querySelector('[data-status="approved"]')).toBeTruthy());
    expect(calls.find((c) => c.cmd === "set_all_request_status")?.args).toEqual({ datasetId: 7, templateVersionId: 3, from: "pending", to: "approved" });
    expect(approved).toEqual([{ datasetId: 7, templateVersionId: 3, approved: 2 }]);
    expect(screen.getByTestId("rr-estimate").textContent).toContain("openai/gpt-4o-mini");
    expect(screen.getByTestId("rr-estimate").textContent).toContain("unknown price");
    off();
  });

  it("undoes an approval of all pending requests from its toast (issue 16, point 5)", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(
      <>
        <RequestReviewer />
        <Toaster autoDismissMs={0} />
      </>,
    );
    await waitFor(() => expect((screen.getByTestId("rr-model") as HTMLInputElement).value).toBe("gpt-4o-mini"));
    fireEvent.click(screen.getByTestId("rr-generate"));
    await screen.findByText("Describe book 1");
    fireEvent.click(screen.getByTestId("rr-approve-all"));
    await waitFor(() => expect(screen.getByTestId("rr-requests").querySelector('[data-status="approved"]')).toBeTruthy());
    // The toast store is the kit's singleton: earlier tests' toasts may still be there.
    fireEvent.click((await screen.findAllByRole("button", { name: "Undo" })).at(-1)!);
    await waitFor(() => expect(calls.find((c) => c.cmd === "undo_bulk_status_change")?.args).toEqual({ id: 41 }));
    await screen.findByText("Undone: 2 requests are pending again");
    await waitFor(() => expect(screen.getByTestId("rr-requests").querySelector('[data-status="approved"]')).toBeNull());
  });

  it("generates for several models and reviews selected rows", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect((screen.getByTestId("rr-model") as HTMLInputElement).value).toBe("gpt-4o-mini"));
    fireEvent.click(screen.getByText("Add model"));
    fireEvent.change(screen.getByTestId("rr-model"), { target: { value: "gpt-4o" } });
    fireEvent.click(screen.getByText("Add model"));
    fireEvent.change(screen.getByTestId("rr-model"), { target: { value: "o1" } });
    fireEvent.click(screen.getByText("Add model"));
    fireEvent.click(screen.getByLabelText("Remove openai/o1"));
    fireEvent.click(screen.getByTestId("rr-generate"));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "generate_requests")?.args.targets).toEqual([
        { provider: "openai", model: "gpt-4o-mini" },
        { provider: "openai", model: "gpt-4o" },
      ]),
    );
    await screen.findByText("Describe book 2");
    fireEvent.click(screen.getByLabelText("Select request 2"));
    fireEvent.click(screen.getByText("Reject selected (1)"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "set_request_status")?.args).toEqual({ requestIds: [2], status: "rejected" }));
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "pending" } });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "list_requests").at(-1)?.args).toMatchObject({ query: { status: "pending", offset: 0 }, cursor: null }));
  });

  it("sorts by a header click over every matching request, from the first page", async () => {
    const calls: Call[] = [];
    const total = 250;
    shell(calls, { list_requests: pendingPages(total) });
    select();
    render(<RequestReviewer />);
    await screen.findByText("Describe book 1");
    expect(screen.getByText("Requests 1–100 of 250")).toBeTruthy();
    expect((screen.getByText("Previous page") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByText("Next page"));
    await screen.findByText("Describe book 101");
    const lastCursor = () => calls.filter((c) => c.cmd === "list_requests").at(-1)?.args.cursor;
    expect(lastCursor(), "Next follows the page's cursor").toBe("after:99");
    expect(screen.getByText("Requests 101–200 of 250")).toBeTruthy();
    fireEvent.click(screen.getByText("Next page"));
    await screen.findByText("Describe book 201");
    expect(screen.getByText("Requests 201–250 of 250")).toBeTruthy();
    await waitFor(() => expect((screen.getByText("Next page") as HTMLButtonElement).disabled, "the last page").toBe(true));
    fireEvent.click(screen.getByText("Previous page"));
    await screen.findByText("Describe book 101");
    expect(lastCursor(), "Previous follows the page's previous cursor").toBe("before:200");
    const table = screen.getByTestId("rr-requests");
    const header = (column: string) => table.querySelector(`[role="columnheader"][data-column="${column}"]`) as HTMLElement;
    const lastQuery = () => calls.filter((c) => c.cmd === "list_requests").at(-1)?.args.query;
    expect(header("actions").querySelector("button"), "the actions column does not sort").toBeNull();

    fireEvent.click(header("status").querySelector("button") as HTMLElement);
    await waitFor(() => expect(lastQuery()).toEqual({ dataset_id: 7, template_version_id: 3, status: null, offset: 0, limit: 100, sort: { column: "status", descending: false } }));
    expect(lastCursor(), "a new order starts from the first page").toBeNull();
    await screen.findByText("Describe book 1");
    expect(screen.getByText("Requests 1–100 of 250")).toBeTruthy();
    expect(header("status").getAttribute("aria-sort")).toBe("ascending");
    fireEvent.click(header("status").querySelector("button") as HTMLElement);
    await waitFor(() => expect(lastQuery()).toMatchObject({ offset: 0, sort: { column: "status", descending: true } }));

    // Another column replaces the sort; the status filter keeps it.
    fireEvent.click(header("text").querySelector("button") as HTMLElement);
    await waitFor(() => expect(lastQuery()).toMatchObject({ offset: 0, sort: { column: "text", descending: false } }));
    expect(header("status").getAttribute("aria-sort")).toBe("none");
    fireEvent.click(screen.getByText("Next page"));
    await waitFor(() => expect(lastCursor()).toBe("after:99"));
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "pending" } });
    await waitFor(() => expect(lastQuery()).toMatchObject({ status: "pending", offset: 0, sort: { column: "text", descending: false } }));
    expect(lastCursor(), "a new filter starts from the first page").toBeNull();
  });

  it("shows a missing-fields error", async () => {
    shell([], { generate_requests: () => { throw { code: "missingFields", message: "the dataset has no column publisher" }; } });
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect((screen.getByTestId("rr-model") as HTMLInputElement).value).toBe("gpt-4o-mini"));
    fireEvent.click(screen.getByTestId("rr-generate"));
    expect((await screen.findByTestId("rr-error")).textContent).toBe("the dataset has no column publisher");
  });

  it("edits a request and reverts it", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<RequestReviewer />);
    await screen.findByText("Describe book 1");
    // No Edit buttons: Enter on the request's cell edits it in place (a textarea), Enter saves.
    expect(screen.queryByRole("button", { name: "Edit" })).toBeNull();
    const cell = document.querySelector('[data-row-key="1"] [data-column="text"]') as HTMLElement;
    act(() => cell.focus());
    fireEvent.keyDown(cell, { key: "Enter" });
    const editor = screen.getByLabelText("Edit request 1") as HTMLTextAreaElement;
    expect(editor.value).toBe("Describe book 1");
    fireEvent.change(editor, { target: { value: "Shorter" } });
    fireEvent.keyDown(editor, { key: "Enter" });
    await waitFor(() => expect(calls.find((c) => c.cmd === "edit_request")?.args).toEqual({ requestId: 1, text: "Shorter" }));
    // The reloaded row shows the edit, and offers to revert it.
    fireEvent.click(await screen.findByLabelText("Revert the edit of request 1"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "edit_request")[1]?.args).toEqual({ requestId: 1, text: null }));
  });

  it("selects all matching requests across pages and reviews them by id, listed from Rust", async () => {
    const calls: Call[] = [];
    const total = 1500;
    shell(calls, { list_requests: pendingPages(total) });
    select();
    render(<RequestReviewer />);
    await screen.findByText("Describe book 1");
    fireEvent.click(screen.getByLabelText("Select all rows on screen"));
    expect(screen.getByText("Approve selected (100)")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Select all 1,500 matching" }));
    fireEvent.click(screen.getByText("Approve selected (1500)"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_request_status")).toBe(true));
    // Listed in pages of at most 1000 (the shell's limit) by cursor, with the filter of the screen.
    const listed = calls.filter((c) => c.cmd === "list_requests" && (c.args.query as { limit: number }).limit === 1000);
    expect(listed.map((c) => c.args)).toEqual([
      expect.objectContaining({ query: expect.objectContaining({ offset: 0, status: null }), cursor: null }),
      expect.objectContaining({ query: expect.objectContaining({ offset: 0, status: null }), cursor: "after:999" }),
    ]);
    const sent = calls.find((c) => c.cmd === "set_request_status")?.args as { requestIds: number[]; status: string };
    expect(sent.status).toBe("approved");
    expect(sent.requestIds).toHaveLength(1500);
    expect(new Set(sent.requestIds).size).toBe(1500);
    await waitFor(() => expect(screen.getByText("Approve selected (0)")).toBeTruthy());
  });

  it("runs, follows the run's events and announces the end", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    const events: string[] = [];
    const offs = [bus.on("run.started", () => events.push("started")), bus.on("run.finished", (p) => events.push(`finished ${p.status} ${p.answered}`))];
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    fireEvent.click(screen.getByTestId("rr-run"));
    const status = await screen.findByTestId("rr-run-status");
    expect(status.getAttribute("data-status")).toBe("running");
    expect(screen.getByTestId("rr-cancel")).toBeTruthy();
    await act(() => emit("run-event", { kind: "progress", runId: 9, progress: progress("running", 1) }));
    await waitFor(() => expect(screen.getByTestId("rr-run-status").textContent).toContain("answered 1 of 2, failed 0"));
    await act(() => emit("run-event", { kind: "failed", runId: 9, requestId: 2, code: "rate_limited", message: "openai is rate limiting requests" }));
    await waitFor(() => expect(screen.getByTestId("rr-run-status").textContent).toContain("Last failure: request 2: openai is rate limiting"));
    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: progress("completed", 2) }));
    await waitFor(() => expect(screen.getByTestId("rr-run-status").getAttribute("data-status")).toBe("completed"));
    expect(events).toEqual(["started", "finished completed 2"]);
    offs.forEach((off) => off());
  });

  it("sends noCache only when \"Don't use cached answers\" is ticked, and says how many answers came from the cache", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    const box = screen.getByLabelText("Don't use cached answers") as HTMLInputElement;
    expect(box.checked).toBe(false);
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-run-status");
    expect(calls.filter((c) => c.cmd === "start_run").map((c) => c.args)).toEqual([{ datasetId: 7, templateVersionId: 3, noCache: false }]);
    expect(box.disabled).toBe(true); // not while a run is being sent
    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: { ...progress("completed", 2), cached: 2 } }));
    await waitFor(() => expect(screen.getByTestId("rr-run-status").textContent).toContain("answered 2 (2 from the AI cache) of 2"));

    fireEvent.click(box);
    expect(box.checked).toBe(true);
    fireEvent.click(screen.getByTestId("rr-run"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "start_run")).toHaveLength(2));
    expect(calls.filter((c) => c.cmd === "start_run")[1]?.args).toEqual({ datasetId: 7, templateVersionId: 3, noCache: true });
  });

  it("shows retries, waits and concurrency changes live, pauses the run and offers it for resume with the reason", async () => {
    const calls: Call[] = [];
    shell(calls, { pause_run: () => true, resume_run: () => progress("running", 1) });
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-pause");
    expect(screen.queryByTestId("rr-run-waits")).toBeNull();

    await act(() => emit("run-event", { kind: "retrying", runId: 9, requestId: 1, message: "openai: rate limited, retrying in 12 s (attempt 2 of 4)" }));
    await act(() => emit("run-event", { kind: "concurrencyChanged", runId: 9, limit: 2, max: 4, message: "Concurrency lowered to 2 (openai is rate limiting)" }));
    await act(() => emit("run-event", { kind: "waiting", runId: 9, requestId: 2, message: "openai: waiting 3 s for the rate limit to reset", delayMs: 3000 }));
    await waitFor(() => expect(screen.getByTestId("rr-run-waits").textContent).toContain("openai: rate limited, retrying in 12 s (attempt 2 of 4)"));
    expect(screen.getByTestId("rr-run-waits").textContent).toContain("openai: waiting 3 s for the rate limit to reset");
    expect(screen.getByTestId("rr-run-concurrency").textContent).toBe("Concurrency lowered to 2 (openai is rate limiting)");
    // Another run's events are not this run's.
    await act(() => emit("run-event", { kind: "retrying", runId: 8, requestId: 5, message: "groq: HTTP 503, retrying in 1 s (attempt 2 of 4)" }));
    // An answer ends its request's wait.
    await act(() => emit("run-event", { kind: "answered", runId: 9, requestId: 1 }));
    await waitFor(() => expect(screen.getByTestId("rr-run-waits").textContent).not.toContain("retrying in 12 s"));
    expect(screen.getByTestId("rr-run-waits").textContent).toBe("openai: waiting 3 s for the rate limit to reset");

    fireEvent.click(screen.getByTestId("rr-pause"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "pause_run")?.args).toEqual({ runId: 9 }));
    await act(() => emit("run-event", { kind: "stopping", runId: 9, code: "paused", reason: "paused by you" }));
    await waitFor(() => expect(screen.getByTestId("rr-run-stop").textContent).toBe("Stopping: paused by you. The requests in flight finish first."));
    expect((screen.getByTestId("rr-pause") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId("rr-pause").textContent).toBe("Pausing…");

    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: { ...progress("paused", 1), queued: 1, note: "paused by you" } }));
    await waitFor(() => expect(screen.getByTestId("rr-run-stop").textContent).toBe("Stopped: paused by you."));
    expect(screen.queryByTestId("rr-run-waits")).toBeNull();
    expect(screen.queryByTestId("rr-pause")).toBeNull();
    fireEvent.click(await screen.findByTestId("rr-resume-9"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "resume_run")?.args).toEqual({ runId: 9 }));
    await waitFor(() => expect(screen.getByTestId("rr-run-status").getAttribute("data-status")).toBe("running"));
    expect(screen.queryByTestId("rr-run-stop")).toBeNull();
  });

  it("sends a budget cap, refuses one that is not an amount, and says when the quota or the budget stopped the run", async () => {
    const calls: Call[] = [];
    shell(calls, { resume_run: () => progress("running", 1) });
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    const field = screen.getByTestId("rr-budget") as HTMLInputElement;
    fireEvent.change(field, { target: { value: "-2" } });
    expect(screen.getByTestId("rr-budget-error").textContent).toContain("above 0");
    expect((screen.getByTestId("rr-run") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(field, { target: { value: "$0.50" } });
    expect(screen.queryByTestId("rr-budget-error")).toBeNull();
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-run-status");
    expect(calls.filter((c) => c.cmd === "start_run").map((c) => c.args)).toEqual([{ datasetId: 7, templateVersionId: 3, noCache: false, maxCostUsd: 0.5 }]);
    const reason = "quota exhausted at openai: You exceeded your current quota. Add credit or raise the usage limit in openai's billing settings, then resume";
    await act(() => emit("run-event", { kind: "stopping", runId: 9, code: "quota_exhausted", reason }));
    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: { ...progress("paused", 1), queued: 1, note: reason } }));
    await waitFor(() => expect(screen.getByTestId("rr-run-stop").textContent).toBe(`Stopped: ${reason}.`));
    // The cap typed when resuming is the run's new cap.
    fireEvent.change(screen.getByTestId("rr-budget"), { target: { value: "3" } });
    fireEvent.click(await screen.findByTestId("rr-resume-9"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "resume_run")?.args).toEqual({ runId: 9, maxCostUsd: 3 }));
  });

  it("sends the checks typed one per line, with the run as a batch too, and shows the batch's status", async () => {
    const calls: Call[] = [];
    let scored = false;
    shell(calls, {
      run_checks: () => ({
        run_id: 9,
        checked: scored ? 2 : 0,
        passed: scored ? 1 : 0,
        pass_rate: scored ? 0.5 : null,
        assertions: [
          { assertion: "contains:refund", passed: scored ? 1 : 0, failed: scored ? 1 : 0, unscored: 0 },
          { assertion: "json", passed: scored ? 2 : 0, failed: 0, unscored: 0 },
        ],
        schema_valid: 0,
        schema_invalid: 0,
      }),
    });
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    fireEvent.change(screen.getByTestId("rr-checks"), { target: { value: "contains:refund\n\n  json  \n" } });
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-run-status");
    expect(calls.filter((c) => c.cmd === "start_run").map((c) => c.args)).toEqual([
      { datasetId: 7, templateVersionId: 3, noCache: false, assertions: ["contains:refund", "json"] },
    ]);
    scored = true;
    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: progress("completed", 2) }));
    // The whole run's pass rates, read from Rust when the run ends.
    await waitFor(() =>
      expect(screen.getByTestId("rr-run-checks").textContent).toBe(
        "Checks: 1 of 2 answers passed every check (50%)contains:refund: 1 passed, 1 failedjson: 2 passed, 0 failed",
      ),
    );

    // Batch answers are scored like live ones: the checks stay with the batch.
    await waitFor(() => expect((screen.getByTestId("rr-batch") as HTMLInputElement).disabled).toBe(false));
    fireEvent.click(screen.getByTestId("rr-batch"));
    fireEvent.click(screen.getByTestId("rr-run"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "start_run")).toHaveLength(2));
    expect(calls.filter((c) => c.cmd === "start_run")[1]?.args).toEqual({
      datasetId: 7,
      templateVersionId: 3,
      noCache: false,
      batch: true,
      assertions: ["contains:refund", "json"],
    });
    await act(() => emit("run-event", { kind: "batch", runId: 9, provider: "openai", batchId: "batch_1", status: "in_progress", message: "openai batch batch_1: in_progress" }));
    await waitFor(() => expect(screen.getByTestId("rr-batch-status").textContent).toBe("openai batch batch_1: in_progress"));
    // A cap turns the batch off: the provider's batch cannot stop at a cap.
    fireEvent.change(screen.getByTestId("rr-budget"), { target: { value: "2" } });
    expect((screen.getByTestId("rr-batch") as HTMLInputElement).checked).toBe(false);
  });

  it("offers a cancelled run for resume as soon as it stops", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "unfinished_runs")).toBe(true));
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-cancel");
    fireEvent.click(screen.getByTestId("rr-cancel"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "cancel_run")?.args).toEqual({ runId: 9 }));
    await act(() => emit("run-event", { kind: "finished", runId: 9, progress: { ...progress("cancelled", 1), queued: 1 } }));
    expect(await screen.findByTestId("rr-resume-9")).toBeTruthy();
  });

  it("says to check the connection when the provider is offline", async () => {
    shell([], { start_run: () => { throw { code: "offline", message: "the provider did not answer" }; } });
    select();
    render(<RequestReviewer />);
    fireEvent.click(await screen.findByTestId("rr-run"));
    expect((await screen.findByTestId("rr-run-error")).textContent).toContain("check your connection or the provider's base URL in Settings → Keys");
  });

  it("resumes an unfinished run", async () => {
    const calls: Call[] = [];
    shell(calls, { unfinished_runs: () => [progress("paused", 1)], resume_run: () => progress("running", 1) });
    select();
    render(<RequestReviewer />);
    fireEvent.click(await screen.findByTestId("rr-resume-9"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "resume_run")?.args).toEqual({ runId: 9 }));
    expect((await screen.findByTestId("rr-run-status")).getAttribute("data-status")).toBe("running");
  });
});

describe("RequestReviewer repeats", () => {
  it("sends repeats to the run and the estimate, and refuses a count outside 1 to 10", async () => {
    const calls: Call[] = [];
    shell(calls, {
      start_run: () => ({ ...progress("running", 0), total: 6, repeats: 3 }),
      list_requests: () => ({ total: 2, items: [{ ...request(1, "approved"), sample: 0 }, { ...request(2, "approved"), sample: 1 }] }),
    });
    select();
    render(<RequestReviewer />);
    await waitFor(() => expect(calls.some((c) => c.cmd === "estimate_requests")).toBe(true));
    expect(calls.find((c) => c.cmd === "estimate_requests")?.args).toEqual({ datasetId: 7, templateVersionId: 3, outputTokens: 256 });
    const field = screen.getByTestId("rr-repeats") as HTMLInputElement;
    expect(field.value).toBe("1");
    for (const bad of ["0", "11", "2.5", ""]) {
      fireEvent.change(field, { target: { value: bad } });
      expect(screen.getByTestId("rr-repeats-error").textContent).toContain("from 1 to 10");
      expect((screen.getByTestId("rr-run") as HTMLButtonElement).disabled).toBe(true);
    }
    fireEvent.change(field, { target: { value: "3" } });
    expect(screen.queryByTestId("rr-repeats-error")).toBeNull();
    await waitFor(() => expect(calls.filter((c) => c.cmd === "estimate_requests").at(-1)?.args).toEqual({ datasetId: 7, templateVersionId: 3, outputTokens: 256, repeats: 3 }));
    expect(screen.getByTestId("rr-estimate-repeats").textContent).toContain("Each prompt asked 3 times");
    fireEvent.click(screen.getByTestId("rr-run"));
    await screen.findByTestId("rr-run-status");
    expect(calls.filter((c) => c.cmd === "start_run").map((c) => c.args)).toEqual([{ datasetId: 7, templateVersionId: 3, noCache: false, repeats: 3 }]);
    // A later repeat of a prompt says which one it is in the list.
    expect(screen.getByTestId("rr-requests").textContent).toContain("openai/gpt-4o-mini · repeat 2");
    expect(screen.getByTestId("rr-run-status").textContent).toContain("each prompt asked 3 times");
  });
});

describe("remote.json", () => {
  it("matches package.json", () => {
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.name).toBe("request-reviewer");
    expect(manifest.hostApi).toBe("^1.7.0"); // `repeats` in start_run and estimate_requests, list_requests' cursor (host API 1.7; `batch` and `assertions` came in 1.6): an older host has neither
  });
});

describe("RequestReviewer without the provider list", () => {
  it("lets the provider be typed and says why", async () => {
    const calls: Call[] = [];
    shell(calls, { provider_status: () => { throw { code: "keychain", message: "the keychain is locked" }; } });
    select();
    render(<RequestReviewer />);
    expect((await screen.findByRole("alert")).textContent).toContain("the keychain is locked");
    expect((screen.getByTestId("rr-generate") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("rr-provider"), { target: { value: "openai" } });
    fireEvent.change(screen.getByTestId("rr-model"), { target: { value: "m1" } });
    fireEvent.click(screen.getByTestId("rr-generate"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "generate_requests")?.args).toMatchObject({ targets: [{ provider: "openai", model: "m1" }] }));
  });
});
