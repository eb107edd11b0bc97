// One page of the rendered requests with per-row and bulk review actions.
// A request's text is edited in place (double-click or Enter on it in the
// shared table) and read whole in the table's drawer. Selecting "all N
// matching" acts on every request of the status filter, loaded or not.
// The table holds one page of many, so a header click sorts in Rust over
// every matching request, and the table only shows the order. The page
// buttons follow the page's cursors (host API 1.7.0), so a deep page costs
// what the first does.
import { useEffect, useMemo, useState } from "react";
import {
  call,
  everyItem,
  listKey,
  nextPage,
  PAGING_START,
  positionIn,
  previousPage,
  settled,
  type PageOf,
  type Paging,
  type RequestQuery,
  type RequestRow,
  type RequestSort,
  type RequestSortColumn,
  type RequestStatus,
} from "@augment-it/host-client";
import { shellBus } from "@augment-it/messaging";
import {
  Badge,
  Button,
  DataTable,
  EmptyState,
  ErrorState,
  NO_ROWS_SELECTED,
  SelectField,
  Toolbar,
  selectedCount,
  toast,
  type BadgeTone,
  type Column,
  type RowSelection,
  type TableSort,
} from "@augment-it/ui-kit";
import { describeError, PAGE_SIZE } from "./logic";
import { useBusy } from "./useBusy";

const TONE: Record<RequestStatus, BadgeTone> = { pending: "neutral", approved: "success", rejected: "danger" };
const STATUS_FILTERS = ["all", "pending", "approved", "rejected"].map((value) => ({ value, label: value }));
/** What Rust sorts each sortable column of the table by, by column key. */
const SORT_BY: Partial<Record<string, RequestSortColumn>> = { record: "record", model: "model", text: "text", status: "status", answered: "answered" };

function requestSort(by: TableSort | null): RequestSort | null {
  const column = by && SORT_BY[by.column];
  return by && column ? { column, descending: by.descending } : null;
}

/** The most rows one `list_requests` call returns (local-data's `MAX_PAGE`). */
const MAX_PAGE = 1000;

/** The ids of every request `query` matches, a page of MAX_PAGE at a time by cursor. */
async function matchingIds(query: RequestQuery): Promise<number[]> {
  const rows = await everyItem((cursor) => call("list_requests", { query: { ...query, offset: 0, limit: MAX_PAGE }, cursor }));
  return rows.map((r) => r.id);
}

export interface RequestsProps {
  datasetId: number;
  templateVersionId: number;
  version: number;
  /** Called after any change to the requests (the estimate reloads). */
  onChanged: () => void;
}

