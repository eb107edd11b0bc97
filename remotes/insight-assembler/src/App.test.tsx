// The Insight Assembler against Tauri's IPC mock answering like the shell,
// with the shell's bus installed as the shell does.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { ResponseRow } from "@augment-it/host-client";
import InsightAssembler from "./App";
import { response } from "./fixtures";
import { deferred } from "../../testing";
import manifest from "../remote.json";
import pkg from "../package.json";

const bus = createEventBus<AugmentEvents>();
beforeAll(() => installShellBus(bus));
afterEach(() => {
  cleanup();
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

const failed: ResponseRow = { ...response(3, 11, "openai", "a"), text: null, error_code: "provider", error_message: "rate limited" };
const fromCache: ResponseRow = { ...response(2, 10, "anthropic", "b"), cached: true };
const ROWS = [{ ...response(1, 10, "openai", "a"), cached: false }, fromCache, failed];

function shell(calls: Call[], overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (overrides[cmd]) return overrides[cmd](a);
    switch (cmd) {
      case "list_responses":
        return { total: ROWS.length, items: ROWS };
      case "tag_responses":
        return (a.responseIds as number[]).length;
      case "set_insight":
        return (a as { insight: unknown }).insight;
      case "export_responses":
        return { path: a.file === "file-1" ? "/tmp/out.md" : "/data/exports/responses.csv", rows: 3 };
      case "choose_save_path":
        return { token: "file-1", name: "out.md" };
      case "show_in_folder":
        return null;
      default:
        throw { code: "internal", message: `unexpected ${cmd}` };
    }
  });
}

function select() {
  act(() => {
    bus.emit("dataset.selected", { datasetId: 7, name: "books" });
    bus.emit("template.selected", { templateId: 2, versionId: 3, version: 1, name: "blurb" });
  });
}

const calledWith = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args);

