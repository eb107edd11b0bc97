// The Record Collector against Tauri's IPC mock answering like the shell, with
// the shell's bus installed as the shell does.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { Dataset, RecordRow } from "@augment-it/host-client";
import { Toaster } from "@augment-it/ui-kit";
import RecordCollector from "./App";
import { keysetPage } from "../../testing";

const bus = createEventBus<AugmentEvents>();
const selections: AugmentEvents["dataset.selected"][] = [];
beforeAll(() => {
  installShellBus(bus);
  bus.on("dataset.selected", (p) => selections.push(p));
});
afterEach(() => {
  clearMocks();
  selections.length = 0;
  bus.emit("dataset.selected", { datasetId: -1, name: "" });
});

const people: Dataset = {
  id: 7,
  name: "people",
  format: "csv",
  columns: [
    { name: "name", type: "string" },
    { name: "age", type: "integer" },
  ],
  row_count: 250,
  created_at: 0,
};

function record(i: number): RecordRow {
  return { id: 1000 + i, position: i, fields: { name: `person ${i}`, age: 20 + i } };
}

type Call = { cmd: string; args: Record<string, unknown> };

function shell(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const calls: Call[] = [];
  let datasets: Dataset[] = [people];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const override = overrides[cmd];
    if (override) return override(args);
    if (cmd === "list_datasets") return datasets;
    if (cmd === "list_datastore_connections") return [];
    if (cmd === "delete_dataset") {
      datasets = datasets.filter((d) => d.id !== args.datasetId);
      return null;
    }
    if (cmd === "dataset_records") {
      const query = args.query as { offset: number; limit: number };
      return keysetPage(250, query.limit, args.cursor, record);
    }
    if (cmd === "update_record_field") {
      return { ...record(0), fields: { ...record(0).fields, [args.column as string]: args.value } };
    }
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

const preview = {
  parser: "in-process",
  parserReason: "the parse service is not running",
  format: "csv",
  columns: ["name", "age"],
  types: ["string", "integer"],
  rows: [
    ["ann", 31],
    ["bob", 42],
  ],
  offset: 0,
  totalRows: 2,
  totalColumns: 2,
  documentBytes: 20,
};

describe("import", () => {
  it("sets format and name from the chosen file and previews with types and the parser", async () => {
    const chosen = [
      { token: "file-1", name: "staff.ndjson" },
      { token: "file-2", name: "staff.csv" },
    ];
    const calls = shell({
      choose_file: () => chosen.shift() ?? null,
      import_records: () => ({ ...preview, file: { token: "file-3", name: "staff.csv" } }),
    });
    render(<RecordCollector />);
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(screen.getByTestId("rc-file").textContent).toBe("staff.ndjson"));
    expect((screen.getByTestId("rc-format") as HTMLSelectElement).value).toBe("jsonl");
    expect((screen.getByTestId("rc-name") as HTMLInputElement).value).toBe("staff");
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(screen.getByTestId("rc-file").textContent).toBe("staff.csv"));
    fireEvent.click(screen.getByTestId("rc-preview"));
    const table = await screen.findByTestId("rc-preview-table");
    const sent = calls.find((c) => c.cmd === "import_records")?.args;
    expect(sent).toMatchObject({ file: "file-2", format: "csv", offset: 0 });
    expect(sent).not.toHaveProperty("path");
    expect(table.textContent).toContain("2 rows × 2 columns");
    expect(table.textContent).toContain("age (integer)");
    expect(await within(table).findByText("bob")).toBeTruthy();
    expect(screen.getByTestId("rc-parser").textContent).toContain("in-process");
    expect(screen.getByTestId("rc-parser").textContent).toContain("the parse service is not running");
    expect(screen.getByTestId("rc-parser").getAttribute("data-parser")).toBe("in-process");
  });

  it("saves a previewed file with the fresh token the preview handed back", async () => {
    const created: Dataset = { ...people, id: 9, name: "staff", row_count: 2 };
    const calls = shell({
      choose_file: () => ({ token: "file-1", name: "staff.csv" }),
      import_records: () => ({ ...preview, file: { token: "file-2", name: "staff.csv" } }),
      save_dataset: () => ({ dataset: created, parser: "in-process", parserReason: null }),
    });
    render(<RecordCollector />);
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(screen.getByTestId("rc-file").getAttribute("data-chosen")).toBe("true"));
    fireEvent.click(screen.getByTestId("rc-preview"));
    await screen.findByTestId("rc-preview-table");
    fireEvent.click(screen.getByTestId("rc-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_dataset")).toBe(true));
    expect(calls.find((c) => c.cmd === "save_dataset")?.args).toMatchObject({ file: "file-2", name: "staff" });
    await waitFor(() => expect(screen.getByTestId("rc-file").getAttribute("data-chosen")).toBe("false"));
  });

  it("asks to choose the file again after a failed attempt used its token", async () => {
    shell({
      choose_file: () => ({ token: "file-1", name: "staff.csv" }),
      import_records: () => {
        throw { code: "invalidInput", message: "the document is too large" };
      },
    });
    render(<RecordCollector />);
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(screen.getByTestId("rc-file").getAttribute("data-chosen")).toBe("true"));
    fireEvent.click(screen.getByTestId("rc-preview"));
    expect((await screen.findByTestId("rc-error")).textContent).toContain("Choose the file again");
    expect(screen.getByTestId("rc-file").getAttribute("data-chosen")).toBe("false");
  });

  it("keeps the form as it was when the dialog is cancelled", async () => {
    const calls = shell({ choose_file: () => null });
    render(<RecordCollector />);
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "choose_file")).toBe(true));
    expect(screen.getByTestId("rc-file").getAttribute("data-chosen")).toBe("false");
  });

  it("refuses both a file and pasted text without calling the shell", async () => {
    const calls = shell({ choose_file: () => ({ token: "file-1", name: "a.csv" }) });
    render(<RecordCollector />);
    fireEvent.click(screen.getByTestId("rc-choose-file"));
    await waitFor(() => expect(screen.getByTestId("rc-file").textContent).toBe("a.csv"));
    fireEvent.change(screen.getByTestId("rc-text"), { target: { value: "a,b" } });
    fireEvent.click(screen.getByTestId("rc-preview"));
    expect((await screen.findByTestId("rc-error")).textContent).toContain("clear one of them");
    expect(calls.some((c) => c.cmd === "import_records")).toBe(false);
  });

  it("shows a parse error with its line and column", async () => {
    shell({
      import_records: () => {
        throw { code: "parseError", message: "line 3, column 5: unterminated quote" };
      },
    });
    render(<RecordCollector />);
    fireEvent.change(screen.getByTestId("rc-text"), { target: { value: 'a,b\n1,2\n3,"4' } });
    fireEvent.click(screen.getByTestId("rc-preview"));
    const error = await screen.findByTestId("rc-error");
    expect(error.textContent).toContain("line 3, column 5");
    expect(error.textContent).toContain("parseError");
    expect((screen.getByTestId("rc-preview") as HTMLButtonElement).disabled).toBe(false);
  });

  it("drops the previous parser when a later attempt fails", async () => {
    let fail = false;
    shell({
      import_records: () => {
        if (fail) throw { code: "parseError", message: "line 2, column 1: expected a value" };
        return preview;
      },
    });
    render(<RecordCollector />);
    fireEvent.change(screen.getByTestId("rc-text"), { target: { value: "name,age\nann,3" } });
    fireEvent.click(screen.getByTestId("rc-preview"));
    await waitFor(() => expect(screen.getByTestId("rc-parser").getAttribute("data-parser")).toBe("in-process"));
    fail = true;
    fireEvent.click(screen.getByTestId("rc-preview"));
    expect((await screen.findByTestId("rc-error")).textContent).toContain("line 2, column 1");
    expect(screen.queryByTestId("rc-parser")).toBeNull();
  });

  it("saves, reloads the list, selects the new dataset and shows the parser", async () => {
    const created: Dataset = { ...people, id: 9, name: "pasted", row_count: 2, format: "json" };
    let listed: Dataset[] = [people];
    const calls = shell({
      save_dataset: () => {
        listed = [people, created];
        return { dataset: created, parser: "service", parserReason: null };
      },
      list_datasets: () => listed,
    });
    render(
      <>
        <RecordCollector />
        <Toaster autoDismissMs={0} />
      </>,
    );
    fireEvent.change(screen.getByTestId("rc-text"), { target: { value: '[{"name":"a","age":1}]' } });
    fireEvent.change(screen.getByTestId("rc-format"), { target: { value: "json" } });
    fireEvent.change(screen.getByTestId("rc-name"), { target: { value: "pasted" } });
    fireEvent.click(screen.getByTestId("rc-save"));
    await waitFor(() => expect(selections).toContainEqual({ datasetId: 9, name: "pasted" }));
    expect(calls.find((c) => c.cmd === "save_dataset")?.args).toMatchObject({ text: '[{"name":"a","age":1}]', format: "json", name: "pasted" });
    expect(screen.getByTestId("rc-parser").textContent).toContain("service");
    expect(screen.getByTestId("rc-parser").getAttribute("data-parser")).toBe("service");
    expect(await screen.findByText('Saved "pasted" with 2 rows')).toBeTruthy();
    expect(await screen.findByText(/rows 1–100 of 250/)).toBeTruthy();
    expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="9"]')?.getAttribute("data-selected")).toBe("true");
  });
});