export function Requests({ datasetId, templateVersionId, version, onChanged }: RequestsProps) {
  const [status, setStatus] = useState<"all" | RequestStatus>("all");
  const [paging, setPaging] = useState<Paging>(PAGING_START);
  const [sort, setSort] = useState<TableSort | null>(null);
  // null until the first page arrives: "no requests" is only said once the shell said so.
  // `list` is the list it is a page of: its cursors lead on only in that list.
  const [page, setPage] = useState<(PageOf<RequestRow> & { list: string }) | null>(null);
  // Listing the page failed (Retry asks again); `error` is for the review actions.
  const [loadError, setLoadError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<RowSelection>(NO_ROWS_SELECTED);
  const { busy, run } = useBusy();
  // What the status filter matches, whatever the page.
  const matching = useMemo(
    () => ({ dataset_id: datasetId, template_version_id: templateVersionId, status: status === "all" ? null : status, offset: 0, limit: PAGE_SIZE }),
    [datasetId, templateVersionId, status],
  );

  const list = listKey(matching, requestSort(sort));
  const at = positionIn(paging, list);

  useEffect(() => {
    let live = true;
    const query = { ...matching, sort: requestSort(sort) };
    call("list_requests", { query, cursor: at.cursor })
      .then((result) => live && (setPage({ ...result, list }), setLoadError(null)))
      .catch((err: unknown) => live && setLoadError(describeError(err)));
    return () => {
      live = false;
    };
    // `list` names `matching` and `sort`; the cursor is where in it.
  }, [matching, sort, list, at.cursor, version, reloads]);

  const change = (name: string, action: () => Promise<string | void>) =>
    run(name, async () => {
      try {
        const message = await action();
        if (message) toast(message, "success");
        onChanged();
      } catch (err) {
        setError(describeError(err));
      }
    });

  const setRows = (ids: number[], to: RequestStatus) =>
    change(`set-${to}-${ids.join(",")}`, async () => {
      const n = await call("set_request_status", { requestIds: ids, status: to });
      return ids.length > 1 ? `${n} requests ${to}` : undefined;
    });

  // The selected requests: by id, or every one the filter matches (listed from Rust, not from this page).
  const setSelectedRows = (to: RequestStatus) =>
    change(`selected-${to}`, async () => {
      const ids = selected.kind === "matching" ? await matchingIds(matching) : [...selected.keys].map(Number);
      const n = await call("set_request_status", { requestIds: ids, status: to });
      setSelected(NO_ROWS_SELECTED);
      return `${n} requests ${to}`;
    });

  // A bulk review can be undone from its toast: exactly the requests it
  // changed go back to pending, unless reviewed or edited since (Rust checks).
  const setAllPending = (to: RequestStatus) =>
    change(`all-${to}`, async () => {
      const n = await call("set_all_request_status", { datasetId, templateVersionId, from: "pending", to });
      if (to === "approved") shellBus().emit("requests.approved", { datasetId, templateVersionId, approved: n });
      const bulk = n > 0 ? await call("last_bulk_status_change") : null;
      if (!bulk) return `${n} requests ${to}`;
      toast(`${n} requests ${to}`, "success", { action: { label: "Undo", run: () => void undoBulk(bulk.id) } });
    });

  const undoBulk = (id: number) =>
    change("undo", async () => {
      const n = await call("undo_bulk_status_change", { id });
      return `Undone: ${n} requests are pending again`;
    });

  // Rejects on failure, so the table keeps its editor open and says why.
  const saveText = async (id: number, text: string) => {
    await call("edit_request", { requestId: id, text });
    toast("Edit saved", "success");
    onChanged();
  };

  const columns: Column<RequestRow>[] = [
    {
      key: "record",
      header: "Record",
      width: "76px",
      sortable: true,
      render: (r) => (
        <span data-request-id={r.id} data-status={r.status}>
          #{r.record_id}
        </span>
      ),
    },
    {
      key: "model",
      header: "Model",
      width: "minmax(140px, 1fr)",
      sortable: true,
      // A later repeat of the same prompt (a run with Repeats; host API 1.7.0) says which one it is.
      render: (r) => `${r.provider}/${r.model}${(r.sample ?? 0) > 0 ? ` · repeat ${(r.sample ?? 0) + 1}` : ""}`,
    },
    {
      key: "text",
      header: "Request",
      width: "minmax(160px, 3fr)",
      sortable: true,
      render: (r) => (
        <span title={r.edited ?? r.rendered}>
          {r.edited !== null && <Badge tone="warning">edited</Badge>} {r.edited ?? r.rendered}
        </span>
      ),
      detail: (r) => r.edited ?? r.rendered,
      edit: { text: (r) => r.edited ?? r.rendered, save: (r, text) => saveText(r.id, text), multiline: true, label: (r) => `Edit request ${r.id}` },
    },
    { key: "status", header: "Status", width: "104px", sortable: true, render: (r) => <Badge tone={TONE[r.status]}>{r.status}</Badge> },
    { key: "answered", header: "Answered", width: "88px", sortable: true, render: (r) => (r.answered ? "yes" : "no") },
    {
      key: "actions",
      header: "Actions",
      width: "250px",
      render: (r) => (
        <span>
          <Button disabled={busy(`set-approved-${r.id}`) || r.status === "approved"} onClick={() => void setRows([r.id], "approved")}>
            Approve
          </Button>
          <Button disabled={busy(`set-rejected-${r.id}`) || r.status === "rejected"} onClick={() => void setRows([r.id], "rejected")}>
            Reject
          </Button>
          {r.edited !== null && (
            <Button
              aria-label={`Revert the edit of request ${r.id}`}
              disabled={busy(`revert-${r.id}`)}
              onClick={() =>
                void change(`revert-${r.id}`, async () => {
                  await call("edit_request", { requestId: r.id, text: null });
                  return "Edit reverted";
                })
              }
            >
              Revert
            </Button>
          )}
        </span>
      ),
    },
  ];

  const total = page?.total ?? 0;
  const count = selectedCount(selected, total);
  // Where the page shown is, and the pages beside it (none while another list loads).
  const current = page?.list === list ? page : null;
  const where = current ? settled(at, current) : at;
  const next = current && nextPage(where, current);
  const previous = current && previousPage(where, current, PAGE_SIZE);
  const last = Math.min(where.first + (page?.items.length ?? 0), total);
  return (
    <div className="rr-requests">
      <Toolbar>
        <SelectField
          label="Status"
          value={status}
          options={STATUS_FILTERS}
          onChange={(value) => (setStatus(value as "all" | RequestStatus), setPaging(PAGING_START), setSelected(NO_ROWS_SELECTED))}
        />
        <Button variant="primary" data-testid="rr-approve-all" disabled={busy("all-approved")} onClick={() => void setAllPending("approved")}>
          Approve all pending
        </Button>
        <Button disabled={busy("all-rejected")} onClick={() => void setAllPending("rejected")}>
          Reject all pending
        </Button>
        <Button data-testid="rr-approve-selected" disabled={count === 0 || busy("selected-approved")} onClick={() => void setSelectedRows("approved")}>
          Approve selected ({count})
        </Button>
        <Button data-testid="rr-reject-selected" disabled={count === 0 || busy("selected-rejected")} onClick={() => void setSelectedRows("rejected")}>
          Reject selected ({count})
        </Button>
      </Toolbar>
      {error && (
        <p className="aui-field-error" role="alert" data-testid="rr-requests-error">
          {error}
        </p>
      )}
      {loadError && (
        <ErrorState
          title="Could not load the requests"
          detail={loadError}
          onRetry={() => (setLoadError(null), setReloads((n) => n + 1))}
        />
      )}
      <div data-testid="rr-requests">
        {page === null ? (
          !loadError && (
            <p className="aui-muted" role="status">
              Loading requests…
            </p>
          )
        ) : (
          <DataTable
            label="Requests"
            columns={columns}
            rows={page.items}
            rowKey={(r) => String(r.id)}
            empty={
              status === "all" ? (
                <EmptyState title="No requests yet" hint="Choose a provider and model above, then press Generate requests." />
              ) : (
                <EmptyState title={`No ${status} requests`} hint="Choose another status to see the rest." />
              )
            }
            // A new order starts from the first page; the selection (by id or "all matching") still holds.
            sort={{ by: sort, onChange: (by) => (setSort(by), setPaging(PAGING_START)) }}
            selection={{ selected, onChange: setSelected, matching: total, rowLabel: (key) => `request ${key}` }}
          />
        )}
      </div>
      <Toolbar>
        <span className="aui-muted">
          {total === 0 ? "No requests" : `Requests ${where.first + 1}–${last} of ${total}`}
        </span>
        <Button disabled={!previous} onClick={() => previous && setPaging({ list, at: previous })}>
          Previous page
        </Button>
        <Button disabled={!next} onClick={() => next && setPaging({ list, at: next })}>
          Next page
        </Button>
      </Toolbar>
    </div>
  );
}
