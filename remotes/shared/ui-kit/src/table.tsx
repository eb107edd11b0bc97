// A table whose body only renders the rows in view (@tanstack/react-virtual),
// so 100k records cost what a screenful does. Rows have one fixed height:
// measuring each row would force layout on scroll for little gain here.
import { useRef, type ReactNode } from "react";
import { observeElementRect, useVirtualizer } from "@tanstack/react-virtual";
import { EmptyState } from "./states";

export interface Column<Row> {
  key: string;
  header: string;
  /** A CSS grid track, e.g. "2fr" or "120px"; default "1fr". */
  width?: string;
  render: (row: Row) => ReactNode;
}

export interface DataTableProps<Row> {
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string;
  /** Height of the scrolling body in pixels. */
  height?: number;
  rowHeight?: number;
  /** Shown instead of the body when there are no rows. */
  empty?: ReactNode;
  /** The viewport size before the first layout (tests without layout, first paint). */
  initialRect?: { width: number; height: number };
  label?: string;
}

export function DataTable<Row>({ columns, rows, rowKey, height = 360, rowHeight = 34, empty, initialRect, label }: DataTableProps<Row>) {
  const scroller = useRef<HTMLDivElement>(null);
  const fallbackRect = initialRect ?? { width: 800, height };
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 8,
    initialRect: fallbackRect,
    // An element with no layout yet (hidden, or a DOM without layout) measures
    // 0×0, which would render no row at all: keep the expected size instead.
    observeElementRect: (instance, onRect) =>
      observeElementRect(instance, (rect) => onRect(rect.width === 0 && rect.height === 0 ? fallbackRect : rect)),
    getItemKey: (index) => rowKey(rows[index] as Row),
  });
  const template = columns.map((c) => c.width ?? "1fr").join(" ");
  return (
    <div className="aui-table" role="table" aria-label={label} aria-rowcount={rows.length}>
      <div className="aui-table-head" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((column) => (
          <div key={column.key} className="aui-table-cell" role="columnheader">
            {column.header || <span className="aui-visually-hidden">{column.key}</span>}
          </div>
        ))}
      </div>
      {rows.length === 0 ? (
        (empty ?? <EmptyState title="Nothing to show" />)
      ) : (
        // The body's rows as a group, focusable so they can be scrolled with the keyboard.
        <div ref={scroller} className="aui-table-scroll" role="rowgroup" tabIndex={0} style={{ height: Math.min(height, rows.length * rowHeight + 2) }}>
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index] as Row;
              return (
                <div
                  key={item.key}
                  className="aui-table-row"
                  role="row"
                  aria-rowindex={item.index + 1}
                  data-row-key={rowKey(row)}
                  style={{ gridTemplateColumns: template, height: rowHeight, transform: `translateY(${item.start}px)` }}
                >
                  {columns.map((column) => (
                    <div key={column.key} className="aui-table-cell" role="cell" data-column={column.key}>
                      {column.render(row)}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
      )}
    </div>
  );
}
