// "Import from a data store" in the Record Collector, against Tauri's IPC
// mock answering like src-tauri/src/commands/datastores.rs: a connection
// added with its token (sent once, then gone from the page), the preview's
// mapping table, an import under a renamed and a dropped column, the new
// dataset in the list, and the host's refusal shown as it said it.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createEventBus, installShellBus, type AugmentEvents } from "@augment-it/messaging";
import type { Dataset, DatastoreConnection, DatastorePreview, DatastoreSource } from "@augment-it/host-client";
import RecordCollector from "./App";
import { deferred } from "../../testing";

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

const TOKEN = "nc-secret-token-123";
const source: DatastoreSource = { kind: "nocodb", base_url: "http://127.0.0.1:8080", table_id: "m1", token_kind: "xc-token" };
const saved: DatastoreConnection = { name: "crm", kind: "nocodb", source, hasCredential: true };

const preview: DatastorePreview = {
  keyColumn: "Id",
  columns: [
    { name: "Id", inferred: "integer", serviceType: "ID", samples: [1, 2] },
    { name: "Title", inferred: "string", serviceType: "SingleLineText", samples: ["Ann", "Bob"] },
    { name: "Score", inferred: "number", serviceType: "Decimal", samples: [1.5] },
    { name: "Notes", inferred: "string", serviceType: "LongText", samples: ["hi"] },
  ],
  rows: [
    { Id: 1, Title: "Ann", Score: 1.5, Notes: "hi" },
    { Id: 2, Title: "Bob", Score: null, Notes: null },
  ],
};

const imported: Dataset = {
  id: 12,
  name: "customers",
  format: "json",
  columns: [
    { name: "Id", type: "string" },
    { name: "name", type: "string" },
    { name: "Score", type: "number" },
  ],
  row_count: 1200,
  created_at: 0,
};

type Call = { cmd: string; args: Record<string, unknown> };

function shell(options: { connections?: DatastoreConnection[]; overrides?: Record<string, (args: Record<string, unknown>) => unknown> } = {}) {
  const calls: Call[] = [];
  let connections = options.connections ?? [];
  let datasets: Dataset[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const override = options.overrides?.[cmd];
    if (override) return override(args);
    switch (cmd) {
      case "list_datasets":
        return datasets;
      case "recent_files":
        return [];
      case "list_datastore_connections":
        return connections;
      case "save_datastore_connection": {
        const connection = { name: args.name, kind: (args.source as DatastoreSource).kind, source: args.source, hasCredential: true } as DatastoreConnection;
        connections = [...connections.filter((c) => c.name !== args.name), connection];
        return connection;
      }
      case "preview_datastore":
        return preview;
      case "import_datastore":
        datasets = [imported];
        return imported;
      case "dataset_records":
        return { total: 0, items: [] };
    }
    throw { code: "internal", message: `unexpected ${cmd}` };
  });
  return calls;
}

const section = () => screen.getByTestId("ds-import");
const field = (testId: string) => within(section()).getByTestId(testId) as HTMLInputElement;
const type = (testId: string, value: string) => fireEvent.change(field(testId), { target: { value } });
const line = (column: string) => section().querySelector(`tr[data-column="${column}"]`) as HTMLTableRowElement;

async function previewSaved() {
  render(<RecordCollector />);
  await waitFor(() => expect(field("ds-summary").textContent).toContain("NocoDB table m1"));
  fireEvent.click(field("ds-preview"));
  await screen.findByTestId("ds-mapping");
}

