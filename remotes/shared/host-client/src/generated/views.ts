// Generated from the Rust types that cross IPC (ts-rs) by `cargo xtask contract`: do not edit.
import type { CommandError, PermissionName } from "./contract";

export type ShellView = { 
/**
 * `false` for the cache-only paint at start-up.
 */
checked: boolean, registries: Array<RegistryView>, remotes: Array<RemoteView>, 
/**
 * Saved settings that could not be used and were skipped, each saying
 * what and why (the shell shows them as notices).
 */
problems: Array<string>, 
/**
 * Every permission a remote may ask for and what granting it allows.
 */
permissionDescriptions: Record<string, string>, 
/**
 * How many grant changes this view's grants include. A background check
 * that read the grants before the person answered a consent prompt must
 * not bring the prompt back, so the page never shows the remotes of a
 * view older than one it has shown (it reads the cache again instead).
 */
grantsRevision: number, };

export type RegistryView = { url: string, 
/**
 * Given on the command line rather than in the settings.
 */
fromLaunch: boolean, status: RegistryStatus | null, error: CommandError | null, };

export type RemoteView = { name: string, version: string | null, 
/**
 * The `mfe://` URL of the Module Federation entry.
 */
entryUrl: string | null, exposes: Array<string>, displayName: string | null, 
/**
 * The registry the version came from.
 */
source: string | null, verdict: Verdict, pinned: boolean, lastKnownGood: string | null, 
/**
 * Why a newer version was passed over, or why none fits.
 */
reason: string | null, 
/**
 * Set when dev mode serves this remote from a folder or dev server.
 */
devOverride: DevOverrideView | null, 
/**
 * Runs in a sandboxed iframe, reaching the host only through the
 * grant-checked bridge (see [`crate::isolation`]).
 */
sandboxed: boolean, 
/**
 * What the shown version declares in its `remote.json`.
 */
permissions: Array<PermissionName>, 
/**
 * What the person granted; `None` when they were never asked.
 */
granted: Array<PermissionName> | null, 
/**
 * A newer version that asks for more than was granted.
 */
heldBack: HeldBack | null, };

export type HeldBack = { version: string, 
/**
 * The permissions it asks for beyond the granted ones.
 */
adds: Array<PermissionName>, };

export type DevOverrideView = { 
/**
 * `folder` or `url`.
 */
kind: "folder" | "url", 
/**
 * The folder path or the dev-server URL, shown in the badge.
 */
target: string, };

export type RemoteVersions = { name: string, active: string | null, pinned: string | null, lastKnownGood: string | null, versions: Array<InstalledView>, };

export type InstalledView = { version: string, registry: string, 
/**
 * Unix seconds.
 */
installedAt: number, };

export type RegistryConfig = { 
/**
 * A folder, `file://` or `http(s)://` URL.
 */
url: string, 
/**
 * A public key (64 hex digits or a .pub file path) or a root.json path.
 */
trust?: string | null, 
/**
 * First-party: its remotes run in the shell's page with every command.
 * Others run sandboxed with only what the person granted (see
 * `isolation`). The launch registry is always trusted.
 */
trusted?: boolean, };

export type Settings = { 
/**
 * First wins when two registries offer the same remote.
 */
registries: Array<RegistryConfig>, 
/**
 * Per AI provider: base URL and default model, and the providers the
 * person added (an entry with a `kind`). Never a key: keys live in the
 * OS keychain only. Edited through the keys commands.
 */
providers?: Record<string, ProviderSettings>, 
/**
 * Dev mode: remote name → a built remote's folder or a loopback
 * dev-server entry URL (see `dev_mode`). Read at launch.
 */
devOverrides?: Record<string, string>, 
/**
 * Minutes between background update checks (the shell UI's timer);
 * 0 turns them off (still at start and on request). `None`: the default,
 * [`DEFAULT_UPDATE_CHECK_MINUTES`].
 */
updateCheckMinutes?: number | null, };

