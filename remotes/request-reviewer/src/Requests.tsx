// One page of the rendered requests with per-row and bulk review actions.
import { useEffect, useState } from "react";
import { call, type RequestRow, type RequestStatus } from "@augment-it/host-client";
import { shellBus } from "@augment-it/messaging";
import { Badge, Button, DataTable, SelectField, Toolbar, toast, type BadgeTone, type Column } from "@augment-it/ui-kit";
import { describeError, PAGE_SIZE } from "./logic";
import { useBusy } from "./useBusy";

const TONE: Record<RequestStatus, BadgeTone> = { pending: "neutral", approved: "success", rejected: "danger" };
const STATUS_FILTERS = ["all", "pending", "approved", "rejected"].map((value) => ({ value, label: value }));

export interface RequestsProps {
  datasetId: number;
  templateVersionId: number;
  version: number;
  /** Called after any change to the requests (the estimate reloads). */
  onChanged: () => void;
}

export function Requests({ datasetId, templateVersionId, version, onChanged }: RequestsProps) {
  const [status, setStatus] = useState<"all" | RequestStatus>("all");
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ total: number; items: RequestRow[] }>({ total: 0, items: [] });
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [editing, setEditing] = useState<{ id: number; text: string } | null>(null);
  const { busy, run } = useBusy();

  useEffect(() => {
    let live = true;
    const query = { dataset_id: datasetId, template_version_id: templateVersionId, status: status === "all" ? null : status, offset, limit: PAGE_SIZE };
    call("list_requests", { query })
      .then((result) => live && (setPage(result), setError(null)))
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, templateVersionId, status, offset, version]);

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
      setSelected(new Set());
      return ids.length > 1 ? `${n} requests ${to}` : undefined;
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

  const saveEdit = (text: string | null) =>
    editing &&
    change("edit", async () => {
      await call("edit_request", { requestId: editing.id, text });
      setEditing(null);
      return text === null ? "Edit reverted" : "Edit saved";
    });

  const toggle = (id: number) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const columns: Column<RequestRow>[] = [
    {
      key: "select",
      header: "",
      width: "32px",
      render: (r) => <input type="checkbox" aria-label={`Select request ${r.id}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />,
    },
    {
      key: "record",
      header: "Record",
      width: "76px",
      render: (r) => (
        <span data-request-id={r.id} data-status={r.status}>
          #{r.record_id}
        </span>
      ),
    },
    { key: "model", header: "Model", width: "minmax(140px, 1fr)", render: (r) => `${r.provider}/${r.model}` },
    {
      key: "text",
      header: "Request",
      width: "minmax(160px, 3fr)",
      render: (r) => (
        <span title={r.edited ?? r.rendered}>
          {r.edited !== null && <Badge tone="warning">edited</Badge>} {r.edited ?? r.rendered}
        </span>
      ),
    },
    { key: "status", header: "Status", width: "104px", render: (r) => <Badge tone={TONE[r.status]}>{r.status}</Badge> },
    { key: "answered", header: "Answered", width: "88px", render: (r) => (r.answered ? "yes" : "no") },
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
          <Button onClick={() => setEditing({ id: r.id, text: r.edited ?? r.rendered })}>Edit</Button>
        </span>
      ),
    },
  ];

  const ids = [...selected];
  const last = Math.min(offset + PAGE_SIZE, page.total);
  return (
    <div className="rr-requests">
      <Toolbar>
        <SelectField label="Status" value={status} options={STATUS_FILTERS} onChange={(value) => (setStatus(value as "all" | RequestStatus), setOffset(0))} />
        <Button variant="primary" data-testid="rr-approve-all" disabled={busy("all-approved")} onClick={() => void setAllPending("approved")}>
          Approve all pending
        </Button>
        <Button disabled={busy("all-rejected")} onClick={() => void setAllPending("rejected")}>
          Reject all pending
        </Button>
        <Button disabled={ids.length === 0 || busy(`set-approved-${ids.join(",")}`)} onClick={() => void setRows(ids, "approved")}>
          Approve selected ({ids.length})
        </Button>
        <Button disabled={ids.length === 0 || busy(`set-rejected-${ids.join(",")}`)} onClick={() => void setRows(ids, "rejected")}>
          Reject selected ({ids.length})
        </Button>
      </Toolbar>
      {error && (
        <p className="aui-field-error" role="alert" data-testid="rr-requests-error">
          {error}
        </p>
      )}
      <div data-testid="rr-requests">
        <DataTable label="Requests" columns={columns} rows={page.items} rowKey={(r) => String(r.id)} />
      </div>
      <Toolbar>
        <span className="aui-muted">
          {page.total === 0 ? "No requests" : `Requests ${offset + 1}–${last} of ${page.total}`}
        </span>
        <Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
          Previous page
        </Button>
        <Button disabled={last >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
          Next page
        </Button>
      </Toolbar>
      {editing && (
        <div className="rr-editor">
          <label className="aui-field">
            <span>Edit request {editing.id}</span>
            <textarea rows={5} value={editing.text} onChange={(e) => setEditing({ ...editing, text: e.target.value })} />
          </label>
          <Button variant="primary" disabled={busy("edit")} onClick={() => void saveEdit(editing.text)}>
            Save
          </Button>
          <Button disabled={busy("edit")} onClick={() => void saveEdit(null)}>
            Revert
          </Button>
          <Button onClick={() => setEditing(null)}>Cancel</Button>
        </div>
      )}
    </div>
  );
}
