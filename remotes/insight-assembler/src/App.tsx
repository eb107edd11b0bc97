// Insight Assembler: the responses of the selected dataset next to their
// records; filter, tag, group and note them, compare models side by side,
// compare a baseline run with a new one word by word (CompareRuns.tsx),
// read how stable a run with repeats was (Stability.tsx),
// and export them as CSV, JSON or Markdown or write them back to the data
// store they came from (WriteBack.tsx); charts of answer length and cost
// per model and of the tags (Charts.tsx).
import { useCallback, useEffect, useMemo, useState } from "react";
import {
  call,
  everyItem,
  listKey,
  nextPage,
  PAGING_START,
  positionIn,
  previousPage,
  settled,
  type Insight,
  type PageOf,
  type Paging,
  type ResponseQuery,
  type ResponseRow,
} from "@augment-it/host-client";
import { useEvent, useLastEvent } from "@augment-it/messaging";
import { Button, EmptyState, ErrorState, NO_ROWS_SELECTED, Page, SelectField, TextField, Toolbar, selectedCount, toast, type RowSelection, type TableSort } from "@augment-it/ui-kit";
import { Charts } from "./Charts";
import { CompareRuns } from "./CompareRuns";
import { CompareTable } from "./CompareTable";
import { Export } from "./Export";
import { ALL, describeError, modelOptions, PAGE_SIZE, responseQuery, responseSort, type Filters } from "./logic";
import { ResponsesTable } from "./ResponsesTable";
import { Stability } from "./Stability";
import { WriteBack } from "./WriteBack";

/** The most rows one `list_responses` call returns (local-data's `MAX_PAGE`). */
const MAX_PAGE = 1000;

/** The ids of every response `query`'s filters match, a page of MAX_PAGE at a time by cursor. */
async function matchingResponseIds(query: ResponseQuery): Promise<number[]> {
  const rows = await everyItem((cursor) => call("list_responses", { query: { ...query, offset: 0, limit: MAX_PAGE }, cursor }));
  return rows.map((r) => r.response_id);
}

/** What the shell passes to every remote (shell-ui/src/federation.ts HostApi). */
export interface RemoteProps {
  host?: { hostApiVersion: string; remote: { name: string; version: string } };
}