export type ProviderSettings = { 
/**
 * Replaces the provider's own API (a proxy or a compatible server); saved
 * without a trailing `/v1` or `/` (`providers::normalize_base_url`).
 */
baseUrl?: string | null, defaultModel?: string | null, 
/**
 * The origin (`scheme://host[:port]`) the provider's key was stored
 * for: its key is sent nowhere else (issue 15, point 4). Set by
 * `set_api_key` and moved only by a `save_provider_settings` the
 * person confirmed in a native dialog; `None` when no key is stored.
 *
 * It lives here, next to the base URL it guards, because the page can
 * change a provider's settings only through those commands (the
 * settings commands keep the saved providers), and whoever can rewrite
 * settings.json on disk can already choose the code the shell runs, so a
 * copy elsewhere would add no protection against them. Keeping both in
 * one entry also means an older write of the file restores a base URL
 * together with its own binding, never one without the other.
 *
 * Keys stored before bindings existed have none: the first load binds
 * them to the base URL then saved (see `commands::keys`), so upgrading
 * does not lock anyone out.
 */
keyOrigin?: string | null, 
/**
 * Set on a provider the person added (issue 17, point 7): what it is
 * (`ollama`, `lm-studio`, `vllm`, `openai-compatible`), which gives its
 * usual base URL when none is saved. `None` on the built-in providers.
 */
kind?: "ollama" | "lm-studio" | "vllm" | "openai-compatible", };

export type SettingsView = { 
/**
 * What is saved and editable.
 */
saved: Settings, 
/**
 * The registry given at launch (`--registry`), used first and not saved.
 */
launchRegistry: RegistryConfig | null, 
/**
 * Where the settings live, so a person can find the file.
 */
path: string, 
/**
 * Minutes between background update checks in effect (saved or default); 0 = off.
 */
updateCheckMinutes: number, };

export type UiState = { 
/**
 * The screen shown last (the shell's hash route, e.g. `/remote/record-collector`).
 */
lastRoute?: string | null, theme: ThemeChoice, };

export type ThemeChoice = "system" | "light" | "dark";

export type LoadFailureOutcome = { 
/**
 * Set when the failing version was replaced by the last-known-good one.
 */
rolledBack: Rollback | null, };

export type KeyState = "set" | "notSet" | "fromEnvironment";

export type ProviderView = { provider: string, key: KeyState, 
/**
 * The variable that overrides the keychain, e.g. `AUGMENT_OPENAI_API_KEY`.
 */
envVar: string, 
/**
 * The provider's own API, used when no base URL is saved.
 */
defaultBaseUrl: string, settings: ProviderSettings, };

export type KeyTest = { ok: boolean, 
/**
 * The providers crate's error code (`invalid_key`, `rate_limited` …) when not ok.
 */
code: string | null, message: string, };

export type ModelView = { id: string, displayName: string | null, };

export type ProgressEvent = { provider: string, message: string, };

export type RegistryState = "online" | "offline" | "stale" | "refused";

export type RegistryStatus = { state: RegistryState, 
/**
 * Why it is not online, or which remotes could not be updated, in words
 * a person can act on; `None` when everything worked.
 */
reason: string | null, 
/**
 * When fresh signed metadata from it last verified (unix seconds).
 */
lastVerifiedAt: number | null, 
/**
 * When it last answered at all (unix seconds).
 */
lastReachedAt: number | null, 
/**
 * The newest snapshot version verified (for a stale registry, the
 * highest ever accepted).
 */
snapshotVersion: number | null, };

export type Verdict = "installed" | "cached" | "incompatible";

export type Rollback = { name: string, 
/**
 * The version that was active.
 */
from: string, 
/**
 * The version now active, and pinned.
 */
to: string, };

export type CacheUsage = { 
/**
 * Bytes of the blob files on disk; a blob shared by several versions counts once.
 */
bytes: number, 
/**
 * Blob files on disk, including any that only the next gc will remove.
 */
blobs: number, 
/**
 * Installed versions, across every remote.
 */
versions: number, };

export type CacheSizeSample = { 
/**
 * Unix seconds.
 */
at: number, 
/**
 * Bytes of the blobs the installed versions reference, each blob once.
 */
bytes: number, blobs: number, versions: number, };

export type RemoteLoadStats = { name: string, mounts: number, failures: number, 
/**
 * Mean time from load start to mounted, over the mounts that reported one.
 */
meanMountMs: number | null, 
/**
 * Unix seconds of the latest failure in the period.
 */
lastFailureAt: number | null, };