describe("InsightAssembler", () => {
  it("asks for a dataset when none is selected", () => {
    installShellBus(createEventBus<AugmentEvents>());
    shell([]);
    render(<InsightAssembler />);
    expect(screen.getByText("No dataset selected")).toBeTruthy();
    installShellBus(bus);
  });

  it("reads the stability of the dataset's runs with repeats once its section is opened", async () => {
    const calls: Call[] = [];
    shell(calls, { list_runs: () => [] });
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    expect(calledWith(calls, "list_runs")).toEqual([]);
    const section = screen.getByTestId("ia-stability-section") as HTMLDetailsElement;
    act(() => {
      section.open = true;
      section.dispatchEvent(new Event("toggle"));
    });
    await within(section).findByText("No run with repeats yet");
    expect(calledWith(calls, "list_runs")).toEqual([{ datasetId: 7 }]);
  });

  it("lists the responses with their records, answers and errors", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    expect(calledWith(calls, "list_responses")[0]).toEqual({
      cursor: null,
      query: { dataset_id: 7, template_version_id: 3, target: null, tag: null, group: null, include_errors: true, offset: 0, limit: 100, sort: null },
    });
    const table = screen.getByTestId("ia-responses");
    expect(table.querySelectorAll("[data-response-id]")).toHaveLength(3);
    expect(table.querySelector('[data-response-id="1"]')?.textContent).toBe("title: Book 10");
    expect(screen.getByText("provider: rate limited").className).toContain("aui-field-error");

    fireEvent.click(screen.getByLabelText("Include errors"));
    fireEvent.change(screen.getByLabelText("Model"), { target: { value: "anthropic/b" } });
    await waitFor(() =>
      expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { include_errors: false, target: { provider: "anthropic", model: "b" } } }),
    );
    fireEvent.change(screen.getByLabelText("Tag filter"), { target: { value: "good" } });
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { tag: "good" } }));
    fireEvent.click(screen.getByLabelText("All versions"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { template_version_id: null } }));
  });

  it("marks the answers that came from the AI cache, with an explanation", async () => {
    shell([]);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    const rowOf = (id: number) => screen.getByTestId("ia-responses").querySelector(`[data-response-id="${id}"]`)?.closest('[role="row"]');
    const badges = screen.getAllByTestId("cached-badge");
    expect(badges).toHaveLength(1); // response 2 only: 1 is live, 3 failed
    expect(rowOf(2)?.contains(badges[0]!)).toBe(true);
    expect(rowOf(1)?.querySelector('[data-testid="cached-badge"]')).toBeNull();
    expect(badges[0]!.getAttribute("aria-label")).toContain("no provider call");
    expect(within(badges[0]!).getByText("cached").getAttribute("title")).toContain("local AI cache");
  });

  it("shows schema validity, checks and answer fields as columns (host API 1.6.0)", async () => {
    const structured: ResponseRow = {
      ...response(1, 10, "openai", "a"),
      schema_valid: false,
      schema_errors: [{ path: "/score", message: "11 is greater than the maximum of 10" }],
      fields: { score: 11 },
      checks: [{ position: 0, assertion: "range:/score:0:10", passed: false, reason: "11 is outside [0, 10]" }],
    };
    shell([], { list_responses: () => ({ total: 1, items: [structured] }) });
    select();
    render(<InsightAssembler />);
    const badge = await screen.findByTestId("schema-badge");
    expect(within(badge).getByText("invalid").getAttribute("title")).toContain("/score: 11 is greater");
    expect(within(screen.getByTestId("checks-badge")).getByText("0/1 checks").getAttribute("title")).toContain("FAIL range:/score:0:10");
    expect(screen.getByRole("columnheader", { name: /score/ })).toBeTruthy();
    expect(screen.getByTitle("11")).toBeTruthy();
  });

  it("tags the selected responses and edits one's group and note", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    fireEvent.click(screen.getByLabelText("Select response 1"));
    fireEvent.click(screen.getByLabelText("Select response 2"));
    fireEvent.change(screen.getByTestId("ia-tag-input"), { target: { value: "good" } });
    fireEvent.click(screen.getByText("Tag selected (2)"));
    await waitFor(() => expect(calledWith(calls, "tag_responses")).toEqual([{ responseIds: [1, 2], tag: "good" }]));

    // No Edit buttons: each of tags, group and note is edited in place (double-click, then Enter).
    expect(screen.queryByRole("button", { name: "Edit" })).toBeNull();
    const cellOf = (column: string) => document.querySelector(`[data-row-key="1"] [data-column="${column}"]`) as HTMLElement;
    fireEvent.doubleClick(cellOf("group"));
    fireEvent.change(screen.getByLabelText("Edit group of response 1"), { target: { value: "classics" } });
    fireEvent.keyDown(screen.getByLabelText("Edit group of response 1"), { key: "Enter" });
    await waitFor(() => expect(calledWith(calls, "set_insight")).toHaveLength(1));
    expect(calledWith(calls, "set_insight")[0]).toMatchObject({ responseId: 1, insight: { group: "classics" } });
    fireEvent.doubleClick(cellOf("note"));
    fireEvent.change(screen.getByLabelText("Edit note of response 1"), { target: { value: "  vivid " } });
    fireEvent.keyDown(screen.getByLabelText("Edit note of response 1"), { key: "Enter" });
    await waitFor(() => expect(calledWith(calls, "set_insight")).toHaveLength(2));
    expect(calledWith(calls, "set_insight")[1]).toMatchObject({ responseId: 1, insight: { note: "vivid" } });
    fireEvent.doubleClick(cellOf("tags"));
    fireEvent.change(screen.getByLabelText("Edit tags of response 1"), { target: { value: "good, short" } });
    fireEvent.keyDown(screen.getByLabelText("Edit tags of response 1"), { key: "Enter" });
    await waitFor(() => expect(calledWith(calls, "set_insight")).toHaveLength(3));
    expect(calledWith(calls, "set_insight")[2]).toMatchObject({ responseId: 1, insight: { tags: ["good", "short"] } });
  });

  it("compares the models side by side per record", async () => {
    shell([]);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    fireEvent.click(screen.getByTestId("ia-compare"));
    const table = await screen.findByRole("grid", { name: "Compare models" });
    expect(table.querySelectorAll("[data-record-id]")).toHaveLength(2);
    const headers = [...table.querySelectorAll("[role=columnheader]")].map((h) => h.textContent);
    expect(headers).toEqual(["Record", "anthropic/b", "openai/a"]);
  });

  it("sorts by a header click over every matching response, from the first page, and exports in that order", async () => {
    const calls: Call[] = [];
    // The same 3 rows on every page; the cursors say which page it is.
    shell(calls, {
      list_responses: (a) => (a.cursor ? { total: 250, items: ROWS, next_cursor: "after:2", previous_cursor: "before:2" } : { total: 250, items: ROWS, next_cursor: "after:1" }),
    });
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    expect((screen.getByText("Previous page") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByText("Next page"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { offset: 0, sort: null }, cursor: "after:1" }));
    expect(await screen.findByText("Responses 4–6 of 250")).toBeTruthy();
    fireEvent.click(screen.getByText("Previous page"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ cursor: "before:2" }));
    expect(await screen.findByText("Responses 1–3 of 250")).toBeTruthy();
    fireEvent.click(screen.getByText("Next page"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ cursor: "after:2" }));
    const table = screen.getByTestId("ia-responses");
    const header = (column: string) => table.querySelector(`[role="columnheader"][data-column="${column}"]`) as HTMLElement;
    expect(header("length").textContent).toBe("Length");
    expect(table.querySelector('[data-row-key="1"] [data-column="length"]')?.textContent).toBe(String("Answer 1 from a".length));
    expect(table.querySelector('[data-row-key="3"] [data-column="length"]')?.textContent, "a failed request has no answer").toBe("");

    fireEvent.click(header("length").querySelector("button") as HTMLElement);
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { offset: 0, sort: { column: "answer_length", descending: false } }, cursor: null }));
    expect(await screen.findByText("Responses 1–3 of 250")).toBeTruthy();
    fireEvent.click(header("latency").querySelector("button") as HTMLElement);
    fireEvent.click(header("latency").querySelector("button") as HTMLElement);
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { offset: 0, sort: { column: "latency", descending: true } } }));
    expect(header("latency").getAttribute("aria-sort")).toBe("descending");

    fireEvent.click(await screen.findByTestId("ia-export"));
    await waitFor(() => expect(calledWith(calls, "export_responses")).toHaveLength(1));
    expect(calledWith(calls, "export_responses")[0]).toMatchObject({ query: { offset: 0, sort: { column: "latency", descending: true } } });

    // The comparison keeps a record order only: the latency sort goes, a record sort is offered.
    fireEvent.click(screen.getByTestId("ia-compare"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { offset: 0, sort: null } }));
    const compared = await screen.findByRole("grid", { name: "Compare models" });
    const compareHeader = (column: string) => compared.querySelector(`[role="columnheader"][data-column="${column}"]`) as HTMLElement;
    expect(compareHeader("model-openai/a").querySelector("button"), "a model column does not sort").toBeNull();
    fireEvent.click(compareHeader("record").querySelector("button") as HTMLElement);
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { sort: { column: "record", descending: false } } }));
    fireEvent.click(screen.getByTestId("ia-compare"));
    await waitFor(() => expect(header("record").getAttribute("aria-sort")).toBe("ascending"));

    // A new filter starts from the first page too.
    fireEvent.click(screen.getByText("Next page"));
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ cursor: "after:1" }));
    fireEvent.change(screen.getByLabelText("Tag filter"), { target: { value: "good" } });
    await waitFor(() => expect(calledWith(calls, "list_responses").at(-1)).toMatchObject({ query: { tag: "good" }, cursor: null }));
    expect(await screen.findByText("Responses 1–3 of 250")).toBeTruthy();
  });

  it("reloads when a run of this dataset finishes", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    const before = calledWith(calls, "list_responses").length;
    act(() => bus.emit("run.finished", { runId: 1, datasetId: 8, answered: 1, failed: 0, status: "completed" }));
    act(() => bus.emit("run.finished", { runId: 2, datasetId: 7, answered: 1, failed: 0, status: "completed" }));
    await waitFor(() => expect(calledWith(calls, "list_responses").length).toBe(before + 1));
  });

  it("exports with the table's filters and shows where", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<InsightAssembler />);
    await screen.findByText("Answer 1 from a");
    fireEvent.change(screen.getByTestId("ia-export-format"), { target: { value: "markdown" } });
    fireEvent.click(screen.getByTestId("ia-export-choose"));
    await waitFor(() => expect(screen.getByTestId("ia-export-file").textContent).toBe("out.md"));
    expect(calledWith(calls, "choose_save_path")[0]).toMatchObject({ suggestedName: "responses.md" });
    fireEvent.click(screen.getByTestId("ia-export"));
    const result = await screen.findByTestId("ia-export-result");
    expect(result.textContent).toBe("Exported 3 responses to /tmp/out.md");
    expect(result.getAttribute("data-path")).toBe("/tmp/out.md");
    const sent = calledWith(calls, "export_responses")[0];
    expect(sent).toMatchObject({ format: "markdown", file: "file-1", query: { dataset_id: 7, offset: 0 } });
    expect(sent).not.toHaveProperty("path");
    expect(screen.getByTestId("ia-export-file").getAttribute("data-chosen")).toBe("false");
  });

  it("exports to the app's folder when no file was chosen", async () => {
    const calls: Call[] = [];
    shell(calls);
    select();
    render(<InsightAssembler />);
    fireEvent.click(await screen.findByTestId("ia-export"));
    expect((await screen.findByTestId("ia-export-result")).getAttribute("data-path")).toBe("/data/exports/responses.csv");
    expect(calledWith(calls, "export_responses")[0]).toMatchObject({ file: null });
    // "Show in folder" asks Rust to reveal the file just written.
    fireEvent.click(screen.getByTestId("ia-show-in-folder"));
    await waitFor(() => expect(calledWith(calls, "show_in_folder")).toEqual([{ path: "/data/exports/responses.csv" }]));
  });

  it("shows why an export failed", async () => {
    shell([], { export_responses: () => { throw { code: "invalidInput", message: "/tmp/out.csv already exists: choose another name" }; } });
    select();
    render(<InsightAssembler />);
    fireEvent.click(await screen.findByTestId("ia-export"));
    expect((await screen.findByTestId("ia-export-error")).textContent).toContain("choose another name");
    expect((screen.getByTestId("ia-export") as HTMLButtonElement).disabled).toBe(false);
  });
});

