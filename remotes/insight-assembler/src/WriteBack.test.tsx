// Writing a run's answers back to a data store, against Tauri's IPC mock
// answering like the shell.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { DatastoreConnection, RunSummary, WriteReport } from "@augment-it/host-client";
import { FAILED_SHOWN, reportText, WriteBack, writeBackColumns } from "./WriteBack";

afterEach(() => {
  cleanup();
  clearMocks();
});

type Call = { cmd: string; args: Record<string, unknown> };

function run(id: number, answered: number): RunSummary {
  return {
    run_id: id,
    status: "completed",
    total: answered,
    queued: 0,
    in_flight: 0,
    answered,
    failed: 0,
    note: null,
    dataset_id: 7,
    template_version_ids: [3],
    targets: [{ provider: "openai", model: "gpt-4o-mini" }],
    created_at: 1,
    finished_at: 2,
  };
}

const WORK: DatastoreConnection = {
  name: "work",
  kind: "nocodb",
  source: { kind: "nocodb", base_url: "https://nocodb.example", table_id: "books", token_kind: "xc-token" },
  hasCredential: true,
};

const REPORT: WriteReport = { updated: 248, createdColumns: ["AI answer"], failed: [{ key: "7", reason: "nocodb answered 422: Record '7' was refused" }], withoutKey: 1 };

function shell(calls: Call[], overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (overrides[cmd]) return overrides[cmd](a);
    switch (cmd) {
      case "list_runs":
        return [run(2, 250), run(1, 0)];
      case "list_datastore_connections":
        return [WORK];
      case "write_back_run":
        return REPORT;
      default:
        throw { code: "internal", message: `unexpected ${cmd}` };
    }
  });
}

const calledWith = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args);

describe("writeBackColumns", () => {
  it("sends named columns and leaves empty ones out", () => {
    expect(writeBackColumns({ answer: " AI answer ", tags: "", notes: "Notes" })).toEqual({ answer: "AI answer", tags: null, notes: "Notes" });
  });

  it("refuses nothing to write and two columns of one name", () => {
    expect(writeBackColumns({ answer: " ", tags: "", notes: "" })).toMatch(/at least one column/);
    expect(writeBackColumns({ answer: "Out", tags: "Out", notes: "" })).toMatch(/its own name/);
  });
});

describe("reportText", () => {
  it("says what was written, created, refused and skipped", () => {
    expect(reportText(REPORT, "work")).toBe(
      "Wrote 248 rows to work. Created AI answer. 1 refused: write back again to retry them. 1 answered record has no key and was skipped.",
    );
    expect(reportText({ updated: 1, createdColumns: [], failed: [], withoutKey: 0 }, "work")).toBe("Wrote 1 row to work.");
  });
});

describe("WriteBack", () => {
  it("writes the chosen run's answers and tags to the connection and shows the refused rows", async () => {
    const calls: Call[] = [];
    shell(calls);
    render(<WriteBack datasetId={7} revision={0} />);
    const runSelect = (await screen.findByTestId("ia-write-back-run")) as HTMLSelectElement;
    await waitFor(() => expect(runSelect.options.length).toBe(2));
    expect(calledWith(calls, "list_runs")).toEqual([{ datasetId: 7 }]);
    // A run without answers has nothing to write.
    expect(Array.from(runSelect.options).map((o) => o.value)).toEqual(["", "2"]);
    const go = screen.getByTestId("ia-write-back-go") as HTMLButtonElement;
    expect(go.disabled).toBe(true);

    fireEvent.change(runSelect, { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("ia-write-back-connection"), { target: { value: "work" } });
    fireEvent.change(screen.getByTestId("ia-write-back-tags"), { target: { value: "AI tags" } });
    fireEvent.click(screen.getByTestId("ia-write-back-create"));
    expect(go.disabled).toBe(false);
    fireEvent.click(go);

    const report = await screen.findByTestId("ia-write-back-report");
    expect(calledWith(calls, "write_back_run")).toEqual([
      { run: 2, connection: "work", columns: { answer: "AI answer", tags: "AI tags", notes: null }, createColumns: false },
    ]);
    expect(report.textContent).toContain("Wrote 248 rows to work.");
    expect(screen.getByRole("list", { name: "Rows the store refused" }).textContent).toContain("7: nocodb answered 422");
  });

  it("shows at most FAILED_SHOWN refused rows and counts the rest", async () => {
    const failed = Array.from({ length: FAILED_SHOWN + 5 }, (_, i) => ({ key: String(i), reason: "refused" }));
    shell([], { write_back_run: () => ({ ...REPORT, failed }) });
    render(<WriteBack datasetId={7} revision={0} />);
    const runSelect = (await screen.findByTestId("ia-write-back-run")) as HTMLSelectElement;
    await waitFor(() => expect(runSelect.options.length).toBe(2));
    fireEvent.change(runSelect, { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("ia-write-back-connection"), { target: { value: "work" } });
    fireEvent.click(screen.getByTestId("ia-write-back-go"));
    const list = await screen.findByRole("list", { name: "Rows the store refused" });
    expect(list.querySelectorAll("li")).toHaveLength(FAILED_SHOWN + 1);
    expect(list.textContent).toContain("… and 5 more");
  });

  it("shows the shell's refusal word for word, e.g. a run with several models", async () => {
    const message = "run 2 answered with several models (openai/a, anthropic/b): choose one with `augment run export --model`";
    shell([], { write_back_run: () => { throw { code: "invalidInput", message }; } });
    render(<WriteBack datasetId={7} revision={0} />);
    const runSelect = (await screen.findByTestId("ia-write-back-run")) as HTMLSelectElement;
    await waitFor(() => expect(runSelect.options.length).toBe(2));
    fireEvent.change(runSelect, { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("ia-write-back-connection"), { target: { value: "work" } });
    fireEvent.click(screen.getByTestId("ia-write-back-go"));
    expect((await screen.findByTestId("ia-write-back-error")).textContent).toContain(message);
    expect(screen.queryByTestId("ia-write-back-report")).toBeNull();
  });

  it("points to the Record Collector when there is no connection", async () => {
    shell([], { list_datastore_connections: () => [] });
    render(<WriteBack datasetId={7} revision={0} />);
    expect(await screen.findByText("No data-store connections")).toBeTruthy();
  });
});