export type DevRemoteChanged = { remote: string, revision: number, entryUrl: string, };

export type NavigationRefused = { url: string, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type Page<T> = { 
/**
 * Items matching the query, in total (not just on this page).
 */
total: number, 
/**
 * This page's items.
 */
items: Array<T>, 
/**
 * Pass as the list command's `cursor` for the page after this one;
 * absent on the last page (and on a page asked for by offset).
 */
next_cursor?: string, 
/**
 * Pass as `cursor` for the page before this one; absent on the first.
 */
previous_cursor?: string, };

export type Format = "csv" | "json" | "jsonl" | "yaml" | "markdown";

export type ColumnType = "empty" | "boolean" | "integer" | "number" | "string" | "nested";

export type Parser = "service" | "in-process";

export type ParsedPreview = { parser: Parser, 
/**
 * Why the service was not used, when it was not (e.g. "the local stack is not running").
 */
parserReason: string | null, format: Format, columns: Array<string>, types: Array<ColumnType>, 
/**
 * Rows `offset .. offset + rows.len()` of the table.
 */
rows: Array<Array<JsonValue>>, offset: number, totalRows: number, totalColumns: number, documentBytes: number, frontMatter?: Record<string, JsonValue>, };

export type ImportPreview = { file: FileChoice | null, parser: Parser, 
/**
 * Why the service was not used, when it was not (e.g. "the local stack is not running").
 */
parserReason: string | null, format: Format, columns: Array<string>, types: Array<ColumnType>, 
/**
 * Rows `offset .. offset + rows.len()` of the table.
 */
rows: Array<Array<JsonValue>>, offset: number, totalRows: number, totalColumns: number, documentBytes: number, frontMatter?: Record<string, JsonValue>, };

export type FileChoice = { 
/**
 * Pass this to the command that reads or writes the file.
 */
token: string, 
/**
 * The file's name (not its folder), for display.
 */
name: string, };

export type FilesDropped = { 
/**
 * Each regular file dropped, ready to read.
 */
files: Array<FileChoice>, 
/**
 * The names of what was dropped but is not a file (a folder), to say so.
 */
skipped: Array<string>, };

export type RecentFile = { 
/**
 * Pass to `choose_recent_file`.
 */
id: string, name: string, folder: string, 
/**
 * Unix seconds of the last import.
 */
usedAt: number, };

export type Column = { name: string, type: ColumnType, };

export type Dataset = { id: number, name: string, format: Format, columns: Array<Column>, row_count: number, 
/**
 * Unix milliseconds.
 */
created_at: number, };

export type SavedDataset = { dataset: Dataset, parser: Parser, parserReason: string | null, };

export type RecordRow = { id: number, 
/**
 * 0-based row number in the imported file.
 */
position: number, fields: Record<string, JsonValue>, };

export type FilterOp = "equals" | "contains";

export type FieldFilter = { column: string, op: FilterOp, value: string, };

export type RecordSort = { column: string, descending: boolean, };

export type RecordQuery = { 
/**
 * Deprecated (host API 1.7.0): send 0 and page with the list
 * command's `cursor`. Read only without a cursor, by an `OFFSET` scan
 * that reads and drops this many rows first (remotes of host API 1.6).
 */
offset: number, limit: number, filter?: FieldFilter | null, 
/**
 * File order when `None`.
 */
sort?: RecordSort | null, };

export type TemplateVersion = { id: number, template_id: number, 
/**
 * 1, 2, 3 … per template.
 */
version: number, body: string, created_at: number, 
/**
 * The JSON Schema answers must fit (issue 17, point 5), as saved;
 * `None` for free text. Optional for the contract (host API 1.6.0).
 */
schema?: string, };

export type Template = { id: number, name: string, current: TemplateVersion, 
/**
 * How many versions exist.
 */
version_count: number, created_at: number, };

export type TemplateCheck = { template_version_id: number, dataset_id: number, 
/**
 * Variables the template uses that the dataset has no column for, sorted.
 */
missing_fields: Array<string>, 
/**
 * A sentence for the UI, e.g. "uses `summary`, which the dataset does not have".
 */
warning: string | null, };

export type ModelTarget = { 
/**
 * The provider id the run engine has a client for (`openai`, `anthropic`, `groq`, a custom id).
 */
provider: string, model: string, };

export type RequestStatus = "pending" | "approved" | "rejected";

export type RequestRow = { id: number, dataset_id: number, record_id: number, template_version_id: number, provider: string, model: string, 
/**
 * The text rendered from the template.
 */
rendered: string, 
/**
 * The reviewer's replacement text, if edited; this is what is sent.
 */
edited: string | null, status: RequestStatus, 
/**
 * Whether a successful response exists.
 */
answered: boolean, 
/**
 * Which repeat of its prompt it is (0: the first; see
 * [`Store::generate_repeated_requests`]). Always set by the store;
 * optional for the contract (host API 1.7.0).
 */
sample?: number, };

export type RequestSortColumn = "record" | "model" | "text" | "status" | "answered";

export type RequestSort = { column: RequestSortColumn, descending: boolean, };

export type RequestQuery = { dataset_id: number, template_version_id?: number | null, status?: RequestStatus | null, target?: ModelTarget | null, 
/**
 * Deprecated (host API 1.7.0): send 0 and page with the list
 * command's `cursor`. Read only without a cursor, by an `OFFSET` scan
 * that reads and drops this many rows first (remotes of host API 1.6).
 */
offset: number, limit: number, 
/**
 * Record order when `None`.
 */
sort?: RequestSort | null, };

export type ModelEstimate = { provider: string, model: string, requests: number, input_tokens: number, 
/**
 * `requests × output tokens per answer` as assumed by the caller.
 */
output_tokens: number, 
/**
 * US dollars; `None` when the model has no price in the [`PriceTable`].
 */
cost_usd: number | null, 
/**
 * US dollars through the provider's batch API; `None` (left out) when
 * no batch price is known. Host API 1.5.0.
 */
batch_cost_usd?: number | null, };

export type RunStatus = "running" | "paused" | "cancelled" | "completed";

export type RunProgress = { run_id: number, status: RunStatus, total: number, queued: number, in_flight: number, answered: number, failed: number, 
/**
 * Why the run stopped, when it did not complete.
 */
note: string | null, 
/**
 * How many of `answered` came from the response cache (no provider
 * call, no spend). Always set by the store; optional for the contract
 * (host API 1.4.0).
 */
cached?: number, 
/**
 * How many times the run asks each prompt (1: no repeats; see
 * [`Store::run_stability`]). Always set by the store; optional for the
 * contract (host API 1.7.0).
 */
repeats?: number, };

export type RunSummary = { 
/**
 * The dataset its requests belong to (one per run); `None` only for a
 * run whose requests were all deleted with their dataset.
 */
dataset_id: number | null, 
/**
 * The template versions its requests were rendered from.
 */
template_version_ids: Array<number>, 
/**
 * The provider models its requests go to.
 */
targets: Array<ModelTarget>, 
/**
 * Unix milliseconds.
 */
created_at: number, 
/**
 * Unix milliseconds when sending last stopped; `None` while running.
 */
finished_at: number | null, run_id: number, status: RunStatus, total: number, queued: number, in_flight: number, answered: number, failed: number, 
/**
 * Why the run stopped, when it did not complete.
 */
note: string | null, 
/**
 * How many of `answered` came from the response cache (no provider
 * call, no spend). Always set by the store; optional for the contract
 * (host API 1.4.0).
 */
cached?: number, 
/**
 * How many times the run asks each prompt (1: no repeats; see
 * [`Store::run_stability`]). Always set by the store; optional for the
 * contract (host API 1.7.0).
 */
repeats?: number, };

export type RunEvent = { "kind": "started", runId: number, progress: RunProgress, } | { "kind": "sending", runId: number, requestId: number, attempt: number, } | { "kind": "retrying", runId: number, requestId: number, message: string, } | { "kind": "answered", runId: number, requestId: number, } | { "kind": "failed", runId: number, requestId: number, code: string, message: string, } | { "kind": "progress", runId: number, progress: RunProgress, } | { "kind": "finished", runId: number, progress: RunProgress, } | { "kind": "waiting", runId: number, requestId: number, message: string, delayMs: number, } | { "kind": "concurrencyChanged", runId: number, limit: number, max: number, message: string, } | { "kind": "stopping", runId: number, code: string, reason: string, } | { "kind": "batch", runId: number, provider: string, batchId: string, status: string, message: string, };

export type ResponseRow = { response_id: number, request_id: number, run_id: number, record_id: number, record_position: number, record: Record<string, JsonValue>, provider: string, model: string, prompt: string, 
/**
 * The answer; `None` when the request failed.
 */
text: string | null, error_code: string | null, error_message: string | null, input_tokens: number | null, output_tokens: number | null, started_at: number, finished_at: number, tags: Array<string>, group: string | null, note: string | null, 
/**
 * Whether the answer came from the response cache (no provider call).
 * Always set; optional for the contract (host API 1.4.0).
 */
cached?: boolean, 
/**
 * Whether the answer fits its template's JSON Schema; `None` when the
 * template has none (host API 1.6.0, as the three below).
 */
schema_valid?: boolean, 
/**
 * The first ways it does not fit, with their paths.
 */
schema_errors?: Array<SchemaIssue>, 
/**
 * The answer's top-level fields, when it is a JSON object (with a schema).
 */
fields?: Record<string, JsonValue>, 
/**
 * The run's assertions' results for this answer, in the run's order.
 */
checks?: Array<CheckResult>, 
/**
 * Which repeat of its prompt the request is (0: the first; a run with
 * repeats, issue 17 point 6). Always set by the store; optional for the
 * contract (host API 1.7.0).
 */
sample?: number, };

export type SchemaIssue = { 
/**
 * JSON Pointer to the part of the answer at fault (`""`: the whole answer).
 */
path: string, 
/**
 * What is wrong there.
 */
message: string, };

export type CheckResult = { 
/**
 * The assertion's place in the run's list.
 */
position: number, 
/**
 * The assertion in its one-line syntax.
 */
assertion: string, passed: boolean | null, reason: string, };

export type RunChecks = { run_id: number, 
/**
 * Answers with every assertion scored.
 */
checked: number, 
/**
 * Answers that passed every assertion.
 */
passed: number, 
/**
 * `passed / checked`; `None` before any answer was checked.
 */
pass_rate: number | null, 
/**
 * Per assertion, in the run's order.
 */
assertions: Array<AssertionTally>, 
/**
 * Answers valid against their template's schema.
 */
schema_valid: number, 
/**
 * Answers that were not, each listed in the responses with its problems.
 */
schema_invalid: number, };

export type AssertionTally = { assertion: string, passed: number, failed: number, 
/**
 * Could not be scored (a judge failed).
 */
unscored: number, };

export type AiCacheSize = { 
/**
 * Stored answers.
 */
entries: number, 
/**
 * Bytes of what they hold (keys, answer text, model names), without
 * SQLite's own page overhead.
 */
bytes: number, 
/**
 * When the oldest entry was stored (Unix milliseconds), if any.
 */
oldestStoredAt: number | null, };

export type Rates = { input: number | null, output: number | null, 
/**
 * Input tokens read from the provider's prompt cache.
 */
cachedInput: number | null, batchInput: number | null, batchOutput: number | null, };

export type PriceRow = { provider: string, model: string, 
/**
 * In effect: the override when there is one, else the default.
 */
rates: Rates, 
/**
 * The built-in list price; `None` for a model only the person priced.
 */
default: Rates | null, 
/**
 * The person's own prices replace the default (reset puts it back).
 */
overridden: boolean, };

export type ResponseSortColumn = "record" | "model" | "answer" | "answer_length" | "tokens" | "latency" | "tags" | "group" | "note";

export type ResponseSort = { column: ResponseSortColumn, descending: boolean, };

export type ResponseQuery = { dataset_id: number, template_version_id?: number | null, target?: ModelTarget | null, tag?: string | null, group?: string | null, 
/**
 * Include failed requests' error responses.
 */
include_errors: boolean, 
/**
 * Deprecated (host API 1.7.0): send 0 and page with the list
 * command's `cursor`. Read only without a cursor, by an `OFFSET` scan
 * that reads and drops this many rows first (remotes of host API 1.6).
 */
offset: number, 
/**
 * Page size; ignored by export, which writes every match.
 */
limit: number, 
/**
 * Record order, then model, when `None` (the list's and the export's).
 */
sort?: ResponseSort | null, };

export type Insight = { tags: Array<string>, group: string | null, note: string | null, };

export type CompareSide = { run_id: number, 
/**
 * Required when the run sent its requests to more than one model.
 */
target?: ModelTarget | null, };

export type PairFilter = "all" | "agree" | "differ" | "missing";

export type CompareQuery = { baseline: CompareSide, candidate: CompareSide, filter: PairFilter, 
/**
 * The page starts after the record at this position (the previous
 * page's `next_after`); from the first record when `None`.
 */
after?: number | null, limit: number, };

export type PairAnswer = { response_id: number, provider: string, model: string, 
/**
 * The answer; `None` when the request failed.
 */
text: string | null, error_code: string | null, };

export type ComparedPair = { record_id: number, record_position: number, record: Record<string, JsonValue>, baseline: PairAnswer | null, candidate: PairAnswer | null, 
/**
 * Which of [`PairFilter`]'s groups the pair is in (never `All`).
 */
verdict: PairFilter, };

export type CompareSummary = { 
/**
 * Records either side answered or failed.
 */
records: number, agree: number, differ: number, missing: number, 
/**
 * `agree / (agree + differ)`; `None` when no record has both answers.
 */
agreement_rate: number | null, };

export type ComparePage = { pairs: Array<ComparedPair>, 
/**
 * Counted on a first page only (`after` is `None`): the counts are the
 * same for every page, and counting walks every record of both runs.
 */
summary: CompareSummary | null, 
/**
 * Pass as [`CompareQuery::after`] for the next page; `None` on the last.
 */
next_after: number | null, };

export type StabilityQuery = { run_id: number, 
/**
 * Required when the run sent its requests to more than one model.
 */
target?: ModelTarget | null, 
/**
 * The page starts after the record at this position (the previous
 * page's `next_after`); from the first record when `None`.
 */
after?: number | null, limit: number, };

export type SampleAnswer = { 
/**
 * 0 for the first time the prompt was asked.
 */
sample: number, request_id: number, 
/**
 * `None` while the sample has no response (not sent yet).
 */
response_id: number | null, 
/**
 * The answer; `None` when the request failed or was not answered.
 */
text: string | null, error_code: string | null, };

export type UnstableRecord = { record_id: number, record_position: number, record: Record<string, JsonValue>, 
/**
 * Every sample's answer, in sample order.
 */
samples: Array<SampleAnswer>, };

export type StabilitySummary = { 
/**
 * How many times the run asked each prompt.
 */
repeats: number, 
/**
 * Records the run asked about.
 */
records: number, 
/**
 * Records with every sample answered (the ones stability is measured on).
 */
complete: number, 
/**
 * Complete records whose answers all agree.
 */
stable: number, 
/**
 * Complete records with at least two answers that differ.
 */
unstable: number, 
/**
 * `stable / complete`; `None` when no record is complete.
 */
stability_rate: number | null, };

export type StabilityPage = { 
/**
 * The model the samples were asked of.
 */
target: ModelTarget, 
/**
 * Counted on a first page only (`after` is `None`): the counts are the
 * same for every page, and counting walks every record of the run.
 */
summary: StabilitySummary | null, unstable: Array<UnstableRecord>, 
/**
 * Pass as [`StabilityQuery::after`] for the next page; `None` on the last.
 */
next_after: number | null, };

export type ExportFormat = "csv" | "json" | "markdown";

export type ExportResult = { path: string, rows: number, };

export type BulkStatusChange = { 
/**
 * Pass to `undo_bulk_status_change`.
 */
id: number, count: number, from: RequestStatus, to: RequestStatus, };

export type Usage = { datasets: number, records: number, templates: number, requests: number, approvedRequests: number, runs: number, 
/**
 * Answers and failures stored for requests.
 */
responses: number, failedResponses: number, 
/**
 * Tokens of live answers (answers from the response cache cost nothing).
 */
inputTokens: number, outputTokens: number, };

export type DayActivity = { 
/**
 * Unix milliseconds of the day's local midnight.
 */
dayStart: number, 
/**
 * Requests answered that day.
 */
answered: number, 
/**
 * Requests that failed for good that day.
 */
failed: number, 
/**
 * Tokens spent (answers from the response cache spent none).
 */
inputTokens: number, outputTokens: number, 
/**
 * US dollars at the price table's prices, for the models it prices.
 */
costUsd: number, 
/**
 * Tokens of models with no listed price (not in `cost_usd`).
 */
unpricedTokens: number, };

export type ProviderActivity = { provider: string, answered: number, failed: number, 
/**
 * Claim to stored answer or failure (retries included), in milliseconds.
 */
medianLatencyMs: number | null, p95LatencyMs: number | null, };

export type RunActivity = { 
/**
 * Every day of the window, oldest first; days with nothing sent are zeros.
 */
days: Array<DayActivity>, 
/**
 * Providers that answered or failed in the window, by name.
 */
providers: Array<ProviderActivity>, };

export type ModelStats = { provider: string, model: string, answers: number, failures: number, 
/**
 * Mean characters of an answer; `None` with no answer.
 */
meanAnswerChars: number | null, inputTokens: number, outputTokens: number, 
/**
 * US dollars at list price; `None` when the model has no listed price.
 */
costUsd: number | null, };

export type TagCount = { tag: string, count: number, };

export type ResponseStats = { 
/**
 * By provider, then model.
 */
models: Array<ModelStats>, 
/**
 * The [`MAX_TAGS`] most used tags, most used first (ties by name).
 */
tags: Array<TagCount>, 
/**
 * Distinct tags in all, including those left out of `tags`.
 */
distinctTags: number, };

export type HookEndpoint = { id: number, name: string, 
/**
 * `generic`, `slack` or `teams`.
 */
preset: string, 
/**
 * The events it receives (`run.finished` …).
 */
events: Array<string>, 
/**
 * The URL's host (and port), all that is shown of the URL.
 */
host: string, 
/**
 * Milliseconds since the epoch.
 */
createdAt: number, };

export type HookDelivery = { id: number, eventId: string, event: string, endpointId: number, endpoint: string, host: string, attempt: number, 
/**
 * `delivered`, `retrying` or `failed`.
 */
outcome: string, status: number | null, error: string | null, 
/**
 * Milliseconds since the epoch.
 */
at: number, };

export type HookDeliveryOutcome = { eventId: string, endpoint: string, host: string, delivered: boolean, attempts: number, 
/**
 * The last answer's HTTP status, if there was an answer.
 */
status: number | null, 
/**
 * Why the last attempt failed.
 */
error: string | null, };

export type NotificationSettings = { desktop: boolean, };

export type DatastoreConnection = { name: string, kind: "nocodb" | "airtable" | "databricks", 
/**
 * Where the table lives (`datastores::Source` as JSON: `kind` and the service's fields).
 */
source: JsonValue, hasCredential: boolean, };

export type ColumnPreview = { name: string, inferred: ColumnType, 
/**
 * The service's own type, when its API describes the table.
 */
serviceType: string | null, samples: Array<JsonValue>, };

export type DatastorePreview = { columns: Array<ColumnPreview>, 
/**
 * As the import would store them with every column kept.
 */
rows: Array<Record<string, JsonValue>>, 
/**
 * The dataset column that will hold each row's key (propose it as the mapping's `keyColumn`).
 */
keyColumn: string, };

export type DatastoreColumnMapping = { source: string, target: string, };

export type DatastoreMapping = { keyColumn: string, columns: Array<DatastoreColumnMapping>, };

export type WriteBackColumns = { answer?: string | null, tags?: string | null, notes?: string | null, };

export type FailedWrite = { key: string, reason: string, };

export type WriteReport = { updated: number, createdColumns: Array<string>, 
/**
 * Writing again retries these (it updates, never duplicates).
 */
failed: Array<FailedWrite>, 
/**
 * Answered records without a key: nothing to find their row by.
 */
withoutKey: number, };

export type TeamSession = { 
/**
 * The auth service's URL (never holds a secret: user info is refused).
 */
server: string, user: string, 
/**
 * `admin`, `publisher`, `analyst` or `viewer`.
 */
role: string, scopes: Array<string>, 
/**
 * When the session ends (RFC 3339).
 */
expiresAt: string, };

export type TeamUser = { id: string, name: string, role: string, 
/**
 * RFC 3339.
 */
createdAt: string, };

export type TeamToken = { id: string, userId: string, 
/**
 * `session` (a sign-in) or `api`.
 */
kind: string, scopes: Array<string>, 
/**
 * The name given when it was created.
 */
description: string | null, createdAt: string, expiresAt: string, revokedAt: string | null, };

export type CreatedTeamToken = { secret: string, token: TeamToken, };

export type EngineKind = "docker" | "podman";

export type EngineInfo = { endpoint: string, kind: EngineKind, api_version: string, };

export type State = "running" | "created" | "exited" | "paused" | "restarting" | "dead" | "removing" | "missing";

export type Health = "healthy" | "unhealthy" | "unknown";

export type StackServiceView = { service: string, 
/**
 * `running`, `exited`, `missing` …, as the engine reports it.
 */
state: State, health: Health, 
/**
 * The host port on 127.0.0.1 (published, or the definition's when there is no container).
 */
port: number | null, detail: string | null, 
/**
 * The version of the app that created its container (host API 1.8.0).
 */
version?: string | null, };

export type StackView = { stack: string, 
/**
 * `docker` or `podman`, and its address.
 */
engine: EngineInfo, services: Array<StackServiceView>, healthy: boolean, 
/**
 * `up` or `down` while one runs.
 */
busy: "up" | "down" | null, 
/**
 * Which parser the last import used.
 */
lastImport: Parser | null, 
/**
 * Set when the stack's containers were made by another version of the
 * app: "the stack runs 0.1.0, this app is 0.2.0: press Start to update"
 * (host API 1.8.0).
 */
versionMismatch?: string | null, };

export type StackProgress = { operation: "up" | "down", phase: "started" | "done" | "failed", error: CommandError | null, 
/**
 * While `up` builds the service binaries (a source checkout): one line
 * of the build, on a `started` event (host API 1.8.0).
 */
building?: string | null, };

export type StackLogLine = { service: string, line: string, };

export type LatencyBucket = { le: number, count: number, };

export type LatencyHistogram = { buckets: Array<LatencyBucket>, count: number, 
/**
 * Seconds, summed over every observation.
 */
sum: number, };

export type ProviderMetrics = { provider: string, 
/**
 * `<service>_provider_calls_total`, every outcome.
 */
calls: number, 
/**
 * Calls whose outcome was not `ok`.
 */
failedCalls: number, 
/**
 * `<service>_provider_tokens_total{direction="input"}`.
 */
inputTokens: number, outputTokens: number, 
/**
 * `<service>_provider_cost_usd_total`; `None` when not exported.
 */
costUsd?: number | null, };

export type ServiceMetrics = { service: string, 
/**
 * Why there are no numbers for this service (not running, unreachable,
 * `/metrics` only on an unpublished admin port …); `None` when scraped.
 */
unavailable?: string | null, 
/**
 * `<service>_http_requests_total`.
 */
requests: number, 
/**
 * 4xx answers: `<service>_http_errors_total{kind="client"}`, or, from a
 * service without that series, the 4xx statuses of the request counter.
 */
clientErrors: number, 
/**
 * 5xx answers, the same way.
 */
serverErrors: number, 
/**
 * `<service>_http_request_duration_seconds`, its routes' buckets added up.
 */
latency?: LatencyHistogram | null, 
/**
 * `<service>_http_requests_in_flight`, when the service exports it
 * (it may count this scrape).
 */
inFlight?: number | null, 
/**
 * `<service>_provider_*` per provider (the connector's).
 */
providers: Array<ProviderMetrics>, };

export type StackMetrics = { 
/**
 * When the scrape started, in milliseconds since the Unix epoch: the
 * clock rates are computed with.
 */
atMs: number, 
/**
 * Set when nothing runs to scrape: what to do, for the page to show.
 */
notRunning?: string | null, 
/**
 * Every service of the stack, in the stack's order.
 */
services: Array<ServiceMetrics>, };