describe("remote.json", () => {
  it("matches package.json", () => {
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.name).toBe("insight-assembler");
    expect(manifest.hostApi).toBe("^1.11.0"); // write_back_run and list_datastore_connections (host API 1.11.0; run_stability and list_responses' cursor came in 1.7.0)
  });
});

describe("the responses table's states", () => {
  const alertTitled = async (title: string) => (await screen.findByText(title)).closest("[role=alert]") as HTMLElement;

  it("says it is loading, not that there are no responses, until the first page; then says where answers come from", async () => {
    const page = deferred<unknown>();
    shell([], { list_responses: () => page.promise });
    render(<InsightAssembler />);
    select();
    const table = screen.getByTestId("ia-responses");
    expect(within(table).getByText("Loading responses…").getAttribute("role")).toBe("status");
    expect(table.querySelector("[data-state=empty]")).toBeNull();
    await act(async () => page.resolve({ total: 0, items: [] }));
    const empty = await within(table).findByText("No responses yet");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Request Reviewer");
  });

  it("says when only the filters hide every response", async () => {
    shell([], { list_responses: (a) => ((a.query as { tag: string | null }).tag ? { total: 0, items: [] } : { total: ROWS.length, items: ROWS }) });
    render(<InsightAssembler />);
    select();
    await screen.findByText("Responses 1–3 of 3");
    fireEvent.change(screen.getByLabelText("Tag filter"), { target: { value: "nope" } });
    expect(await screen.findByText("No responses match the filters")).toBeTruthy();
  });

  it("shows a failed page as the table's error, not as a failed action, with a retry that lists again", async () => {
    let failing = true;
    const calls: Call[] = [];
    shell(calls, {
      list_responses: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return { total: ROWS.length, items: ROWS };
      },
    });
    render(<InsightAssembler />);
    select();
    const alert = await alertTitled("Could not load the responses");
    expect(alert.textContent).toContain("the database is locked");
    expect(screen.queryByTestId("ia-error")).toBeNull();
    expect(screen.queryByText("No responses yet")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await screen.findByText("Responses 1–3 of 3");
    expect(calledWith(calls, "list_responses").length).toBeGreaterThanOrEqual(2);
    expect(screen.queryByText("Could not load the responses")).toBeNull();
  });
});
