// The shared data grid: sort, resize, selection across pages, keyboard
// navigation, inline edit, the Markdown drawer, axe. happy-dom has no
// layout, so every table gets an `initialRect` and widths fall back to the
// columns' sizes.
import { describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import axe from "axe-core";
import { DataTable, NO_ROWS_SELECTED, selectedCount, type Column, type DataTableProps, type RowSelection, type TableSort } from "./index";
import { moveActive } from "./table-keys";

interface Person {
  id: string;
  name: string;
  age: number;
  bio: string;
}

const PEOPLE: Person[] = [
  { id: "p1", name: "Carol", age: 41, bio: "short" },
  { id: "p2", name: "alice", age: 7, bio: "# Alice\n\nLikes **tea** and [links](https://example.com).\n\n![a cat](https://example.com/cat.png)" },
  { id: "p3", name: "Bob", age: 30, bio: "<img src=x onerror=\"window.__pwned = true\"> <script>window.__pwned = true</script> plain words after the tags" },
];

function people(count: number): Person[] {
  return Array.from({ length: count }, (_, i) => ({ id: `p${i}`, name: `name ${i}`, age: i, bio: "" }));
}

function columns(save: (row: Person, text: string) => Promise<unknown> | void = () => {}): Column<Person>[] {
  return [
    { key: "name", header: "Name", render: (p) => p.name, sortValue: (p) => p.name, edit: { text: (p) => p.name, save } },
    { key: "age", header: "Age", width: "80px", render: (p) => String(p.age), sortValue: (p) => p.age },
    { key: "bio", header: "Bio", width: "2fr", render: (p) => p.bio, detail: (p) => p.bio },
  ];
}

function Table(props: Partial<DataTableProps<Person>>) {
  return <DataTable label="People" columns={columns()} rows={PEOPLE} rowKey={(p) => p.id} initialRect={{ width: 800, height: 360 }} {...props} />;
}

const rowKeys = () => screen.getAllByRole("row").slice(1).map((row) => row.getAttribute("data-row-key"));
const cell = (row: number, col: number) => document.querySelector<HTMLElement>(`[data-cell="${row}:${col}"]`) as HTMLElement;

describe("DataTable sorting", () => {
  it("a header click cycles ascending, descending and the original order", () => {
    render(<Table />);
    expect(rowKeys()).toEqual(["p1", "p2", "p3"]);
    const name = screen.getByRole("button", { name: "Name" });
    fireEvent.click(name);
    // Natural, case-insensitive: alice, Bob, Carol.
    expect(rowKeys()).toEqual(["p2", "p3", "p1"]);
    expect(screen.getByRole("columnheader", { name: "Name" }).getAttribute("aria-sort")).toBe("ascending");
    fireEvent.click(name);
    expect(rowKeys()).toEqual(["p1", "p3", "p2"]);
    expect(screen.getByRole("columnheader", { name: "Name" }).getAttribute("aria-sort")).toBe("descending");
    fireEvent.click(name);
    expect(rowKeys()).toEqual(["p1", "p2", "p3"]);
  });

  it("numbers sort by value, and Enter on a focused header sorts too", () => {
    render(<Table />);
    const age = screen.getByRole("columnheader", { name: "Age" });
    act(() => age.focus());
    fireEvent.keyDown(age, { key: "Enter" });
    expect(rowKeys()).toEqual(["p2", "p3", "p1"]);
  });

  it("with a caller's sort, a click reports the order and the rows stay as given", () => {
    const onChange = vi.fn();
    render(<Table sort={{ by: { column: "age", descending: false }, onChange }} />);
    expect(screen.getByRole("columnheader", { name: "Age" }).getAttribute("aria-sort")).toBe("ascending");
    fireEvent.click(screen.getByRole("button", { name: "Age" }));
    expect(onChange).toHaveBeenLastCalledWith({ column: "age", descending: true } satisfies TableSort);
    fireEvent.click(screen.getByRole("button", { name: "Name" }));
    expect(onChange).toHaveBeenLastCalledWith({ column: "name", descending: false });
    expect(rowKeys()).toEqual(["p1", "p2", "p3"]);
  });
});

describe("DataTable column sizes", () => {
  const template = () => (document.querySelector(".aui-table-head-row") as HTMLElement).style.gridTemplateColumns;

  it("dragging a header's edge widens the column and the table scrolls sideways past the view", () => {
    render(<Table />);
    expect(template()).toBe("minmax(64px, 1fr) 80px minmax(64px, 2fr)");
    const handle = screen.getByTestId("aui-resize-age");
    fireEvent.pointerDown(handle, { clientX: 100 });
    fireEvent.pointerMove(window, { clientX: 700 });
    fireEvent.pointerUp(window, { clientX: 700 });
    expect(template()).toBe("minmax(64px, 1fr) 680px minmax(64px, 2fr)");
    // Wider than the 800px view with the other columns' floors: the inner block is what scrolls.
    expect((document.querySelector(".aui-table-inner") as HTMLElement).style.minWidth).toBe(`${64 + 680 + 64}px`);
    // A later move without the button held changes nothing.
    fireEvent.pointerMove(window, { clientX: 100 });
    expect(template()).toContain(" 680px ");
  });

  it("Alt+arrows on a focused header resize it; it never gets narrower than its floor", () => {
    render(<Table />);
    const age = screen.getByRole("columnheader", { name: "Age" });
    act(() => age.focus());
    fireEvent.keyDown(age, { key: "ArrowRight", altKey: true });
    expect(template()).toContain(" 96px ");
    for (let i = 0; i < 10; i++) fireEvent.keyDown(age, { key: "ArrowLeft", altKey: true });
    expect(template()).toContain(" 80px ");
  });
});

describe("DataTable selection", () => {
  function Selectable({ matching, onBulk }: { matching: number; onBulk: (selection: RowSelection) => void }) {
    const [selected, setSelected] = useState<RowSelection>(NO_ROWS_SELECTED);
    return (
      <>
        <button type="button" onClick={() => onBulk(selected)}>
          Act on {selectedCount(selected, matching)}
        </button>
        <Table rows={people(20)} selection={{ selected, onChange: setSelected, matching, rowLabel: (key) => `person ${key}` }} />
      </>
    );
  }

  it("the header checkbox selects the rows on screen, then the offer selects every matching row", () => {
    const onBulk = vi.fn();
    render(<Selectable matching={250} onBulk={onBulk} />);
    fireEvent.click(screen.getByLabelText("Select person p3"));
    expect(screen.getByRole("button", { name: "Act on 1" })).toBeTruthy();
    expect(screen.queryByTestId("aui-table-offer")).toBeNull();

    fireEvent.click(screen.getByLabelText("Select all rows on screen"));
    expect(screen.getByRole("button", { name: "Act on 20" })).toBeTruthy();
    expect(screen.getAllByRole("row").slice(1).every((row) => row.getAttribute("aria-selected") === "true")).toBe(true);
    expect(screen.getByTestId("aui-table-offer").textContent).toContain("All 20 rows on screen are selected.");

    fireEvent.click(screen.getByRole("button", { name: "Select all 250 matching" }));
    fireEvent.click(screen.getByRole("button", { name: "Act on 250" }));
    expect(onBulk).toHaveBeenLastCalledWith({ kind: "matching" });
    expect(screen.getByTestId("aui-table-offer").textContent).toContain("All 250 matching rows are selected.");

    // Unticking one row leaves the rest of the screen selected (the query cannot be listed without loading it).
    fireEvent.click(screen.getByLabelText("Select person p0"));
    expect(screen.getByRole("button", { name: "Act on 19" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Act on 19" }));
    const last = onBulk.mock.lastCall?.[0] as RowSelection;
    expect(last.kind === "rows" && last.keys.has("p0")).toBe(false);
  });

  it("Space on a row toggles its selection; no offer when the screen holds every match", () => {
    render(<Selectable matching={20} onBulk={() => {}} />);
    act(() => cell(0, 1).focus());
    fireEvent.keyDown(cell(0, 1), { key: "ArrowDown" });
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: " " });
    expect(screen.getByRole("button", { name: "Act on 1" })).toBeTruthy();
    expect((screen.getByLabelText("Select person p1") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByLabelText("Select all rows on screen"));
    expect(screen.queryByTestId("aui-table-offer")).toBeNull();
  });
});

describe("DataTable keyboard", () => {
  it("one tab stop; arrows, Home/End and PageDown move it and the focus", () => {
    render(<Table rows={people(500)} height={340} />);
    const tabStops = () => [...document.querySelectorAll("[role=grid] [tabindex='0']")];
    expect(tabStops()).toEqual([cell(0, 0)]);
    act(() => cell(0, 0).focus());
    fireEvent.keyDown(cell(0, 0), { key: "ArrowDown" });
    expect(document.activeElement).toBe(cell(1, 0));
    fireEvent.keyDown(cell(1, 0), { key: "ArrowRight" });
    expect(document.activeElement).toBe(cell(1, 1));
    fireEvent.keyDown(cell(1, 1), { key: "End" });
    expect(document.activeElement).toBe(cell(1, 2));
    fireEvent.keyDown(cell(1, 2), { key: "Home" });
    expect(document.activeElement).toBe(cell(1, 0));
    fireEvent.keyDown(cell(1, 0), { key: "ArrowUp" });
    fireEvent.keyDown(cell(0, 0), { key: "ArrowUp" });
    expect(document.activeElement?.getAttribute("role")).toBe("columnheader");
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "PageDown" });
    expect(document.activeElement).toBe(cell(9, 0));
    // The last row is far outside the rendered window, yet it is rendered and focused.
    fireEvent.keyDown(cell(9, 0), { key: "End", ctrlKey: true });
    expect(document.activeElement).toBe(cell(499, 2));
    expect(cell(499, 2).closest("[role=row]")?.getAttribute("aria-rowindex")).toBe("501");
    expect(tabStops()).toEqual([cell(499, 2)]);
  });

  it("moveActive stops at the edges and PageUp stops at the first row", () => {
    const bounds = { rows: 100, cols: 3, pageRows: 10 };
    expect(moveActive("ArrowLeft", false, { row: 4, col: 0 }, bounds)).toEqual({ row: 4, col: 0 });
    expect(moveActive("ArrowUp", false, { row: -1, col: 1 }, bounds)).toEqual({ row: -1, col: 1 });
    expect(moveActive("PageUp", false, { row: 5, col: 1 }, bounds)).toEqual({ row: 0, col: 1 });
    expect(moveActive("PageDown", false, { row: 95, col: 1 }, bounds)).toEqual({ row: 99, col: 1 });
    expect(moveActive("a", false, { row: 0, col: 0 }, bounds)).toBeNull();
  });
});

describe("DataTable inline edit", () => {
  it("Enter starts editing, Enter commits through the save and the focus returns to the cell", async () => {
    const save = vi.fn(async () => {});
    render(<Table columns={columns(save)} />);
    act(() => cell(0, 0).focus());
    fireEvent.keyDown(cell(0, 0), { key: "Enter" });
    const editor = screen.getByLabelText("Edit Name") as HTMLInputElement;
    expect(editor.value).toBe("Carol");
    expect(document.activeElement).toBe(editor);
    fireEvent.change(editor, { target: { value: "Caroline" } });
    fireEvent.keyDown(editor, { key: "Enter" });
    await waitFor(() => expect(screen.queryByLabelText("Edit Name")).toBeNull());
    expect(save).toHaveBeenCalledWith(PEOPLE[0], "Caroline");
    expect(document.activeElement).toBe(cell(0, 0));
  });

  it("a double-click starts editing and Escape cancels: no save, the value unchanged, the focus back", () => {
    const save = vi.fn();
    render(<Table columns={columns(save)} />);
    fireEvent.doubleClick(cell(1, 0));
    const editor = screen.getByLabelText("Edit Name") as HTMLInputElement;
    fireEvent.change(editor, { target: { value: "Mallory" } });
    fireEvent.keyDown(editor, { key: "Escape" });
    expect(screen.queryByLabelText("Edit Name")).toBeNull();
    expect(save).not.toHaveBeenCalled();
    expect(cell(1, 0).textContent).toBe("alice");
    expect(document.activeElement).toBe(cell(1, 0));
  });

  it("a failed save keeps the editor and its text, and says why", async () => {
    const save = vi.fn(async () => Promise.reject({ code: "invalid", message: "names are short" }));
    render(<Table columns={columns(save)} />);
    fireEvent.doubleClick(cell(0, 0));
    fireEvent.change(screen.getByLabelText("Edit Name"), { target: { value: "A very long name" } });
    fireEvent.keyDown(screen.getByLabelText("Edit Name"), { key: "Enter" });
    expect((await screen.findByRole("alert")).textContent).toBe("Could not save: names are short");
    expect((screen.getByLabelText("Edit Name") as HTMLInputElement).value).toBe("A very long name");
    expect(screen.getByLabelText("Edit Name").getAttribute("aria-invalid")).toBe("true");
  });

  it("a column without edit does not edit", () => {
    render(<Table />);
    act(() => cell(0, 1).focus());
    fireEvent.keyDown(cell(0, 1), { key: "Enter" });
    fireEvent.doubleClick(cell(0, 1));
    expect(screen.queryByTestId("aui-cell-editor")).toBeNull();
  });
});

describe("DataTable drawer", () => {
  it("shows a long value as Markdown; links and images are text", async () => {
    render(<Table />);
    expect(within(cell(0, 2)).queryByRole("button")).toBeNull(); // "short" needs no drawer
    fireEvent.click(within(cell(1, 2)).getByRole("button", { name: "Show all of Bio" }));
    const drawer = screen.getByRole("dialog", { name: "Bio" });
    // The Markdown renderer loads on first use.
    expect(await within(drawer).findByRole("heading", { name: "Alice" })).toBeTruthy();
    expect(drawer.querySelector("strong")?.textContent).toBe("tea");
    expect(drawer.querySelector("a")).toBeNull();
    expect(drawer.textContent).toContain("links (https://example.com)");
    expect(drawer.querySelector("img")).toBeNull();
    expect(drawer.textContent).toContain("[image: a cat]");
    expect(document.activeElement).toBe(within(drawer).getByRole("button", { name: "Close" }));
    fireEvent.keyDown(drawer, { key: "Escape" });
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("raw HTML in a value never becomes an element", async () => {
    render(<Table />);
    act(() => cell(2, 2).focus());
    fireEvent.keyDown(cell(2, 2), { key: "Enter" });
    const drawer = screen.getByTestId("aui-drawer");
    // While the renderer loads the value shows as text, escaped like any text; then as Markdown.
    expect(drawer.querySelector("img, script, [onerror]")).toBeNull();
    await waitFor(() => expect(drawer.querySelector(".aui-markdown-loading")).toBeNull());
    expect(drawer.querySelector("img, script, [onerror]")).toBeNull();
    expect(drawer.textContent).toContain("plain words after the tags");
    expect((window as { __pwned?: boolean }).__pwned).toBeUndefined();
    fireEvent.click(within(drawer).getByRole("button", { name: "Close" }));
    // The focus goes back to the cell the drawer was opened from.
    expect(document.activeElement).toBe(cell(2, 2));
  });
});

describe("DataTable accessibility", () => {
  it("axe finds nothing with selection, sorting, an editor and the drawer open", async () => {
    function Full() {
      const [selected, setSelected] = useState<RowSelection>(NO_ROWS_SELECTED);
      return <Table columns={columns()} selection={{ selected, onChange: setSelected, matching: 40 }} />;
    }
    render(
      <main>
        <Full />
      </main>,
    );
    fireEvent.click(screen.getByLabelText("Select all rows on screen"));
    fireEvent.click(screen.getByRole("button", { name: "Name" }));
    fireEvent.doubleClick(document.querySelector("[data-editable=true]") as HTMLElement);
    fireEvent.click(within(screen.getByRole("grid")).getAllByRole("button", { name: "Show all of Bio" })[0] as HTMLElement);
    expect(screen.getByRole("dialog")).toBeTruthy();
    await waitFor(() => expect(document.querySelector(".aui-markdown-loading")).toBeNull());
    const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`)).toEqual([]);
  });

  it("an empty table shows its empty state outside the grid and passes axe", async () => {
    render(
      <main>
        <Table rows={[]} empty={<p>No people yet</p>} />
      </main>,
    );
    expect(screen.getByText("No people yet").closest("[role=grid]")).toBeNull();
    const results = await axe.run(document.body, { rules: { "color-contrast": { enabled: false } } });
    expect(results.violations.map((v) => v.id)).toEqual([]);
  });
});