describe("a new connection", () => {
  it("is saved with its source and token, and the token leaves the page", async () => {
    const calls = shell();
    render(<RecordCollector />);
    await screen.findByTestId("ds-form");
    expect(field("ds-token").type).toBe("password");
    expect(within(section()).getByText(/Saved in your OS keychain/)).toBeTruthy();
    type("ds-name", "crm");
    type("ds-field-base_url", "http://127.0.0.1:8080/");
    type("ds-field-table_id", "m1");
    type("ds-token", TOKEN);
    fireEvent.click(field("ds-save-connection"));
    await waitFor(() => expect(field("ds-summary").textContent).toContain("NocoDB table m1"));
    expect(calls.find((c) => c.cmd === "save_datastore_connection")?.args).toEqual({
      name: "crm",
      source: { kind: "nocodb", base_url: "http://127.0.0.1:8080/", table_id: "m1", token_kind: "xc-token" },
      credential: TOKEN,
    });
    expect((within(section()).getByTestId("ds-connection") as HTMLSelectElement).value).toBe("crm");
    expect(within(section()).getByText("token in the keychain")).toBeTruthy();
    expect(document.body.innerHTML).not.toContain(TOKEN);
  });

  it("names each field to fix and asks for the token, without calling the shell", async () => {
    const calls = shell();
    render(<RecordCollector />);
    await screen.findByTestId("ds-form");
    type("ds-field-base_url", "not a url");
    fireEvent.click(field("ds-save-connection"));
    const alerts = await within(section()).findAllByRole("alert");
    const text = alerts.map((a) => a.textContent).join(" | ");
    expect(text).toContain("Name the connection");
    expect(text).toContain("full address");
    expect(text).toContain("table id");
    expect(text).toContain("api token");
    expect(field("ds-field-base_url").getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.cmd === "save_datastore_connection")).toBe(false);
  });

  it("asks for each service's own fields", async () => {
    shell();
    render(<RecordCollector />);
    await screen.findByTestId("ds-form");
    fireEvent.change(within(section()).getByTestId("ds-kind"), { target: { value: "databricks" } });
    expect(field("ds-field-warehouse_id")).toBeTruthy();
    expect(within(section()).queryByTestId("ds-field-table_id")).toBeNull();
    expect(within(section()).getByLabelText("Personal access token (PAT)")).toBeTruthy();
  });
});

