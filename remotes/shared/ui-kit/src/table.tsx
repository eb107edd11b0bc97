// The one data grid every remote uses (issue 16, point 3): TanStack Table
// (v8) holds the columns and their state (sorting, sizing), and
// @tanstack/react-virtual puts only the rows in view in the DOM, so 100k
// records cost what a screenful does. TanStack's row model is not used:
// it builds an object with a dozen closures per row, which took 8 s of
// mostly garbage collection for 100k rows here; the display order is an
// array sorted by the column's value instead (`orderRows`).
//
// - Sort: a header click or Enter on a header cycles ascending, descending,
//   none. Without `sort` the table sorts the rows it holds; with `sort` the
//   caller sorts (in Rust) and the table only shows and reports the order.
// - Resize: drag a header's right edge (double-click it: back to the
//   default), or Alt+Left/Right on a focused header. Columns wider than the
//   view scroll horizontally; the header row is sticky inside the same
//   scroller so it always lines up with the body.
// - Keyboard: the ARIA grid pattern with a roving tabindex (one tab stop);
//   arrows, Home/End (Ctrl: first/last cell), PageUp/PageDown move the
//   active cell and scroll the virtualiser to it; the active row is always
//   rendered, so the tab stop never disappears while scrolling.
// - Edit: Enter, F2 or a double-click on an editable cell; Enter commits
//   (a failed save keeps the editor open with its text), Escape cancels and
//   the focus goes back to the cell.
// - Long values: `detail` opens a drawer that renders them as Markdown
//   (table-drawer.tsx says why that is safe).
// - Selection: a checkbox column; the header one selects the rows on
//   screen, then "Select all N matching" selects the whole query.
//
// Rows have one fixed height: measuring each row would force layout on
// scroll for little gain. Styles are classes of styles.css; the only inline
// styles are sizes and positions set through the CSSOM (allowed by the CSP).
import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent as ReactPointerEvent, type ReactNode } from "react";
import { getCoreRowModel, useReactTable, type ColumnDef, type ColumnSizingState, type SortingState } from "@tanstack/react-table";
import { defaultRangeExtractor, observeElementRect, useVirtualizer } from "@tanstack/react-virtual";
import { EmptyState } from "./states";
import { clampPosition, moveActive, type GridPosition } from "./table-keys";
import { CellEditor } from "./table-editor";
import { Drawer, SafeMarkdown } from "./table-drawer";
import { isRowSelected, SelectionOffer, toggleRow, toggleShown, type TableSelection } from "./table-selection";

export interface CellEdit<Row> {
  /** The text the editor starts with. */
  text: (row: Row) => string;
  /** Saves the new text; a rejected promise keeps the editor open and shows the error. */
  save: (row: Row, text: string) => Promise<unknown> | void;
  /** A textarea opening over the rows below (Shift+Enter for a new line) instead of a one-line input. */
  multiline?: boolean;
  /** The editor's accessible name; default "Edit <header>". */
  label?: (row: Row) => string;
  /** Whether this row's cell can be edited; default every row. */
  enabled?: (row: Row) => boolean;
}

export interface Column<Row> {
  key: string;
  header: string;
  /** Starting width: "120px" is fixed until resized; a grid track such as "2fr" shares the free width. Default "1fr". */
  width?: string;
  /** The narrowest the column gets, in pixels (before horizontal scrolling starts). Default 64. */
  minWidth?: number;
  render: (row: Row) => ReactNode;
  /** Makes the column sortable by this value (the table sorts the rows it holds). */
  sortValue?: (row: Row) => string | number | null | undefined;
  /** Sortable by the caller (with the table's `sort` prop) without a client-side value. */
  sortable?: boolean;
  edit?: CellEdit<Row>;
  /** The whole value, as Markdown, for the drawer (long prompts and answers). */
  detail?: (row: Row) => string | null | undefined;
}

export interface TableSort {
  column: string;
  descending: boolean;
}

export interface DataTableProps<Row> {
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string;
  /** Height of the scrolling body in pixels. */
  height?: number;
  rowHeight?: number;
  /** Shown below the header when there are no rows. */
  empty?: ReactNode;
  /** The viewport size before the first layout (tests without layout, first paint). */
  initialRect?: { width: number; height: number };
  label?: string;
  /** Sorting done by the caller (the rows are one page of a query sorted in Rust). */
  sort?: { by: TableSort | null; onChange: (next: TableSort | null) => void };
  selection?: TableSelection;
}

