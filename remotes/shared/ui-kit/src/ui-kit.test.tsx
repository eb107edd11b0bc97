import { describe, expect, it } from "vitest";
import { act, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { DataTable, EmptyState, ErrorState, SelectField, TextField, Toaster, ThemeToggle, applyTheme, currentTheme, toast, type Column } from "./index";

interface Row {
  id: string;
  n: number;
}

const columns: Column<Row>[] = [
  { key: "id", header: "Id", render: (r) => r.id },
  { key: "n", header: "Number", render: (r) => String(r.n) },
];

function rows(count: number): Row[] {
  return Array.from({ length: count }, (_, i) => ({ id: `row-${i}`, n: i }));
}

describe("DataTable", () => {
  it("renders only the rows in view of a 100k-row table", () => {
    render(<DataTable columns={columns} rows={rows(100_000)} rowKey={(r) => r.id} height={340} rowHeight={34} initialRect={{ width: 800, height: 340 }} />);
    const rendered = screen.getAllByRole("row").length - 1; // minus the header row
    // 10 rows fit, plus the overscan: far from 100k, and the first row is there.
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(40);
    expect(screen.getByText("row-0")).toBeTruthy();
    expect(screen.queryByText("row-99999")).toBeNull();
    // The header row counts: the body rows are 2…100001.
    expect(screen.getByRole("grid").getAttribute("aria-rowcount")).toBe("100001");
  });

  it("shows the empty state when there are no rows", () => {
    render(<DataTable columns={columns} rows={[]} rowKey={(r) => r.id} empty={<EmptyState title="No records yet" />} />);
    expect(screen.getByText("No records yet")).toBeTruthy();
    expect(screen.getAllByRole("row")).toHaveLength(1);
  });
});

describe("fields and states", () => {
  it("a text field reports changes and shows its error", () => {
    function Harness() {
      const [value, setValue] = useState("");
      return <TextField label="Name" value={value} onChange={setValue} error={value.length > 3 ? "at most 3 letters" : null} />;
    }
    render(<Harness />);
    const input = screen.getByLabelText("Name") as HTMLInputElement;
    fireEvent.change(input, { target: { value: "abcd" } });
    expect(input.value).toBe("abcd");
    expect(screen.getByRole("alert").textContent).toBe("at most 3 letters");
    expect(input.getAttribute("aria-invalid")).toBe("true");
  });

  it("a text field carries its test id and input constraints", () => {
    render(<TextField label="Tokens" testId="tokens" type="number" min={0} required value="5" onChange={() => {}} />);
    const input = screen.getByTestId("tokens") as HTMLInputElement;
    expect(input).toBe(screen.getByLabelText("Tokens"));
    expect(input.type).toBe("number");
    expect(input.min).toBe("0");
    expect(input.required).toBe(true);
  });

  it("a text field without the 1.1 props renders no test id and no constraints", () => {
    render(<TextField label="Plain" value="" onChange={() => {}} />);
    const input = screen.getByLabelText("Plain") as HTMLInputElement;
    expect(input.hasAttribute("data-testid")).toBe(false);
    expect(input.hasAttribute("min")).toBe(false);
    expect(input.required).toBe(false);
  });

  it("a select field carries its test id and reports the chosen value", () => {
    function Harness() {
      const [value, setValue] = useState("csv");
      const options = [
        { value: "csv", label: "CSV" },
        { value: "json", label: "JSON" },
      ];
      return <SelectField label="Format" testId="format" value={value} options={options} onChange={setValue} />;
    }
    render(<Harness />);
    const select = screen.getByTestId("format") as HTMLSelectElement;
    expect(select).toBe(screen.getByLabelText("Format"));
    fireEvent.change(select, { target: { value: "json" } });
    expect(select.value).toBe("json");
  });

  it("the error state offers a retry that calls back", () => {
    let retried = 0;
    render(<ErrorState title="Could not load" detail="the shell said no" onRetry={() => retried++} />);
    fireEvent.click(screen.getByText("Retry"));
    expect(retried).toBe(1);
  });
});

describe("toasts", () => {
  it("a toast raised anywhere shows in the Toaster and can be dismissed", () => {
    render(<Toaster autoDismissMs={0} />);
    act(() => {
      toast("Saved", "success");
    });
    const shown = screen.getByRole("status");
    expect(shown.textContent).toContain("Saved");
    expect(shown.getAttribute("data-tone")).toBe("success");
    fireEvent.click(screen.getByLabelText("Dismiss"));
    expect(screen.queryByRole("status")).toBeNull();
  });
});

describe("theme", () => {
  it("switches light and dark through one attribute on <html>", () => {
    applyTheme("light");
    render(<ThemeToggle />);
    fireEvent.click(screen.getByRole("button"));
    expect(document.documentElement.dataset.theme).toBe("dark");
    expect(currentTheme()).toBe("dark");
    fireEvent.click(screen.getByRole("button"));
    expect(document.documentElement.dataset.theme).toBe("light");
  });
});
