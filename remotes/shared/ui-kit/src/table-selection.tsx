// Which rows of a table are selected: some rows by key, or every row the
// table's query matches, loaded or not ("Select all N matching"). A bulk
// action given `{ kind: "matching" }` must act on the query in Rust, never
// on the rows the page happens to hold.
import { Button } from "./layout";

export type RowSelection = { kind: "rows"; keys: ReadonlySet<string> } | { kind: "matching" };

export const NO_ROWS_SELECTED: RowSelection = { kind: "rows", keys: new Set() };

export interface TableSelection {
  selected: RowSelection;
  onChange: (next: RowSelection) => void;
  /** How many rows the query matches in all, when the table holds one page of them. */
  matching?: number;
  /** Names a row for its checkbox ("request 12" gives "Select request 12"). */
  rowLabel?: (rowKey: string) => string;
}

export function isRowSelected(selection: RowSelection, key: string): boolean {
  return selection.kind === "matching" || selection.keys.has(key);
}

/** How many rows a selection stands for (every matching row, or the keys). */
export function selectedCount(selection: RowSelection, matching: number): number {
  return selection.kind === "matching" ? matching : selection.keys.size;
}

export function toggleRow(selection: RowSelection, key: string, shownKeys: readonly string[]): RowSelection {
  // Unticking one row of "all matching" leaves the rows on screen but that one:
  // the rows not loaded cannot be listed without loading them.
  const keys = new Set(selection.kind === "matching" ? shownKeys : selection.keys);
  if (selection.kind === "rows" && keys.has(key)) keys.delete(key);
  else if (selection.kind === "matching") keys.delete(key);
  else keys.add(key);
  return { kind: "rows", keys };
}

/** The header checkbox: every row on screen, or none. */
export function toggleShown(selection: RowSelection, shownKeys: readonly string[]): RowSelection {
  const allShown = shownKeys.length > 0 && shownKeys.every((key) => isRowSelected(selection, key));
  return allShown ? NO_ROWS_SELECTED : { kind: "rows", keys: new Set(shownKeys) };
}

/** The line above the table offering to widen a full-page selection to the whole query, or to clear it. */
export function SelectionOffer({ selection, shownKeys }: { selection: TableSelection; shownKeys: readonly string[] }) {
  const { selected, matching, onChange } = selection;
  if (matching === undefined || matching <= shownKeys.length) return null;
  if (selected.kind === "matching") {
    return (
      <div className="aui-table-offer" data-testid="aui-table-offer">
        <span>All {matching.toLocaleString()} matching rows are selected.</span>
        <Button onClick={() => onChange(NO_ROWS_SELECTED)}>Clear selection</Button>
      </div>
    );
  }
  const allShown = shownKeys.length > 0 && shownKeys.every((key) => selected.keys.has(key));
  if (!allShown) return null;
  return (
    <div className="aui-table-offer" data-testid="aui-table-offer">
      <span>All {shownKeys.length.toLocaleString()} rows on screen are selected.</span>
      <Button data-testid="aui-select-all-matching" onClick={() => onChange({ kind: "matching" })}>
        Select all {matching.toLocaleString()} matching
      </Button>
    </div>
  );
}
