// Where the active cell of a data grid goes for a key (the WAI-ARIA grid
// pattern). Pure, so the rules are tested without a DOM; the table applies
// the result, scrolls the virtualiser to it and moves the focus.

/** A cell of the grid; `row` -1 is the header row, 0… the body rows. */
export interface GridPosition {
  row: number;
  col: number;
}

export interface GridBounds {
  /** Body rows (the header row comes on top of them). */
  rows: number;
  cols: number;
  /** How many body rows a page of the viewport holds (PageUp / PageDown). */
  pageRows: number;
}

/** The position a navigation key leads to, or null when the key is not one. */
export function moveActive(key: string, ctrl: boolean, at: GridPosition, bounds: GridBounds): GridPosition | null {
  const lastRow = bounds.rows - 1;
  const lastCol = bounds.cols - 1;
  const to = (row: number, col: number): GridPosition => ({
    row: Math.max(-1, Math.min(lastRow, row)),
    col: Math.max(0, Math.min(lastCol, col)),
  });
  switch (key) {
    case "ArrowUp":
      return to(at.row - 1, at.col);
    case "ArrowDown":
      return to(at.row + 1, at.col);
    case "ArrowLeft":
      return to(at.row, at.col - 1);
    case "ArrowRight":
      return to(at.row, at.col + 1);
    case "Home":
      return ctrl ? to(bounds.rows > 0 ? 0 : -1, 0) : to(at.row, 0);
    case "End":
      return ctrl ? to(lastRow, lastCol) : to(at.row, lastCol);
    case "PageUp":
      // From the header there is nothing above; from a body row stop at the first row, not the header.
      return at.row < 0 ? null : to(Math.max(0, at.row - bounds.pageRows), at.col);
    case "PageDown":
      return to(Math.max(0, at.row) + bounds.pageRows, at.col);
    default:
      return null;
  }
}

/** Keeps a position inside the grid after its rows or columns changed (a new page, a filter). */
export function clampPosition(at: GridPosition, bounds: Pick<GridBounds, "rows" | "cols">): GridPosition {
  return {
    row: Math.max(-1, Math.min(bounds.rows - 1, at.row)),
    col: Math.max(0, Math.min(bounds.cols - 1, at.col)),
  };
}