export default function InsightAssembler(_props: RemoteProps) {
  const dataset = useLastEvent("dataset.selected");
  const template = useLastEvent("template.selected");
  const [allVersions, setAllVersions] = useState(false);
  const [model, setModel] = useState(ALL);
  const [tag, setTag] = useState("");
  const [group, setGroup] = useState("");
  const [includeErrors, setIncludeErrors] = useState(true);
  // Prev and Next follow the page's cursors (host API 1.7.0): a deep page costs what the first does.
  const [paging, setPaging] = useState<Paging>(PAGING_START);
  // Sorted in Rust over every matching response; the export follows it too.
  const [sort, setSort] = useState<TableSort | null>(null);
  // null until the first page arrives: "no responses" is only said once the shell said so.
  // `list` is the list it is a page of: its cursors lead on only in that list.
  const [page, setPage] = useState<(PageOf<ResponseRow> & { list: string }) | null>(null);
  // Listing the page failed (Retry asks again); `error` is for tagging and insights.
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState<RowSelection>(NO_ROWS_SELECTED);
  const [tagText, setTagText] = useState("");
  const [tagging, setTagging] = useState(false);
  const [compare, setCompare] = useState(false);
  // The run comparison asks for the runs only once it is opened.
  const [comparingRuns, setComparingRuns] = useState(false);
  const [readingStability, setReadingStability] = useState(false);
  // The write-back asks for runs and connections only once it is opened.
  const [writingBack, setWritingBack] = useState(false);
  const reload = useCallback(() => setVersion((v) => v + 1), []);

  const datasetId = dataset?.datasetId ?? null;
  const query = useMemo(() => {
    if (datasetId === null) return null;
    const filters: Filters = { datasetId, templateVersionId: allVersions ? null : (template?.versionId ?? null), model, tag, group, includeErrors };
    return responseQuery(filters, responseSort(sort));
  }, [datasetId, template?.versionId, allVersions, model, tag, group, includeErrors, sort]);
  const list = listKey(query);
  const at = positionIn(paging, list);

  useEffect(() => {
    if (!query) return;
    let live = true;
    call("list_responses", { query, cursor: at.cursor })
      .then((result) => live && (setPage({ ...result, list }), setLoadError(null)))
      .catch((err: unknown) => live && setLoadError(describeError(err)));
    return () => {
      live = false;
    };
    // `list` names `query`; the cursor is where in it.
  }, [query, list, at.cursor, version]);

  useEvent("run.finished", (run) => {
    if (run.datasetId === datasetId) reload();
  });

  if (!dataset || !query) {
    return (
      <Page title="Insight Assembler">
        <EmptyState title="No dataset selected" hint="Select or import a dataset in the Record Collector, then run its requests in the Request Reviewer." />
      </Page>
    );
  }

  // A new filter is a new set of matching responses: the selection starts again.
  const resetPage = <T,>(set: (value: T) => void) => (value: T) => (set(value), setPaging(PAGING_START), setSelected(NO_ROWS_SELECTED));

  // A new order starts from the first page; the selection (by id or "all matching") still holds.
  const changeSort = (by: TableSort | null) => (setSort(by), setPaging(PAGING_START));

  // The comparison groups a page's answers by record: only a record order
  // (either way) keeps a record's answers together on one page.
  const toggleCompare = (on: boolean) => {
    setCompare(on);
    if (on && sort && sort.column !== "record") changeSort(null);
  };

  const tagSelected = async () => {
    setTagging(true);
    try {
      const ids = selected.kind === "matching" ? await matchingResponseIds(query) : [...selected.keys].map(Number);
      const n = await call("tag_responses", { responseIds: ids, tag: tagText.trim() });
      toast(`Tagged ${n} responses "${tagText.trim()}"`, "success");
      setSelected(NO_ROWS_SELECTED);
      reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setTagging(false);
    }
  };

  const saveInsight = async (row: ResponseRow, insight: Insight) => {
    await call("set_insight", { responseId: row.response_id, insight });
    reload();
  };

  const total = page?.total ?? 0;
  const rows = page?.items ?? [];
  const selectedResponses = selectedCount(selected, total);
  // Where the page shown is, and the pages beside it (none while another list loads).
  const current = page?.list === list ? page : null;
  const where = current ? settled(at, current) : at;
  const next = current && nextPage(where, current);
  const previous = current && previousPage(where, current, PAGE_SIZE);
  const last = Math.min(where.first + (page?.items.length ?? 0), total);
  const filtered = model !== ALL || tag.trim() !== "" || group.trim() !== "" || !includeErrors;
  return (
    <Page title="Insight Assembler">
      <p data-testid="ia-selection">
        Dataset <strong>{dataset.name}</strong>
        {template && !allVersions ? ` × template ${template.name} v${template.version}` : " × all template versions"}
      </p>
      <Toolbar>
        {template && (
          <label className="aui-field">
            <span>All versions</span>
            <input type="checkbox" checked={allVersions} onChange={(e) => resetPage(setAllVersions)(e.target.checked)} />
          </label>
        )}
        <SelectField
          label="Model"
          value={model}
          options={[{ value: ALL, label: "all" }, ...modelOptions(rows, model).map((m) => ({ value: m, label: m }))]}
          onChange={resetPage(setModel)}
        />
        <TextField label="Tag filter" type="search" value={tag} onChange={resetPage(setTag)} />
        <TextField label="Group filter" type="search" value={group} onChange={resetPage(setGroup)} />
        <label className="aui-field">
          <span>Include errors</span>
          <input type="checkbox" checked={includeErrors} onChange={(e) => resetPage(setIncludeErrors)(e.target.checked)} />
        </label>
        <label className="aui-field">
          <span>Compare models</span>
          <input type="checkbox" data-testid="ia-compare" checked={compare} onChange={(e) => toggleCompare(e.target.checked)} />
        </label>
      </Toolbar>
      <Toolbar>
        <TextField label="Tag to add" testId="ia-tag-input" value={tagText} onChange={setTagText} />
        <Button disabled={tagging || selectedResponses === 0 || !tagText.trim()} onClick={() => void tagSelected()}>
          Tag selected ({selectedResponses})
        </Button>
      </Toolbar>
      {error && (
        <p className="aui-field-error" role="alert" data-testid="ia-error">
          {error}
        </p>
      )}
      {loadError && (
        <ErrorState title="Could not load the responses" detail={loadError} onRetry={() => (setLoadError(null), reload())} />
      )}
      <div data-testid="ia-responses">
        {page === null ? (
          !loadError && (
            <p className="aui-muted" role="status">
              Loading responses…
            </p>
          )
        ) : total === 0 ? (
          filtered ? (
            <EmptyState title="No responses match the filters" hint="Clear the model, tag or group filter, or include errors." />
          ) : (
            <EmptyState title="No responses yet" hint="Approve requests and send them in the Request Reviewer; their answers appear here." />
          )
        ) : compare ? (
          <CompareTable rows={rows} sort={sort} onSortChange={changeSort} />
        ) : (
          <ResponsesTable rows={rows} selected={selected} onSelect={setSelected} matching={total} onSaveInsight={saveInsight} sort={sort} onSortChange={changeSort} />
        )}
      </div>
      <Toolbar>
        <span className="aui-muted">{total === 0 ? "No responses" : `Responses ${where.first + 1}–${last} of ${total}`}</span>
        <Button disabled={!previous} onClick={() => previous && setPaging({ list, at: previous })}>
          Previous page
        </Button>
        <Button disabled={!next} onClick={() => next && setPaging({ list, at: next })}>
          Next page
        </Button>
      </Toolbar>
      <details data-testid="ia-compare-runs-section" onToggle={(e) => setComparingRuns(e.currentTarget.open)}>
        <summary>Compare runs</summary>
        {comparingRuns && <CompareRuns datasetId={dataset.datasetId} revision={version} />}
      </details>
      <details data-testid="ia-stability-section" onToggle={(e) => setReadingStability(e.currentTarget.open)}>
        <summary>Stability</summary>
        {readingStability && <Stability datasetId={dataset.datasetId} revision={version} />}
      </details>
      <Export query={query} />
      <details data-testid="ia-write-back-section" onToggle={(e) => setWritingBack(e.currentTarget.open)}>
        <summary>Write back to a data store</summary>
        {writingBack && <WriteBack datasetId={dataset.datasetId} revision={version} />}
      </details>
      <Charts datasetId={dataset.datasetId} templateVersionId={query.template_version_id ?? null} revision={version} />
    </Page>
  );
}