const SELECT_KEY = "select";
const DEFAULT_MIN_WIDTH = 64;
const RESIZE_STEP = 16;
/** A value this long (or on several lines) gets a "show all" button in its cell. */
const LONG_VALUE = 40;

/** How a column's declared width becomes a grid track, and its floor in pixels. */
function trackOf<Row>(column: Column<Row>): { track: string; fixed: number | null; min: number } {
  const width = column.width ?? "1fr";
  const px = /^(\d+(?:\.\d+)?)px$/.exec(width);
  if (px) {
    const fixed = Number(px[1]);
    return { track: width, fixed, min: Math.min(fixed, column.minWidth ?? fixed) };
  }
  const declaredMin = /^minmax\((\d+(?:\.\d+)?)px/.exec(width);
  if (declaredMin) return { track: width, fixed: null, min: Number(declaredMin[1]) };
  const min = column.minWidth ?? DEFAULT_MIN_WIDTH;
  return { track: /fr$/.test(width) ? `minmax(${min}px, ${width})` : width, fixed: null, min };
}

type SortValue = string | number | null | undefined;

/**
 * The person's locale for ordering text, except a C/POSIX one (a bare X
 * session, a service account): its collation is code-point order, which puts
 * "Bob" before "alice". English's order stands in for it.
 */
function collationLocale(): string {
  const locale = new Intl.Collator().resolvedOptions().locale;
  return /posix|^c$|^c-|^und/i.test(locale) ? "en" : locale;
}

const textOrder = new Intl.Collator(collationLocale(), { numeric: true, sensitivity: "base" });

/** Numbers by value, text in natural order ("row 2" before "row 10"), case and accents aside. */
function compareSortValues(x: NonNullable<SortValue>, y: NonNullable<SortValue>): number {
  if (typeof x === "number" && typeof y === "number") return x - y;
  return textOrder.compare(String(x), String(y));
}

interface ShownRow<Row> {
  id: string;
  original: Row;
}

/** The rows in display order: as given, or stably sorted by a value, missing values last either way. */
function orderRows<Row>(rows: Row[], rowKey: (row: Row) => string, sortValue: ((row: Row) => SortValue) | undefined, descending: boolean): ShownRow<Row>[] {
  const keyed = rows.map((row) => ({ id: rowKey(row), original: row, value: sortValue?.(row) }));
  if (!sortValue) return keyed;
  const direction = descending ? -1 : 1;
  return keyed.sort((a, b) => {
    if (a.value == null || b.value == null) return a.value == null ? (b.value == null ? 0 : 1) : -1;
    return direction * compareSortValues(a.value, b.value);
  });
}

// The table holds no data: rows are ordered by `orderRows`, TanStack keeps the column state.
const NO_DATA: never[] = [];
const coreRowModel = getCoreRowModel();

function errorMessage(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

function isTextField(target: EventTarget): boolean {
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || (target instanceof HTMLInputElement && target.type !== "checkbox");
}

type Editing = { rowId: string; col: number; saving: boolean; error: string | null };

export function DataTable<Row>({ columns, rows, rowKey, height = 360, rowHeight = 34, empty, initialRect, label, sort, selection }: DataTableProps<Row>) {
  const scroller = useRef<HTMLDivElement>(null);
  const grid = useRef<HTMLDivElement>(null);
  const [ownSorting, setOwnSorting] = useState<SortingState>([]);
  const [columnSizing, setColumnSizing] = useState<ColumnSizingState>({});
  const [active, setActive] = useState<GridPosition>({ row: 0, col: 0 });
  const [editing, setEditing] = useState<Editing | null>(null);
  const [drawer, setDrawer] = useState<{ title: string; text: string } | null>(null);
  // Set by a keyboard move, an edit's end or a drawer's close: the active cell takes the focus after the render.
  const focusAfterRender = useRef(false);

  const selectColumn: Column<Row> = { key: SELECT_KEY, header: "Selected", width: "36px", render: () => null };
  const gridColumns = selection ? [selectColumn, ...columns] : columns;
  const tracks = gridColumns.map(trackOf);

  const sorting: SortingState = sort ? (sort.by ? [{ id: sort.by.column, desc: sort.by.descending }] : []) : ownSorting;
  const definitions: ColumnDef<Row>[] = gridColumns.map((column, index) => ({
    id: column.key,
    // TanStack only sorts a column with an accessor; the values are read by `orderRows`.
    ...(column.sortValue || column.sortable ? { accessorFn: () => null } : {}),
    enableSorting: Boolean(column.sortValue || column.sortable),
    enableResizing: column.key !== SELECT_KEY,
    size: tracks[index]?.fixed ?? undefined,
    minSize: tracks[index]?.min,
  }));
  const table = useReactTable({
    data: NO_DATA as Row[],
    columns: definitions,
    state: { sorting, columnSizing },
    onSortingChange: (updater) => {
      const next = typeof updater === "function" ? updater(sorting) : updater;
      if (!sort) return setOwnSorting(next);
      const first = next[0];
      sort.onChange(first ? { column: first.id, descending: first.desc } : null);
    },
    onColumnSizingChange: setColumnSizing,
    getCoreRowModel: coreRowModel,
    manualSorting: true,
    sortDescFirst: false,
    enableMultiSort: false,
    columnResizeMode: "onChange",
  });
  // The columns and key of this render, for the memo below (callers rebuild them at every render).
  const latest = useRef({ gridColumns, rowKey });
  latest.current = { gridColumns, rowKey };
  const sortedBy = sort ? null : (ownSorting[0] ?? null);
  const shown = useMemo(() => {
    const column = sortedBy && latest.current.gridColumns.find((c) => c.key === sortedBy.id);
    return orderRows(rows, latest.current.rowKey, column?.sortValue, sortedBy?.desc ?? false);
  }, [rows, sortedBy]);
  const shownKeys = useMemo(() => shown.map((row) => row.id), [shown]);
  const at = clampPosition(active, { rows: shown.length, cols: gridColumns.length });
  const editingIndex = editing ? shown.findIndex((row) => row.id === editing.rowId) : -1;

  const fallbackRect = initialRect ?? { width: 800, height };
  const virtualizer = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 8,
    initialRect: fallbackRect,
    // An element with no layout yet (hidden, or a DOM without layout) measures
    // 0×0, which would render no row at all: keep the expected size instead.
    observeElementRect: (instance, onRect) =>
      observeElementRect(instance, (rect) => onRect(rect.width === 0 && rect.height === 0 ? fallbackRect : rect)),
    getItemKey: (index) => shown[index]?.id ?? index,
    // The sticky header row sits above the first body row, in the same scroller.
    scrollMargin: rowHeight,
    scrollPaddingStart: rowHeight,
    // The active row (the grid's one tab stop) and the row being edited stay rendered when scrolled away.
    rangeExtractor: (range) => {
      const indexes = new Set(defaultRangeExtractor(range));
      for (const keep of [at.row, editingIndex]) if (keep >= 0 && keep < shown.length) indexes.add(keep);
      return [...indexes].sort((a, b) => a - b);
    },
  });

  useLayoutEffect(() => {
    if (!focusAfterRender.current) return;
    focusAfterRender.current = false;
    grid.current?.querySelector<HTMLElement>(`[data-cell="${at.row}:${at.col}"]`)?.focus();
  });

  const widthOf = (key: string) => table.getColumn(key)?.getSize() ?? 150;
  const template = gridColumns
    .map((column, index) => (column.key in columnSizing ? `${widthOf(column.key)}px` : (tracks[index]?.track ?? "1fr")))
    .join(" ");
  const minWidth = gridColumns.reduce((sum, column, index) => sum + (column.key in columnSizing ? widthOf(column.key) : (tracks[index]?.fixed ?? tracks[index]?.min ?? 0)), 0);
  const setWidth = (key: string, width: number) => table.setColumnSizing((sizes) => ({ ...sizes, [key]: Math.round(width) }));

  function startResize(event: ReactPointerEvent<HTMLElement>, key: string) {
    event.preventDefault();
    event.stopPropagation();
    const startX = event.clientX;
    // The width on screen (an "fr" column has no size of its own yet); without layout, the column's size.
    const startWidth = event.currentTarget.parentElement?.getBoundingClientRect().width || widthOf(key);
    const onMove = (move: PointerEvent) => setWidth(key, startWidth + move.clientX - startX);
    const onUp = () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  }

  function resetWidth(key: string) {
    table.setColumnSizing((sizes) => Object.fromEntries(Object.entries(sizes).filter(([k]) => k !== key)));
  }

  function goTo(next: GridPosition) {
    if (next.row >= 0) virtualizer.scrollToIndex(next.row);
    focusAfterRender.current = true;
    setActive(next);
  }

  function toggleSelected(rowId: string) {
    if (selection) selection.onChange(toggleRow(selection.selected, rowId, shownKeys));
  }

  function startEdit(position: GridPosition): boolean {
    const column = gridColumns[position.col];
    const row = shown[position.row];
    if (!column?.edit || !row || (column.edit.enabled && !column.edit.enabled(row.original))) return false;
    setActive(position);
    setEditing({ rowId: row.id, col: position.col, saving: false, error: null });
    return true;
  }

  function stopEdit() {
    setEditing(null);
    focusAfterRender.current = true;
  }

  async function commitEdit(text: string) {
    if (!editing) return;
    const column = gridColumns[editing.col];
    const row = shown.find((r) => r.id === editing.rowId);
    if (!column?.edit || !row) return stopEdit();
    if (text === column.edit.text(row.original)) return stopEdit();
    setEditing({ ...editing, saving: true, error: null });
    try {
      await column.edit.save(row.original, text);
      stopEdit();
    } catch (err) {
      setEditing({ ...editing, saving: false, error: errorMessage(err) });
    }
  }

  function openDetail(position: GridPosition): boolean {
    const column = gridColumns[position.col];
    const row = shown[position.row];
    const text = row && column?.detail?.(row.original);
    if (!column || text == null) return false;
    setActive(position);
    setDrawer({ title: column.header, text });
    return true;
  }

  function onHeaderKeyDown(event: KeyboardEvent, col: number) {
    const column = gridColumns[col];
    if (!column) return;
    if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight") && column.key !== SELECT_KEY) {
      event.preventDefault();
      setWidth(column.key, widthOf(column.key) + (event.key === "ArrowRight" ? RESIZE_STEP : -RESIZE_STEP));
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (column.key === SELECT_KEY && selection) selection.onChange(toggleShown(selection.selected, shownKeys));
      else table.getColumn(column.key)?.toggleSorting();
    }
  }

  function onCellKeyDown(event: KeyboardEvent<HTMLElement>, position: GridPosition) {
    const fromInside = event.target !== event.currentTarget;
    if (fromInside && isTextField(event.target)) return;
    const next = event.altKey ? null : moveActive(event.key, event.ctrlKey || event.metaKey, position, { rows: shown.length, cols: gridColumns.length, pageRows: Math.max(1, Math.floor(height / rowHeight) - 1) });
    if (next) {
      event.preventDefault();
      return goTo(next);
    }
    // Enter or Space on a button or checkbox inside the cell are that control's.
    if (fromInside) return;
    if (position.row < 0) return onHeaderKeyDown(event, position.col);
    const row = shown[position.row];
    if (event.key === " " && selection && row) {
      event.preventDefault();
      toggleSelected(row.id);
    } else if (event.key === "Enter" || event.key === "F2") {
      if (startEdit(position) || (event.key === "Enter" && openDetail(position))) event.preventDefault();
    }
  }

  function onCellFocus(position: GridPosition) {
    if (position.row !== active.row || position.col !== active.col) setActive(position);
  }

  function headerCell(column: Column<Row>, col: number) {
    const tableColumn = table.getColumn(column.key);
    const sorted = tableColumn?.getIsSorted() ?? false;
    const sortable = tableColumn?.getCanSort() ?? false;
    const isActive = at.row === -1 && at.col === col;
    const allShown = selection !== undefined && shownKeys.length > 0 && shownKeys.every((key) => isRowSelected(selection.selected, key));
    return (
      <div
        key={column.key}
        className="aui-table-cell"
        role="columnheader"
        aria-colindex={col + 1}
        aria-sort={sortable ? (sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none") : undefined}
        data-column={column.key}
        data-cell={`-1:${col}`}
        tabIndex={isActive ? 0 : -1}
        onKeyDown={(event) => onCellKeyDown(event, { row: -1, col })}
        onFocus={() => onCellFocus({ row: -1, col })}
      >
        {column.key === SELECT_KEY && selection ? (
          <input
            type="checkbox"
            tabIndex={-1}
            aria-label="Select all rows on screen"
            data-testid="aui-select-shown"
            checked={allShown}
            onChange={() => selection.onChange(toggleShown(selection.selected, shownKeys))}
          />
        ) : sortable ? (
          <button type="button" tabIndex={-1} className="aui-table-sort" data-sort={sorted || undefined} onClick={() => tableColumn?.toggleSorting()}>
            {column.header}
          </button>
        ) : (
          column.header || <span className="aui-visually-hidden">{column.key}</span>
        )}
        {tableColumn?.getCanResize() && (
          <div
            className="aui-table-resize"
            aria-hidden="true"
            data-testid={`aui-resize-${column.key}`}
            onPointerDown={(event) => startResize(event, column.key)}
            onDoubleClick={() => resetWidth(column.key)}
          />
        )}
      </div>
    );
  }

  function bodyCell(row: ShownRow<Row>, r: number, column: Column<Row>, col: number) {
    const isActive = at.row === r && at.col === col;
    const isEditing = editing !== null && editing.rowId === row.id && editing.col === col;
    const edit = column.edit && (!column.edit.enabled || column.edit.enabled(row.original)) ? column.edit : null;
    let content: ReactNode;
    if (column.key === SELECT_KEY && selection) {
      content = (
        <input
          type="checkbox"
          tabIndex={-1}
          aria-label={`Select ${selection.rowLabel?.(row.id) ?? `row ${row.id}`}`}
          checked={isRowSelected(selection.selected, row.id)}
          onChange={() => toggleSelected(row.id)}
        />
      );
    } else if (isEditing && edit && editing) {
      content = (
        <CellEditor
          initial={edit.text(row.original)}
          label={edit.label?.(row.original) ?? `Edit ${column.header}`}
          multiline={edit.multiline ?? false}
          saving={editing.saving}
          error={editing.error}
          onCommit={(text) => void commitEdit(text)}
          onCancel={stopEdit}
        />
      );
    } else {
      const detail = column.detail?.(row.original);
      content = (
        <>
          <span className="aui-table-value">{column.render(row.original)}</span>
          {detail != null && (detail.length > LONG_VALUE || detail.includes("\n")) && (
            <button
              type="button"
              tabIndex={-1}
              className="aui-table-more"
              aria-label={`Show all of ${column.header}`}
              onClick={() => openDetail({ row: r, col })}
            />
          )}
        </>
      );
    }
    return (
      <div
        key={column.key}
        className="aui-table-cell"
        role="gridcell"
        aria-colindex={col + 1}
        data-column={column.key}
        data-cell={`${r}:${col}`}
        data-editable={edit ? "true" : undefined}
        data-editing={isEditing ? "true" : undefined}
        tabIndex={isActive ? 0 : -1}
        onKeyDown={(event) => onCellKeyDown(event, { row: r, col })}
        onFocus={() => onCellFocus({ row: r, col })}
        onDoubleClick={() => startEdit({ row: r, col }) || openDetail({ row: r, col })}
      >
        {content}
      </div>
    );
  }

  const rowStyle = { gridTemplateColumns: template, height: rowHeight };
  return (
    <div className="aui-table-frame">
      {selection && <SelectionOffer selection={selection} shownKeys={shownKeys} />}
      <div
        ref={grid}
        className="aui-table"
        role="grid"
        aria-label={label}
        aria-rowcount={shown.length + 1}
        aria-colcount={gridColumns.length}
        aria-multiselectable={selection ? true : undefined}
      >
        <div ref={scroller} className="aui-table-scroll" style={{ height: Math.min(height, (shown.length + 1) * rowHeight + 2) }}>
          <div className="aui-table-inner" style={{ minWidth }}>
            <div className="aui-table-head" role="rowgroup">
              <div className="aui-table-head-row" role="row" aria-rowindex={1} style={rowStyle}>
                {gridColumns.map(headerCell)}
              </div>
            </div>
            {shown.length > 0 && (
              <div className="aui-table-body" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
                {virtualizer.getVirtualItems().map((item) => {
                  const row = shown[item.index];
                  if (!row) return null;
                  return (
                    <div
                      key={item.key}
                      className="aui-table-row"
                      role="row"
                      aria-rowindex={item.index + 2}
                      aria-selected={selection ? isRowSelected(selection.selected, row.id) : undefined}
                      data-row-key={row.id}
                      data-even={item.index % 2 === 1 ? "true" : undefined}
                      style={{ ...rowStyle, transform: `translateY(${item.start - rowHeight}px)` }}
                    >
                      {gridColumns.map((column, col) => bodyCell(row, item.index, column, col))}
                    </div>
                  );
                })}
              </div>
            )}
          </div>
        </div>
      </div>
      {shown.length === 0 && (empty ?? <EmptyState title="Nothing to show" />)}
      {editing?.error && (
        <p className="aui-field-error" role="alert" data-testid="aui-edit-error">
          Could not save: {editing.error}
        </p>
      )}
      {drawer && (
        <Drawer title={drawer.title} onClose={() => setDrawer(null)}>
          <SafeMarkdown text={drawer.text} />
        </Drawer>
      )}
    </div>
  );
}
