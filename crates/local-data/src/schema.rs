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

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2)])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