describe("a saved connection", () => {
  it("is edited without resending its token when the field is left empty", async () => {
    const calls = shell({ connections: [saved] });
    render(<RecordCollector />);
    fireEvent.click(await within(section()).findByTestId("ds-edit"));
    expect(field("ds-field-table_id").value).toBe("m1");
    expect(field("ds-token").value).toBe("");
    expect(field("ds-token").required).toBe(false);
    type("ds-field-view_id", "vw9");
    fireEvent.click(field("ds-save-connection"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_datastore_connection")).toBe(true));
    const args = calls.find((c) => c.cmd === "save_datastore_connection")?.args;
    expect(args).toEqual({ name: "crm", source: { ...source, view_id: "vw9" } });
  });
});

describe("deleting a connection", () => {
  it("asks once more, then deletes it and offers to add one", async () => {
    const calls = shell({ connections: [saved], overrides: { delete_datastore_connection: () => null, list_datastore_connections: () => (calls.some((c) => c.cmd === "delete_datastore_connection") ? [] : [saved]) } });
    render(<RecordCollector />);
    fireEvent.click(await within(section()).findByTestId("ds-delete"));
    expect(calls.some((c) => c.cmd === "delete_datastore_connection")).toBe(false);
    fireEvent.click(field("ds-confirm-delete"));
    await screen.findByTestId("ds-form");
    expect(calls.find((c) => c.cmd === "delete_datastore_connection")?.args).toEqual({ name: "crm" });
  });
});

describe("preview and import", () => {
  it("shows each column's inferred and service type and samples, the key kept", async () => {
    shell({ connections: [saved] });
    await previewSaved();
    expect(within(line("Score")).getByTestId("ds-inferred").textContent).toBe("number");
    expect(within(line("Score")).getByTestId("ds-service-type").textContent).toBe("Decimal");
    expect(line("Title").textContent).toContain("Ann, Bob");
    const key = within(line("Id")).getByTestId("ds-include") as HTMLInputElement;
    expect(key.checked && key.disabled).toBe(true);
    expect(field("ds-key-column").textContent).toBe("Id");
    expect(field("ds-dataset-name").value).toBe("crm");
  });

  it("imports the kept columns under their names and selects the new dataset", async () => {
    const calls = shell({ connections: [saved] });
    await previewSaved();
    fireEvent.change(within(line("Title")).getByLabelText("Name of Title in the dataset"), { target: { value: "name" } });
    fireEvent.click(within(line("Notes")).getByLabelText("Keep Notes"));
    expect((within(line("Notes")).getByTestId("ds-target") as HTMLInputElement).disabled).toBe(true);
    type("ds-dataset-name", "customers");
    fireEvent.click(field("ds-import-run"));
    await waitFor(() => expect(selections).toContainEqual({ datasetId: 12, name: "customers" }));
    expect(calls.find((c) => c.cmd === "import_datastore")?.args).toEqual({
      connection: "crm",
      name: "customers",
      mapping: {
        keyColumn: "Id",
        columns: [
          { source: "Title", target: "name" },
          { source: "Score", target: "Score" },
        ],
      },
    });
    const list = await screen.findByTestId("rc-datasets");
    await waitFor(() => expect(list.textContent).toContain("customers"));
    expect(list.textContent).toContain("1200 rows");
    expect(screen.queryByTestId("ds-mapping")).toBeNull();
  });

  it("flags two columns named alike inline and holds the import until fixed", async () => {
    const calls = shell({ connections: [saved] });
    await previewSaved();
    const title = within(line("Title")).getByTestId("ds-target");
    fireEvent.change(title, { target: { value: "Score" } });
    expect(within(line("Title")).getByTestId("ds-target-error").textContent).toContain("also the name of Score");
    expect(within(line("Score")).getByTestId("ds-target-error").textContent).toContain("also the name of Title");
    expect(title.getAttribute("aria-invalid")).toBe("true");
    expect(field("ds-import-run").disabled).toBe(true);
    // Leaving the other column out resolves it.
    fireEvent.click(within(line("Score")).getByLabelText("Keep Score"));
    expect(within(section()).queryByTestId("ds-target-error")).toBeNull();
    expect(field("ds-import-run").disabled).toBe(false);
    fireEvent.change(title, { target: { value: "  " } });
    expect(within(line("Title")).getByTestId("ds-target-error").textContent).toContain("Give this column a name");
    expect(calls.some((c) => c.cmd === "import_datastore")).toBe(false);
  });

  it("holds the import while only the key is kept", async () => {
    shell({ connections: [saved] });
    await previewSaved();
    for (const column of ["Title", "Score", "Notes"]) fireEvent.click(within(line(column)).getByLabelText(`Keep ${column}`));
    expect(field("ds-import-run").disabled).toBe(true);
    expect(field("ds-mapping-problem").textContent).toContain("at least one column besides the key");
    fireEvent.click(within(line("Notes")).getByLabelText("Keep Notes"));
    expect(field("ds-import-run").disabled).toBe(false);
  });

  it("shows that it is importing, then the host's refusal as it said it", async () => {
    const reply = deferred<Dataset>();
    shell({ connections: [saved], overrides: { import_datastore: () => reply.promise } });
    await previewSaved();
    fireEvent.click(field("ds-import-run"));
    const busy = await within(section()).findByTestId("ds-busy");
    expect(busy.getAttribute("data-busy")).toBe("importing");
    expect(section().getAttribute("aria-busy")).toBe("true");
    expect(field("ds-import-run").disabled).toBe(true);
    await act(async () => reply.reject({ code: "unauthorized", message: "nocodb refused the credential (401): Invalid token. Check the token in the keychain" }));
    const error = await within(section()).findByTestId("ds-error");
    expect(error.textContent).toContain("Could not import the table");
    expect(error.textContent).toContain("nocodb refused the credential (401)");
    expect(error.textContent).toContain("Check the token");
    expect(within(section()).queryByTestId("ds-busy")).toBeNull();
    expect(field("ds-import-run").disabled).toBe(false);
    expect(screen.getByTestId("ds-mapping")).toBeTruthy();
  });
});
