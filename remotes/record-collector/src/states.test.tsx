// The Record Collector's loading, empty and error states (issue 16, point 5):
// the dataset list says it is loading until the shell answers (never "No
// datasets yet" before), a failed list shows only its error with a retry,
// and a preview of a document without rows says so.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { Dataset } from "@augment-it/host-client";
import RecordCollector from "./App";
import { deferred } from "../../testing";

beforeAll(() => installShellBus(createEventBus<AugmentEvents>()));
afterEach(() => clearMocks());

const people: Dataset = { id: 7, name: "people", format: "csv", columns: [{ name: "name", type: "string" }], row_count: 2, created_at: 0 };

function shell(answers: Record<string, () => unknown>) {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (answers[cmd]) return answers[cmd]();
    if (cmd === "recent_files" || cmd === "list_datastore_connections") return [];
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

describe("the dataset list", () => {
  it("says it is loading, not that there are none, until the shell answers", async () => {
    const list = deferred<Dataset[]>();
    shell({ list_datasets: () => list.promise });
    render(<RecordCollector />);
    expect(screen.getByText("Loading datasets…").getAttribute("role")).toBe("status");
    expect(screen.queryByText("No datasets yet")).toBeNull();
    await act(async () => list.resolve([]));
    const empty = await screen.findByText("No datasets yet");
    expect(empty.closest("[data-state=empty]")?.textContent).toContain("Import a file or paste a document above");
    expect(screen.queryByText("Loading datasets…")).toBeNull();
  });

  it("shows a failed list without an empty one, and Retry lists the datasets", async () => {
    let failing = true;
    const calls = shell({
      list_datasets: () => {
        if (failing) throw { code: "database", message: "the database is locked" };
        return [people];
      },
    });
    render(<RecordCollector />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Could not list the datasets");
    expect(alert.textContent).toContain("the database is locked (database)");
    expect(screen.queryByText("No datasets yet")).toBeNull();
    expect(screen.queryByText("Loading datasets…")).toBeNull();
    failing = false;
    fireEvent.click(within(alert).getByText("Retry"));
    await waitFor(() => expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]')).toBeTruthy());
    expect(calls.filter((c) => c === "list_datasets")).toHaveLength(2);
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("the import preview", () => {
  it("says a document without rows has none, and what to try", async () => {
    shell({
      list_datasets: () => [],
      import_records: () => ({
        parser: "in-process",
        parserReason: null,
        format: "csv",
        columns: ["name"],
        types: ["string"],
        rows: [],
        offset: 0,
        totalRows: 0,
        totalColumns: 1,
        documentBytes: 5,
      }),
    });
    render(<RecordCollector />);
    fireEvent.change(screen.getByTestId("rc-text"), { target: { value: "name\n" } });
    fireEvent.click(screen.getByTestId("rc-preview"));
    const table = await screen.findByTestId("rc-preview-table");
    const empty = within(table).getByText("The document has no rows").closest("[data-state=empty]");
    expect(empty?.textContent).toContain("Check the format");
  });
});
