// The responses next to their records, one row each: select rows to tag
// (or every response the filters match), edit tags, group and note in place
// (double-click or Enter in the shared table), read a long answer or record
// in the table's drawer. The table holds one page of many, so a header click
// sorts in Rust over every matching response (`sort`), and the table only
// shows the order.
import { Badge, DataTable, type Column, type RowSelection, type TableSort } from "@augment-it/ui-kit";
import type { Insight, ResponseRow } from "@augment-it/host-client";
import { answerLength, answerText, checksSummary, fieldNames, fieldText, latencyText, modelKey, parseTags, recordSummary, schemaSummary } from "./logic";

export interface ResponsesTableProps {
  rows: ResponseRow[];
  selected: RowSelection;
  onSelect: (next: RowSelection) => void;
  /** How many responses the filters match in all (the rows are one page of them). */
  matching: number;
  /** Saves a response's insight; rejects on failure (the table keeps its editor open). */
  onSaveInsight: (row: ResponseRow, insight: Insight) => Promise<unknown>;
  /** The order of the query (its keys are this table's sortable columns). */
  sort: TableSort | null;
  onSortChange: (next: TableSort | null) => void;
}

const CACHED_EXPLAINED = "Answered from the local AI cache: no provider call, no tokens spent (the counts are what the answer used when it was first asked)";

/** Marks an answer taken from the AI response cache (host API 1.4.0: `cached`). */
function CachedBadge() {
  return (
    <span role="img" aria-label={CACHED_EXPLAINED} data-testid="cached-badge">
      <Badge tone="neutral" title={CACHED_EXPLAINED}>
        cached
      </Badge>
    </span>
  );
}

/** Schema validity and the run's checks of one answer (host API 1.6.0), each explained in its tooltip. */
function ChecksCell({ row }: { row: ResponseRow }) {
  const schema = schemaSummary(row);
  const checks = checksSummary(row);
  return (
    <>
      {schema ? (
        <span data-testid="schema-badge" title={schema.detail}>
          <Badge tone={schema.ok ? "success" : "danger"} title={schema.detail}>
            {schema.label}
          </Badge>
        </span>
      ) : null}
      {checks ? (
        <span data-testid="checks-badge" title={checks.detail}>
          <Badge tone={checks.ok ? "success" : "danger"} title={checks.detail}>
            {checks.label}
          </Badge>
        </span>
      ) : null}
    </>
  );
}

function insightOf(row: ResponseRow): Insight {
  return { tags: row.tags, group: row.group, note: row.note };
}

export function ResponsesTable({ rows, selected, onSelect, matching, onSaveInsight, sort, onSortChange }: ResponsesTableProps) {
  const edit = (field: string, text: (r: ResponseRow) => string, insight: (r: ResponseRow, text: string) => Insight, multiline = false) => ({
    text,
    multiline,
    label: (r: ResponseRow) => `Edit ${field} of response ${r.response_id}`,
    save: (r: ResponseRow, value: string) => onSaveInsight(r, insight(r, value)),
  });
  const columns: Column<ResponseRow>[] = [
    {
      key: "record",
      header: "Record",
      width: "1.5fr",
      sortable: true,
      render: (r) => (
        <span data-response-id={r.response_id} title={recordSummary(r.record)}>
          {recordSummary(r.record)}
        </span>
      ),
      detail: (r) => recordSummary(r.record),
    },
    { key: "model", header: "Model", width: "1fr", sortable: true, render: (r) => modelKey(r) },
    {
      key: "answer",
      header: "Answer",
      width: "3fr",
      sortable: true,
      render: (r) =>
        r.text === null ? (
          <span className="aui-field-error" data-error={r.error_code ?? "error"}>
            {answerText(r)}
          </span>
        ) : (
          <span title={r.text}>{r.text}</span>
        ),
      detail: (r) => answerText(r),
    },
    { key: "length", header: "Length", width: "76px", sortable: true, render: (r) => answerLength(r) ?? "" },
    {
      key: "tokens",
      header: "Tokens",
      width: "128px",
      sortable: true,
      render: (r) => (
        <>
          {`${r.input_tokens ?? "?"}/${r.output_tokens ?? "?"}`}
          {r.cached ? <> <CachedBadge /></> : null}
        </>
      ),
    },
    { key: "latency", header: "Latency", width: "84px", sortable: true, render: (r) => latencyText(r.finished_at - r.started_at) },
    ...(rows.some((r) => schemaSummary(r) || checksSummary(r))
      ? [{ key: "checks", header: "Checks", width: "150px", render: (r: ResponseRow) => <ChecksCell row={r} /> }]
      : []),
    // One column per field of the answers' JSON Schema (this page's answers), after the answer's own columns.
    ...fieldNames(rows).map((name) => ({
      key: `field:${name}`,
      header: name,
      width: "0.8fr",
      render: (r: ResponseRow) => <span title={fieldText(r, name)}>{fieldText(r, name)}</span>,
    })),
    {
      key: "tags",
      header: "Tags",
      width: "1fr",
      sortable: true,
      render: (r) => r.tags.map((tag) => <Badge key={tag} tone="neutral">{tag}</Badge>),
      edit: edit("tags", (r) => r.tags.join(", "), (r, text) => ({ ...insightOf(r), tags: parseTags(text) })),
    },
    {
      key: "group",
      header: "Group",
      width: "0.8fr",
      sortable: true,
      render: (r) => r.group ?? "",
      edit: edit("group", (r) => r.group ?? "", (r, text) => ({ ...insightOf(r), group: text.trim() || null })),
    },
    {
      key: "note",
      header: "Note",
      width: "1fr",
      sortable: true,
      render: (r) => <span title={r.note ?? ""}>{r.note ?? ""}</span>,
      detail: (r) => r.note,
      edit: edit("note", (r) => r.note ?? "", (r, text) => ({ ...insightOf(r), note: text.trim() || null }), true),
    },
  ];
  return (
    <DataTable
      label="Responses"
      columns={columns}
      rows={rows}
      rowKey={(r) => String(r.response_id)}
      sort={{ by: sort, onChange: onSortChange }}
      selection={{ selected, onChange: onSelect, matching, rowLabel: (key) => `response ${key}` }}
    />
  );
}
