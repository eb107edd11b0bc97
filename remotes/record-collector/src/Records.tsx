// One page (100 rows) of the selected dataset's records, with a filter and
// in-place editing of a cell (double-click or Enter in the shared table; a
// long value opens in its drawer). Never more than one page is fetched, so
// a header click sorts in Rust over every matching record (ordering one page
// of many would mislead), and the table only shows the order. Prev and Next
// follow the page's cursors (host API 1.7.0): a page deep in the dataset
// costs what the first does.
import { useCallback, useEffect, useState } from "react";
import {
  call,
  listKey,
  nextPage,
  PAGING_START,
  positionIn,
  previousPage,
  settled,
  type CursorPage,
  type Dataset,
  type FieldFilter,
  type Paging,
  type RecordRow,
} from "@augment-it/host-client";
import { Button, DataTable, EmptyState, ErrorState, type Column, type TableSort } from "@augment-it/ui-kit";
import { cellText, errorText, pageLabel, typedValue } from "./logic";

export const PAGE_SIZE = 100;

export function Records({ dataset }: { dataset: Dataset }) {
  const [paging, setPaging] = useState<Paging>(PAGING_START);
  const [filter, setFilter] = useState<FieldFilter | null>(null);
  // A column of the dataset (the "#" column is file order, the order without a sort).
  const [sort, setSort] = useState<TableSort | null>(null);
  const list = listKey(dataset.id, filter, sort);
  const at = positionIn(paging, list);
  // The page shown, with the list it is of: its cursors lead on only in that list.
  const [shown, setShown] = useState<{ list: string; page: CursorPage }>({ list: "", page: { items: [] } });
  const [draft, setDraft] = useState<FieldFilter>({ column: dataset.columns[0]?.name ?? "", op: "equals", value: "" });
  const [rows, setRows] = useState<RecordRow[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const query = { offset: 0, limit: PAGE_SIZE, filter, sort };
      const page = await call("dataset_records", { datasetId: dataset.id, query, cursor: at.cursor });
      setRows(page.items);
      setTotal(page.total);
      setShown({ list, page });
      setError(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLoading(false);
    }
    // `list` names dataset.id, filter and sort; the cursor is where in it.
  }, [dataset.id, filter, sort, list, at.cursor]);

  useEffect(() => {
    void load();
  }, [load]);

  // A failed save rejects: the table keeps the editor open and shows why.
  async function saveField(row: RecordRow, column: string, text: string) {
    const type = dataset.columns.find((c) => c.name === column)?.type;
    const updated = await call("update_record_field", { recordId: row.id, column, value: typedValue(text, type) });
    setRows((current) => current.map((r) => (r.id === updated.id ? updated : r)));
  }

  const columns: Column<RecordRow>[] = [
    { key: "#", header: "#", width: "60px", render: (row) => row.position + 1 },
    ...dataset.columns.map(
      (c): Column<RecordRow> => ({
        key: c.name,
        header: `${c.name} (${c.type})`,
        minWidth: 96,
        sortable: true,
        render: (row) => cellText(row.fields[c.name]),
        detail: (row) => cellText(row.fields[c.name]),
        edit: {
          text: (row) => cellText(row.fields[c.name]),
          save: (row, text) => saveField(row, c.name, text),
          label: (row) => `Edit ${c.name} of row ${row.position + 1}`,
        },
      }),
    ),
  ];

  function changeFilter(next: FieldFilter | null) {
    setFilter(next);
    setPaging(PAGING_START);
  }

  // A new order makes the current page meaningless: start from the first.
  function changeSort(next: TableSort | null) {
    setSort(next);
    setPaging(PAGING_START);
  }

  // Where the page shown is, and the pages beside it (none while another list loads).
  const where = shown.list === list ? settled(at, shown.page) : at;
  const next = shown.list === list ? nextPage(where, shown.page) : null;
  const previous = shown.list === list ? previousPage(where, shown.page, PAGE_SIZE) : null;

  return (
    <section aria-label="Records">
      <h2>Records of {dataset.name}</h2>
      <div className="aui-toolbar">
        <label className="aui-field">
          <span>Column</span>
          <select data-testid="rc-filter-column" value={draft.column} onChange={(e) => setDraft({ ...draft, column: e.target.value })}>
            {dataset.columns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="aui-field">
          <span>Match</span>
          <select data-testid="rc-filter-op" value={draft.op} onChange={(e) => setDraft({ ...draft, op: e.target.value as FieldFilter["op"] })}>
            <option value="equals">equals</option>
            <option value="contains">contains</option>
          </select>
        </label>
        <label className="aui-field">
          <span>Value</span>
          <input data-testid="rc-filter-value" value={draft.value} onChange={(e) => setDraft({ ...draft, value: e.target.value })} />
        </label>
        <Button data-testid="rc-filter-apply" disabled={loading || draft.column === ""} onClick={() => changeFilter({ ...draft })}>
          Apply
        </Button>
        <Button data-testid="rc-filter-clear" disabled={loading || filter === null} onClick={() => changeFilter(null)}>
          Clear
        </Button>
      </div>
      {error && <ErrorState title="Could not load or change the records" detail={error} onRetry={() => void load()} />}
      <div data-testid="rc-records">
        <DataTable
          label="Records"
          columns={columns}
          rows={rows}
          rowKey={(row) => String(row.id)}
          height={400}
          sort={{ by: sort, onChange: changeSort }}
          empty={<EmptyState title={loading ? "Loading records…" : filter ? "No record matches the filter" : "This dataset has no records"} />}
        />
      </div>
      <div className="aui-toolbar">
        <Button data-testid="rc-prev" disabled={loading || previous === null} onClick={() => previous && setPaging({ list, at: previous })}>
          Prev
        </Button>
        <span data-testid="rc-page">{pageLabel(where.first, rows.length, total)}</span>
        <Button data-testid="rc-next" disabled={loading || next === null} onClick={() => next && setPaging({ list, at: next })}>
          Next
        </Button>
      </div>
    </section>
  );
}
