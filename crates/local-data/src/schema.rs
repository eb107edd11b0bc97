//! The schema, as an append-only list of migrations (never edit a released one:
//! add another).

use rusqlite_migration::{M, Migrations};

/// Times are Unix milliseconds (INTEGER); JSON columns hold text SQLite's
/// `json_*` functions can read.
const V1: &str = r#"
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    format      TEXT NOT NULL,
    -- JSON array of {"name", "type"} in source order.
    columns     TEXT NOT NULL DEFAULT '[]',
    -- 1 when cells are stored as the text the file had (CSV) and are typed on read.
    text_cells  INTEGER NOT NULL,
    row_count   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    -- JSON object: column name -> value.
    data        TEXT NOT NULL,
    UNIQUE (dataset_id, position)
);

CREATE TABLE templates (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    current_version_id  INTEGER REFERENCES template_versions(id),
    created_at          INTEGER NOT NULL
);

CREATE TABLE template_versions (
    id           INTEGER PRIMARY KEY,
    template_id  INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (template_id, version)
);

-- A version is what a request was rendered from: changing it would make
-- existing requests lie about their origin.
CREATE TRIGGER template_versions_are_immutable BEFORE UPDATE ON template_versions
BEGIN
    SELECT RAISE(ABORT, 'template versions are immutable: add a new version instead');
END;

CREATE TABLE requests (
    id                   INTEGER PRIMARY KEY,
    dataset_id           INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    record_id            INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    template_version_id  INTEGER NOT NULL REFERENCES template_versions(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    rendered             TEXT NOT NULL,
    edited               TEXT,
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (record_id, template_version_id, provider, model)
);
CREATE INDEX requests_by_dataset ON requests (dataset_id, status);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    status       TEXT NOT NULL CHECK (status IN ('running', 'paused', 'cancelled', 'completed')),
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    note         TEXT
);

-- One row per request a run will send. `in_flight` is written before the
-- request leaves, so a crash leaves evidence of what may have been sent.
CREATE TABLE run_items (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    request_id  INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'in_flight', 'answered', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, request_id)
);
CREATE INDEX run_items_by_state ON run_items (run_id, state);

CREATE TABLE responses (
    id             INTEGER PRIMARY KEY,
    request_id     INTEGER NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    text           TEXT,
    model          TEXT,
    finish_reason  TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    error_code     TEXT,
    error_message  TEXT,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER NOT NULL,
    CHECK ((text IS NULL) <> (error_code IS NULL))
);
-- The database itself refuses a second answer to the same request.
CREATE UNIQUE INDEX responses_one_answer_per_request ON responses (request_id) WHERE error_code IS NULL;

CREATE TABLE insights (
    response_id  INTEGER PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
    group_name   TEXT,
    note         TEXT
);

CREATE TABLE response_tags (
    response_id  INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    PRIMARY KEY (response_id, tag)
);
"#;

/// A deleted dataset waits in the trash (`deleted_at` set, hidden from every
/// lookup) until it is purged, so the delete can be undone.
const V2: &str = "ALTER TABLE datasets ADD COLUMN deleted_at INTEGER;";