/** Deletes dataset 7 with its confirm step, sees it go, and clicks Undo on the toast. */
async function deleteThenUndo() {
  render(
    <>
      <RecordCollector />
      <Toaster autoDismissMs={0} />
    </>,
  );
  await waitFor(() => expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]')).toBeTruthy());
  fireEvent.click(screen.getByText("Delete"));
  fireEvent.click(screen.getByText("Confirm delete"));
  await waitFor(() => expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]')).toBeNull());
  // Toasts outlive a test (one store per module): the newest is this test's.
  await screen.findAllByText("Deleted people (250 rows)");
  fireEvent.click(screen.getAllByRole("button", { name: "Undo" }).at(-1)!);
}

describe("datasets and records", () => {
  it("selects a dataset, pages its records and filters them", async () => {
    const calls = shell();
    render(<RecordCollector />);
    const item = await waitFor(() => {
      const el = screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]');
      if (!el) throw new Error("not yet");
      return el as HTMLElement;
    });
    expect(item.textContent).toContain("people");
    expect(item.textContent).toContain("csv");
    expect(item.textContent).toContain("250 rows");
    // A click on the item itself (not only its name) selects, as the end-to-end test clicks it.
    fireEvent.click(item);
    expect(selections).toContainEqual({ datasetId: 7, name: "people" });
    expect(await screen.findByText("rows 1–100 of 250")).toBeTruthy();
    expect((screen.getByTestId("rc-prev") as HTMLButtonElement).disabled, "nothing before the first page").toBe(true);
    fireEvent.click(screen.getByTestId("rc-next"));
    expect(await screen.findByText("rows 101–200 of 250")).toBeTruthy();
    const pages = calls.filter((c) => c.cmd === "dataset_records").map((c) => c.args);
    // Next follows the page's cursor (no offset scan in Rust).
    expect(pages.at(-1)).toMatchObject({ query: { offset: 0, limit: 100 }, cursor: "after:99" });
    expect(pages.every((a) => (a.query as { limit: number }).limit <= 200)).toBe(true);
    fireEvent.click(screen.getByTestId("rc-next"));
    expect(await screen.findByText("rows 201–250 of 250")).toBeTruthy();
    await waitFor(() => expect((screen.getByTestId("rc-next") as HTMLButtonElement).disabled, "the last page").toBe(true));
    // Prev follows the page's previous cursor, back to the first page.
    fireEvent.click(screen.getByTestId("rc-prev"));
    expect(await screen.findByText("rows 101–200 of 250")).toBeTruthy();
    expect(calls.filter((c) => c.cmd === "dataset_records").at(-1)?.args.cursor).toBe("before:200");
    fireEvent.click(screen.getByTestId("rc-prev"));
    expect(await screen.findByText("rows 1–100 of 250")).toBeTruthy();
    await waitFor(() => expect((screen.getByTestId("rc-prev") as HTMLButtonElement).disabled).toBe(true));
    fireEvent.click(screen.getByTestId("rc-next"));
    expect(await screen.findByText("rows 101–200 of 250")).toBeTruthy();

    fireEvent.change(screen.getByTestId("rc-filter-column"), { target: { value: "age" } });
    fireEvent.change(screen.getByTestId("rc-filter-op"), { target: { value: "contains" } });
    fireEvent.change(screen.getByTestId("rc-filter-value"), { target: { value: "4" } });
    fireEvent.click(screen.getByTestId("rc-filter-apply"));
    await waitFor(() =>
      // A new filter starts from the first page: no cursor.
      expect(calls.filter((c) => c.cmd === "dataset_records").at(-1)?.args).toEqual({
        datasetId: 7,
        query: { offset: 0, limit: 100, filter: { column: "age", op: "contains", value: "4" }, sort: null },
        cursor: null,
      }),
    );
  });

  it("sorts by a header click over the whole dataset, from the first page", async () => {
    const calls = shell();
    bus.emit("dataset.selected", { datasetId: 7, name: "people" });
    render(<RecordCollector />);
    expect(await screen.findByText("rows 1–100 of 250")).toBeTruthy();
    fireEvent.click(screen.getByTestId("rc-next"));
    expect(await screen.findByText("rows 101–200 of 250")).toBeTruthy();
    const records = screen.getByTestId("rc-records");
    const header = (column: string) => records.querySelector(`[role="columnheader"][data-column="${column}"]`) as HTMLElement;
    const lastQuery = () => calls.filter((c) => c.cmd === "dataset_records").at(-1)?.args.query;
    const lastCursor = () => calls.filter((c) => c.cmd === "dataset_records").at(-1)?.args.cursor;
    expect(within(header("#")).queryByRole("button"), "file order is the order without a sort").toBeNull();

    fireEvent.click(within(header("age")).getByRole("button"));
    await waitFor(() => expect(lastQuery()).toEqual({ offset: 0, limit: 100, filter: null, sort: { column: "age", descending: false } }));
    expect(lastCursor(), "a new order starts from the first page").toBeNull();
    expect(await screen.findByText("rows 1–100 of 250")).toBeTruthy();
    expect(header("age").getAttribute("aria-sort")).toBe("ascending");

    fireEvent.click(within(header("age")).getByRole("button"));
    await waitFor(() => expect(lastQuery()).toMatchObject({ offset: 0, sort: { column: "age", descending: true } }));
    expect(header("age").getAttribute("aria-sort")).toBe("descending");

    // The sort stays while paging, and a filter keeps it.
    fireEvent.click(screen.getByTestId("rc-next"));
    await waitFor(() => expect(lastCursor()).toBe("after:99"));
    expect(lastQuery()).toMatchObject({ offset: 0, sort: { column: "age", descending: true } });
    expect(await screen.findByText("rows 101–200 of 250")).toBeTruthy();
    fireEvent.change(screen.getByTestId("rc-filter-value"), { target: { value: "person" } });
    fireEvent.click(screen.getByTestId("rc-filter-apply"));
    await waitFor(() => expect(lastQuery()).toMatchObject({ offset: 0, filter: { column: "name", value: "person" }, sort: { column: "age", descending: true } }));
    expect(lastCursor(), "a new filter starts from the first page").toBeNull();
    expect(await screen.findByText("rows 1–100 of 250")).toBeTruthy();

    fireEvent.click(within(header("age")).getByRole("button"));
    await waitFor(() => expect(lastQuery()).toMatchObject({ offset: 0, sort: null }));
    expect(lastCursor()).toBeNull();
    expect(header("age").getAttribute("aria-sort")).toBe("none");
  });

  it("edits a cell keeping numbers as numbers", async () => {
    const calls = shell();
    bus.emit("dataset.selected", { datasetId: 7, name: "people" });
    render(<RecordCollector />);
    const records = await screen.findByTestId("rc-records");
    // No Edit buttons: a double-click on the cell edits it in place, Enter saves.
    expect(within(records).queryByRole("button", { name: /^Edit/ })).toBeNull();
    await waitFor(() => expect(records.querySelector('[data-row-key="1000"] [data-column="age"]')).toBeTruthy());
    fireEvent.doubleClick(records.querySelector('[data-row-key="1000"] [data-column="age"]') as HTMLElement);
    const editor = within(records).getByLabelText("Edit age of row 1");
    fireEvent.change(editor, { target: { value: "77" } });
    fireEvent.keyDown(editor, { key: "Enter" });
    await waitFor(() => expect(within(records).getByText("77")).toBeTruthy());
    expect(within(records).queryByLabelText("Edit age of row 1")).toBeNull();
    expect(calls.find((c) => c.cmd === "update_record_field")?.args).toEqual({ recordId: 1000, column: "age", value: 77 });
  });

  it("deletes a dataset only after the confirm click", async () => {
    const calls = shell();
    render(<RecordCollector />);
    await waitFor(() => expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]')).toBeTruthy());
    fireEvent.click(screen.getByText("Delete"));
    expect(calls.some((c) => c.cmd === "delete_dataset")).toBe(false);
    expect(selections.some((s) => s.datasetId === 7)).toBe(false);
    fireEvent.click(screen.getByText("Confirm delete"));
    await waitFor(() => expect(screen.getByText("No datasets yet")).toBeTruthy());
    expect(calls.find((c) => c.cmd === "delete_dataset")?.args).toEqual({ datasetId: 7 });
  });

  it("undoes a delete from its toast: the dataset comes back and is selected (issue 16, point 5)", async () => {
    let trash: Dataset[] = [];
    const calls = shell({
      delete_dataset: () => {
        trash = [people];
        return null;
      },
      list_datasets: () => (trash.length ? [] : [people]),
      restore_dataset: () => {
        trash = [];
        return people;
      },
    });
    await deleteThenUndo();
    await waitFor(() => expect(screen.getByTestId("rc-datasets").querySelector('[data-dataset-id="7"]')).toBeTruthy());
    expect(calls.find((c) => c.cmd === "restore_dataset")?.args).toEqual({ datasetId: 7 });
    await waitFor(() => expect(selections).toContainEqual({ datasetId: 7, name: "people" }));
    await screen.findAllByText("Restored people");
  });

  it("says so when the undo comes too late", async () => {
    shell({
      restore_dataset: () => {
        throw { code: "notFound", message: "there is no dataset in the trash with id 7" };
      },
    });
    await deleteThenUndo();
    await screen.findByText(/Could not restore people: there is no dataset in the trash with id 7/);
  });

  it("shows the shell's error when the records cannot load", async () => {
    shell({
      dataset_records: () => {
        throw { code: "notFound", message: "dataset 7 was deleted; pick another dataset" };
      },
    });
    bus.emit("dataset.selected", { datasetId: 7, name: "people" });
    render(<RecordCollector />);
    expect((await screen.findByRole("alert")).textContent).toContain("dataset 7 was deleted; pick another dataset (notFound)");
  });
});