/// The response cache (issue 17, point 2): answers by the digest of what
/// was asked (`ai_cache::AiCacheKey`), only successful ones (the columns
/// leave no room for an error). `responses.cached` marks an answer taken
/// from it (no provider call, no spend); `runs.no_cache` is a run that
/// must not read it, kept so that a resume honours it too.
const V3: &str = "
CREATE TABLE ai_cache (
    key            TEXT PRIMARY KEY,
    text           TEXT NOT NULL,
    model          TEXT NOT NULL,
    finish_reason  TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    stored_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ai_cache_by_age ON ai_cache (stored_at);
ALTER TABLE responses ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN no_cache INTEGER NOT NULL DEFAULT 0;
";

/// Runs at scale (issue 17, point 8): without these, taking a run's next
/// queued request visited every queued item (to sort them by request id),
/// a run's progress counted its cached answers by scanning every response
/// ever stored, and creating a run scanned every earlier run's items per
/// request, so each run and each request cost more than the one before
/// (10,000 requests: 78 answers a second by the third run, see
/// `crates/runs/examples/run_throughput.rs`).
const V4: &str = "
DROP INDEX run_items_by_state;
CREATE INDEX run_items_by_state ON run_items (run_id, state, request_id);
CREATE INDEX run_items_by_request ON run_items (request_id);
CREATE INDEX responses_by_run ON responses (run_id);
";

/// Quota-aware runs (issue 17, point 4): a run's budget cap in US dollars
/// (list prices), kept with the run so that a resume stops at it too.
const V5: &str = "ALTER TABLE runs ADD COLUMN max_cost_usd REAL;";

/// The person's prices (issue 17, point 7), US dollars per million tokens,
/// each row replacing the built-in list price of its model (`prices.rs`);
/// NULL is unknown. No row: the default applies.
const V6: &str = "
CREATE TABLE prices (
    provider      TEXT NOT NULL CHECK (length(trim(provider)) > 0),
    model         TEXT NOT NULL CHECK (length(trim(model)) > 0),
    input         REAL CHECK (input >= 0),
    output        REAL CHECK (output >= 0),
    cached_input  REAL CHECK (cached_input >= 0),
    batch_input   REAL CHECK (batch_input >= 0),
    batch_output  REAL CHECK (batch_output >= 0),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (provider, model)
) WITHOUT ROWID;
";

/// 100,000 records and beyond (issue 17, point 8): a response is found by
/// its request. The only index on `responses.request_id` was the partial
/// one of answers, which a list or export that includes failures cannot
/// use, so SQLite read every stored response once per request of the
/// dataset (an export of 100,000 answers beside 1,000,000 requests did not
/// finish in minutes; `examples/scale.rs`).
const V7: &str = "CREATE INDEX responses_by_request ON responses (request_id);";

/// Batch mode (issue 17, point 3): a run sent through the providers' batch
/// APIs (`runs.batch`, kept so a resume polls instead of sending live), and
/// the provider batches it submitted, with the requests each holds, so a
/// restart picks them up instead of submitting again. Which results were
/// stored is the items' state (`answered` / `failed`, in the transaction
/// that stores the response); a job is `ended` once every result is stored.
const V8: &str = "
ALTER TABLE runs ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE batch_jobs (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    remote_id        TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'submitted' CHECK (state IN ('submitted', 'ended')),
    provider_status  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (provider, remote_id)
);
CREATE INDEX batch_jobs_by_run ON batch_jobs (run_id, state);
CREATE TABLE batch_job_items (
    job_id      INTEGER NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
    request_id  INTEGER NOT NULL,
    PRIMARY KEY (job_id, request_id)
) WITHOUT ROWID;
";

/// Structured output and checks (issue 17, point 5): a template version's
/// JSON Schema (`structured.rs`; NULL: free text), each answer's validation
/// against it (`schema_valid` NULL when there was no schema, `schema_errors`
/// a JSON array of `{path, message}`, `fields` the answer's top-level
/// fields as a JSON object), a run's assertions (a JSON array of
/// `checks::Assertion`) and each answer's result per assertion, by its
/// place in that array; a judge's tokens are kept so they count in the run's cost.
const V9: &str = "
ALTER TABLE template_versions ADD COLUMN schema TEXT;
ALTER TABLE responses ADD COLUMN schema_valid INTEGER;
ALTER TABLE responses ADD COLUMN schema_errors TEXT;
ALTER TABLE responses ADD COLUMN fields TEXT;
ALTER TABLE runs ADD COLUMN assertions TEXT;
CREATE TABLE answer_checks (
    response_id    INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    label          TEXT NOT NULL,
    -- NULL: it could not be scored (the judge failed); reason says why.
    passed         INTEGER,
    reason         TEXT NOT NULL,
    judge_provider TEXT,
    judge_model    TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    PRIMARY KEY (response_id, position)
) WITHOUT ROWID;
";

/// Repeat runs for stability (issue 17, point 6): a request is one *sample*
/// of asking a model a prompt, so a run can ask the same model the same
/// prompt several times (`runs.repeats`, samples `0..repeats`), each sample a
/// request of its own with at most one answer (the exactly-once rule is
/// unchanged). The uniqueness of a request is a table constraint, which
/// `ALTER TABLE` cannot change, so the table is rebuilt the way SQLite
/// documents (<https://www.sqlite.org/lang_altertable.html>, "otherwise"):
/// new table, copy (every row sample 0, ids kept, so `run_items`,
/// `responses` and `batch_job_items` still point at their requests), drop,
/// rename, indexes again. Foreign keys must be off around it (`Store::prepare`
/// turns them off outside the migration transaction): with them on, the
/// `DROP TABLE` would delete every run item and response through
/// `ON DELETE CASCADE`. The migration ends with `PRAGMA foreign_key_check`.
const V10: &str = "
CREATE TABLE requests_v10 (
    id                   INTEGER PRIMARY KEY,
    dataset_id           INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    record_id            INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    template_version_id  INTEGER NOT NULL REFERENCES template_versions(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    model                TEXT NOT NULL,
    rendered             TEXT NOT NULL,
    edited               TEXT,
    status               TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- Which repeat of the same prompt to the same model (0: the first).
    sample               INTEGER NOT NULL DEFAULT 0 CHECK (sample >= 0),
    UNIQUE (record_id, template_version_id, provider, model, sample)
);
INSERT INTO requests_v10 (id, dataset_id, record_id, template_version_id, provider, model, rendered, edited,
                          status, created_at, updated_at, sample)
    SELECT id, dataset_id, record_id, template_version_id, provider, model, rendered, edited,
           status, created_at, updated_at, 0
    FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v10 RENAME TO requests;
CREATE INDEX requests_by_dataset ON requests (dataset_id, status);
ALTER TABLE runs ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1 CHECK (repeats BETWEEN 1 AND 10);
";

/// Schema 11 (issue 19, point 2): webhook endpoints (what may be shown of
/// them; URLs and secrets are in the OS keychain), one row per delivery
/// attempt, and the notification settings.
const V11: &str = "
CREATE TABLE hook_endpoints (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    preset      TEXT NOT NULL CHECK (preset IN ('generic', 'slack', 'teams')),
    events      TEXT NOT NULL,
    host        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE hook_deliveries (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL,
    event        TEXT NOT NULL,
    endpoint_id  INTEGER NOT NULL,
    endpoint     TEXT NOT NULL,
    host         TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    status       INTEGER,
    error        TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX hook_deliveries_by_endpoint ON hook_deliveries (endpoint_id, id);
CREATE TABLE hook_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
";

/// V12 (issue 19 point 2): webhook deliveries not finished yet, queued when an
/// event is dispatched, removed by the attempt that delivers or gives up, so
/// a delivery still retrying when the app quits is resumed at the next start.
/// The event is kept as its JSON (no URL or secret: those stay in the keychain).
const V12_HOOK_OUTBOX: &str = "
CREATE TABLE hook_outbox (
    event_id     TEXT NOT NULL,
    endpoint_id  INTEGER NOT NULL,
    event        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
";

/// V13 (issue 19, point 1): data-store connections (where a table
/// lives, as `datastores::Source` JSON; its credential is in the OS
/// keychain, never here) and, per dataset imported from one, where it came
/// from: the connection's name, a copy of its source as it was, the dataset
/// column holding each row's key and the column mapping, written in the
/// import's transaction. No foreign key to the connection: a dataset keeps
/// knowing its origin after the connection is deleted or changed.
const V13_DATASTORES: &str = "
CREATE TABLE datastore_connections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('nocodb', 'airtable', 'databricks')),
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE dataset_sources (
    dataset_id   INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
    connection   TEXT NOT NULL,
    source       TEXT NOT NULL,
    key_column   TEXT NOT NULL,
    mapping      TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);
";

/// The schema version a database has after every migration.
#[cfg(test)]
pub(crate) const SCHEMA_VERSION: usize = 13;

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        // Rebuilds `requests`: foreign keys are off around it (see V10).
        M::up(V10).foreign_key_check(),
        M::up(V11),
        M::up(V12_HOOK_OUTBOX),
        M::up(V13_DATASTORES),
    ])
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use crate::{ResponseQuery, Store};

    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    /// A database as the release before the response cache left it (schema
    /// 2, with an answer and a failure stored) opens with every row kept,
    /// its answers marked not cached, and an empty cache.
    #[test]
    fn a_schema_2_database_migrates_without_losing_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO datasets (id, name, format, columns, text_cells, row_count, created_at)
                     VALUES (1, 'people', 'json', '[{\"name\":\"name\",\"type\":\"string\"}]', 0, 2, 1);
                 INSERT INTO records (id, dataset_id, position, data) VALUES (1, 1, 1, '{\"name\":\"Ada\"}'),
                                                                            (2, 1, 2, '{\"name\":\"Grace\"}');
                 INSERT INTO templates (id, name, created_at) VALUES (1, 'about', 1);
                 INSERT INTO template_versions (id, template_id, version, body, created_at)
                     VALUES (1, 1, 1, 'About {{ name }}', 1);
                 UPDATE templates SET current_version_id = 1;
                 INSERT INTO requests (id, dataset_id, record_id, template_version_id, provider, model, rendered,
                                       status, created_at, updated_at)
                     VALUES (1, 1, 1, 1, 'openai', 'gpt-4o-mini', 'About Ada', 'approved', 1, 1),
                            (2, 1, 2, 1, 'openai', 'gpt-4o-mini', 'About Grace', 'approved', 1, 1);
                 INSERT INTO runs (id, status, created_at) VALUES (1, 'completed', 1);
                 INSERT INTO run_items (run_id, request_id, state, attempts) VALUES (1, 1, 'answered', 1),
                                                                                   (1, 2, 'failed', 1);
                 INSERT INTO responses (request_id, run_id, text, model, input_tokens, output_tokens, started_at,
                                        finished_at) VALUES (1, 1, 'Ada wrote programs.', 'gpt-4o-mini', 5, 4, 1, 2);
                 INSERT INTO responses (request_id, run_id, error_code, error_message, started_at, finished_at)
                     VALUES (2, 1, 'server_error', 'HTTP 503', 1, 2);",
            )
            .unwrap();
            let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, 2, "the fixture is at the previous schema");
        }

        let store = Store::open(&path).unwrap();
        let version: usize = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, super::SCHEMA_VERSION);
        let usage = store.usage().unwrap();
        assert_eq!((usage.datasets, usage.records, usage.requests, usage.responses), (1, 2, 2, 2));
        assert_eq!((usage.failed_responses, usage.input_tokens, usage.output_tokens), (1, 5, 4));
        let rows = store
            .responses(&ResponseQuery { dataset_id: 1, limit: 10, include_errors: true, ..Default::default() })
            .unwrap();
        let kept: Vec<_> = rows.items.iter().map(|r| (r.text.as_deref(), r.error_code.as_deref(), r.cached)).collect();
        assert_eq!(kept, [(Some("Ada wrote programs."), None, Some(false)), (None, Some("server_error"), Some(false))]);
        assert_eq!(store.run_progress(1).unwrap().cached, Some(0));
        assert!(!store.run_no_cache(1).unwrap(), "old runs read the cache when resumed");
        assert_eq!(store.ai_cache_size().unwrap().entries, 0);
        assert!(store.prices().unwrap().iter().all(|p| !p.overridden), "no prices of the person's yet");
    }
    /// Every index's name and SQL, and every foreign key as (table, column, referenced table, on delete).
    type Shape = (Vec<(String, Option<String>)>, Vec<(String, String, String, String)>);

    /// The names and SQL of every index and the foreign keys of every
    /// table, as SQLite reports them.
    fn shape(conn: &Connection) -> Shape {
        let indexes = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let keys = conn
            .prepare(
                "SELECT m.name, k.\"from\", k.\"table\", k.on_delete
                 FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) k
                 WHERE m.type = 'table' ORDER BY m.name, k.\"from\"",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (indexes, keys)
    }

    /// Issue 17 point 6: schema 10 rebuilds `requests` (a request becomes one
    /// sample of a prompt). A schema 9 database with runs, answers, a batch
    /// and checks keeps every row, index and foreign key; references still
    /// cascade; the new uniqueness takes a second sample and refuses a
    /// duplicate. Without foreign keys off around the migration, the DROP
    /// TABLE cascades and the run items and responses are gone.
    #[test]
    fn a_schema_9_database_keeps_every_row_index_and_key_when_requests_gain_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.sqlite");
        let before = {
            let mut conn = Connection::open(&path).unwrap();
            super::migrations().to_version(&mut conn, 9).unwrap();
            conn.execute_batch(
                "INSERT INTO datasets (id, name, format, columns, text_cells, row_count, created_at)
                     VALUES (1, 'people', 'json', '[{\"name\":\"name\",\"type\":\"string\"}]', 0, 2, 1);
                 INSERT INTO records (id, dataset_id, position, data) VALUES (1, 1, 1, '{\"name\":\"Ada\"}'),
                                                                            (2, 1, 2, '{\"name\":\"Grace\"}');
                 INSERT INTO templates (id, name, created_at) VALUES (1, 'about', 1);
                 INSERT INTO template_versions (id, template_id, version, body, created_at)
                     VALUES (1, 1, 1, 'About {{ name }}', 1);
                 UPDATE templates SET current_version_id = 1;
                 INSERT INTO requests (id, dataset_id, record_id, template_version_id, provider, model, rendered,
                                       edited, status, created_at, updated_at)
                     VALUES (7, 1, 1, 1, 'openai', 'gpt-4o-mini', 'About Ada', 'About Ada, briefly', 'approved', 1, 2),
                            (9, 1, 2, 1, 'openai', 'gpt-4o-mini', 'About Grace', NULL, 'approved', 1, 1),
                            (11, 1, 2, 1, 'groq', 'llama', 'About Grace', NULL, 'rejected', 1, 1);
                 INSERT INTO runs (id, status, created_at, batch) VALUES (1, 'completed', 1, 1);
                 INSERT INTO run_items (run_id, request_id, state, attempts) VALUES (1, 7, 'answered', 1),
                                                                                   (1, 9, 'failed', 2);
                 INSERT INTO responses (id, request_id, run_id, text, model, input_tokens, output_tokens, started_at,
                                        finished_at, cached) VALUES (3, 7, 1, 'Ada wrote programs.', 'gpt-4o-mini', 5, 4, 1, 2, 1);
                 INSERT INTO responses (id, request_id, run_id, error_code, error_message, started_at, finished_at)
                     VALUES (4, 9, 1, 'server_error', 'HTTP 503', 1, 2);
                 INSERT INTO insights (response_id, group_name, note) VALUES (3, 'people', 'good');
                 INSERT INTO response_tags (response_id, tag) VALUES (3, 'keep');
                 INSERT INTO answer_checks (response_id, position, label, passed, reason) VALUES (3, 0, 'json', 1, 'ok');
                 INSERT INTO batch_jobs (id, run_id, provider, remote_id, state, created_at, updated_at)
                     VALUES (1, 1, 'openai', 'batch_1', 'ended', 1, 1);
                 INSERT INTO batch_job_items (job_id, request_id) VALUES (1, 7), (1, 9);",
            )
            .unwrap();
            shape(&conn)
        };

        let store = Store::open(&path).unwrap();
        let conn = &store.conn;
        let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, super::SCHEMA_VERSION);
        let rows = |sql: &str| -> Vec<String> {
            conn.prepare(sql).unwrap().query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(
            rows(
                "SELECT id || ' ' || record_id || ' ' || provider || ' ' || coalesce(edited, rendered) || ' ' || status
                      || ' ' || updated_at || ' ' || sample FROM requests ORDER BY id"
            ),
            [
                "7 1 openai About Ada, briefly approved 2 0",
                "9 2 openai About Grace approved 1 0",
                "11 2 groq About Grace rejected 1 0"
            ],
            "every request kept, with its id, review and edit, as sample 0"
        );
        assert_eq!(
            rows("SELECT run_id || ' ' || request_id || ' ' || state FROM run_items ORDER BY request_id"),
            ["1 7 answered", "1 9 failed"]
        );
        assert_eq!(
            rows(
                "SELECT id || ' ' || request_id || ' ' || coalesce(text, error_code) || ' ' || cached FROM responses ORDER BY id"
            ),
            ["3 7 Ada wrote programs. 1", "4 9 server_error 0"]
        );
        assert_eq!(
            rows("SELECT group_name || ' ' || tag FROM insights JOIN response_tags USING (response_id)"),
            ["people keep"]
        );
        assert_eq!(rows("SELECT label FROM answer_checks"), ["json"]);
        assert_eq!(rows("SELECT job_id || ' ' || request_id FROM batch_job_items ORDER BY request_id"), ["1 7", "1 9"]);
        assert_eq!(rows("SELECT CAST(repeats AS TEXT) FROM runs"), ["1"], "an earlier run asked each prompt once");

        let mut after = shape(conn);
        // Tables of later schemas (12: data-store sources) bring foreign keys of their own.
        after.1.retain(|key| key.0 != "dataset_sources");
        assert_eq!(after.1, before.1, "every foreign key is as it was, `requests` ones included");
        assert!(
            after
                .1
                .iter()
                .any(|k| k == &("run_items".into(), "request_id".into(), "requests".into(), "CASCADE".into()))
        );
        let names = |shape: &Shape| shape.0.iter().map(|i| i.0.clone()).collect::<Vec<_>>();
        let (before_names, mut after_names) = (names(&before), names(&after));
        // Tables of later schemas (11: webhooks, 12: data stores) bring indexes of their own.
        after_names.retain(|name| !name.contains("hook_") && !name.contains("datastore_"));
        assert_eq!(before_names, after_names, "every index kept");
        let dataset_index = |shape: &Shape| shape.0.iter().find(|i| i.0 == "requests_by_dataset").cloned();
        assert_eq!(dataset_index(&after), dataset_index(&before));
        let violations: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(violations, 0);
        let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(enforced, "foreign keys are on again after the migration");

        // The new uniqueness: a second sample of the same prompt and model is a request of its own …
        let insert = |id: i64, sample: i64| {
            conn.execute(
                "INSERT INTO requests (id, dataset_id, record_id, template_version_id, provider, model, rendered,
                                       status, created_at, updated_at, sample)
                 VALUES (?1, 1, 1, 1, 'openai', 'gpt-4o-mini', 'About Ada', 'approved', 3, 3, ?2)",
                [id, sample],
            )
        };
        insert(20, 1).unwrap();
        // … and the same sample twice is refused.
        assert!(crate::error::is_unique_violation(&insert(21, 1).unwrap_err()));
        assert!(crate::error::is_unique_violation(&insert(22, 0).unwrap_err()));
        // References still point at `requests` and cascade.
        assert!(conn.execute("INSERT INTO run_items (run_id, request_id) VALUES (1, 999)", []).is_err());
        conn.execute("DELETE FROM requests WHERE id = 7", []).unwrap();
        assert_eq!(rows("SELECT CAST(request_id AS TEXT) FROM run_items"), ["9"]);
        assert_eq!(rows("SELECT CAST(id AS TEXT) FROM responses"), ["4"]);
    }
}
