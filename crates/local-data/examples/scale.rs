//! Issue 17's "100,000 records and beyond" benchmark rows, each against a
//! baseline measured in the same run (`cargo xtask bench` runs it):
//!
//! 1. Import a ~100 MB CSV vs `sqlite3 .import` of the same file (goal
//!    ≤ 1.5×), peak RSS of the import ≤ 200 MB.
//! 2. Generate 100,000 requests from a template (goal ≥ 50,000/s); then
//!    900,000 more (10 models) and read the 1,000-row page at row 1,000 and
//!    the one ending at row 1,000,000 by keyset cursor (goal: equal ± 20%),
//!    with `OFFSET` at the same places for contrast.
//! 3. Export 100,000 answers to CSV vs `sqlite3 -csv` of the same rows and
//!    columns in the same order (goal ≤ 1.5×).
//!
//! ```text
//! cargo run -p local-data --release --example scale
//! ```
//!
//! Prints a markdown table. Peak RSS is the kernel's high-water mark
//! (`VmHWM`), reset before the import by writing 5 to `/proc/self/clear_refs`
//! (Linux), so it is the import's own peak. `sqlite3` is the CLI on `PATH`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use local_data::{ExportFormat, ImportOptions, ModelTarget, PageStart, RequestQuery, ResponseQuery, Store};
use records::Format;

/// Rows of the ~100 MB file (about 157 bytes a row).
const BIG_ROWS: u64 = 640_000;
/// Records the requests are generated from, and answers exported.
const ROWS: u64 = 100_000;
const PAGE: u32 = 1_000;
const MODELS: usize = 10;
/// Alternating rounds of each baseline and its measure.
const ROUNDS: usize = 3;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut table = Vec::new();

    // 1. Import.
    let big = dir.path().join("big.csv");
    let size = write_csv(&big, BIG_ROWS)?;
    // Alternating rounds, medians: the machine is shared, one round is noise.
    let (mut sqlite_imports, mut imports, mut peak_kb) = (Vec::new(), Vec::new(), 0);
    for round in 0..ROUNDS {
        let baseline_db = dir.path().join(format!("baseline-{round}.sqlite"));
        let script = format!(".mode csv\n.import {} t\n", big.display());
        sqlite_imports.push(time_sqlite3(&baseline_db, &script, None)?);
        std::fs::remove_file(&baseline_db)?;
        let db = dir.path().join(format!("import-{round}.sqlite"));
        reset_peak_rss()?;
        let started = Instant::now();
        let mut store = Store::open(&db)?;
        let dataset = store.import(std::fs::File::open(&big)?, &ImportOptions::new("big", Format::Csv), |_| {})?;
        imports.push(started.elapsed());
        peak_kb = peak_kb.max(peak_rss_kb()?);
        ensure!(dataset.row_count == BIG_ROWS, "the import stored {} rows", dataset.row_count);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    let (sqlite_import, import) = (median_of(sqlite_imports), median_of(imports));
    let peak_mb = peak_kb as f64 / 1024.0;
    let ratio = import.as_secs_f64() / sqlite_import.as_secs_f64();
    table.push(format!(
        "| import a {:.0} MB CSV ({BIG_ROWS} rows), median of {ROUNDS} | `sqlite3 .import` {} | {} ({ratio:.2}×), peak RSS {peak_mb:.0} MB | ≤ 1.5×, ≤ 200 MB | {} |",
        size as f64 / 1e6,
        secs(sqlite_import),
        secs(import),
        met(ratio <= 1.5 && peak_mb <= 200.0)
    ));

    // 2. Generation and pages.
    let mut store = Store::open(dir.path().join("data.sqlite"))?;
    let small = dir.path().join("small.csv");
    write_csv(&small, ROWS)?;
    let dataset = store.import(std::fs::File::open(&small)?, &ImportOptions::new("small", Format::Csv), |_| {})?;
    let template = store
        .create_template("summary", "Summarise for {{ name }} in {{ city }}: {{ comment }} (score {{ score }})")?;
    let models: Vec<ModelTarget> = (0..MODELS).map(|i| ModelTarget::new("openai", format!("model-{i}"))).collect();
    let started = Instant::now();
    let created = store.generate_requests(dataset.id, template.current.id, &models[..1])?;
    let generation = started.elapsed();
    ensure!(created == ROWS, "generated {created} requests");
    let rate = ROWS as f64 / generation.as_secs_f64();
    table.push(format!(
        "| generate {ROWS} requests from a template | — | {} ({rate:.0}/s) | ≥ 50,000/s | {} |",
        secs(generation),
        met(rate >= 50_000.0)
    ));
    let started = Instant::now();
    let more = store.generate_requests(dataset.id, template.current.id, &models)?;
    let more_time = started.elapsed();
    ensure!(more == ROWS * (MODELS as u64 - 1), "generated {more} more requests");
    let total = ROWS * MODELS as u64;

    // Walk every page once by cursor, keeping the cursors of the two pages measured.
    let query = RequestQuery { dataset_id: dataset.id, limit: PAGE, ..Default::default() };
    let early_row = 1_000;
    let deep_row = total - u64::from(PAGE);
    let (mut early, mut deep) = (None, None);
    let mut start = PageStart::First;
    let mut seen = 0u64;
    let walk_started = Instant::now();
    loop {
        if seen == early_row {
            early = Some(start.clone());
        }
        if seen == deep_row {
            deep = Some(start.clone());
        }
        let page = store.requests_page(&query, &start)?;
        seen += page.items.len() as u64;
        match page.next {
            Some(next) => start = PageStart::After(next),
            None => break,
        }
    }
    let walk = walk_started.elapsed();
    ensure!(seen == total, "the walk met {seen} of {total} requests");
    let (early, deep) = (early.context("no page at row 1,000")?, deep.context("no last page")?);
    let keyset_page = |start: &PageStart| -> anyhow::Result<Duration> {
        median(7, || {
            let page = store.requests_page(&query, start)?;
            ensure!(page.items.len() == PAGE as usize, "a short page");
            Ok(())
        })
    };
    let (early_time, deep_time) = (keyset_page(&early)?, keyset_page(&deep)?);
    let offset_page = |offset: u64| -> anyhow::Result<Duration> {
        median(1, || {
            let page = store.requests(&RequestQuery { offset, ..query.clone() })?;
            ensure!(page.items.len() == PAGE as usize, "a short page");
            Ok(())
        })
    };
    let (early_offset, deep_offset) = (offset_page(early_row)?, offset_page(deep_row)?);
    let spread = deep_time.as_secs_f64() / early_time.as_secs_f64();
    table.push(format!(
        "| 1,000-row page of {total} requests: at row 1,000 vs ending at row {total} | `OFFSET`: {} vs {} | keyset: {} vs {} ({spread:.2}×); every page walked in {} | equal ± 20% | {} |",
        millis(early_offset),
        millis(deep_offset),
        millis(early_time),
        millis(deep_time),
        secs(walk),
        met((0.8..=1.2).contains(&spread))
    ));
    table.push(format!(
        "| generate {} more requests ({MODELS} models, {total} in the dataset) | — | {} ({:.0}/s) | — | |",
        more,
        secs(more_time),
        more as f64 / more_time.as_secs_f64()
    ));

    // 3. Export: answer the first model's requests in the fixture's own SQL.
    let db = dir.path().join("data.sqlite");
    answer_first_model(&db, dataset.id)?;
    let export_query = ResponseQuery {
        dataset_id: dataset.id,
        target: Some(models[0].clone()),
        include_errors: true,
        ..Default::default()
    };
    let out = dir.path().join("export.csv");
    let baseline_out = dir.path().join("baseline.csv");
    let (mut sqlite_exports, mut exports) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        sqlite_exports.push(time_sqlite3(&db, &format!("{};\n", same_rows_sql(dataset.id)), Some(&baseline_out))?);
        let _ = std::fs::remove_file(&out);
        let started = Instant::now();
        let file = BufWriter::new(std::fs::File::create(&out)?);
        let written = store.export_responses(&export_query, ExportFormat::Csv, file)?;
        exports.push(started.elapsed());
        ensure!(written == ROWS, "exported {written} answers");
    }
    let (sqlite_export, export) = (median_of(sqlite_exports), median_of(exports));
    let ratio = export.as_secs_f64() / sqlite_export.as_secs_f64();
    table.push(format!(
        "| export {ROWS} answers to CSV ({:.0} MB), median of {ROUNDS} | `sqlite3 -csv` of the same rows {} ({:.0} MB) | {} ({ratio:.2}×) | ≤ 1.5× | {} |",
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        secs(sqlite_export),
        std::fs::metadata(&baseline_out)?.len() as f64 / 1e6,
        secs(export),
        met(ratio <= 1.5)
    ));

    println!("| row | baseline | local-data | goal | |\n|---|---|---|---|---|");
    for line in table {
        println!("{line}");
    }
    Ok(())
}

/// Runs `sqlite3` on `db` with `script` on its standard input (`-csv`,
/// output to `out` when given) and returns its wall time, start-up included.
fn time_sqlite3(db: &Path, script: &str, out: Option<&Path>) -> anyhow::Result<Duration> {
    let mut command = Command::new("sqlite3");
    command.arg("-csv").arg(db).stdin(Stdio::piped()).stderr(Stdio::piped());
    command.stdout(match out {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    });
    let started = Instant::now();
    let mut child = command.spawn().context("running sqlite3 (install the sqlite3 CLI)")?;
    child.stdin.take().context("sqlite3's stdin")?.write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    let elapsed = started.elapsed();
    ensure!(output.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&output.stderr));
    Ok(elapsed)
}

/// What the CSV export writes, as one SQL query: the same rows, columns and order.
fn same_rows_sql(dataset_id: i64) -> String {
    let record = ["id", "name", "score", "active", "comment", "city"]
        .map(|c| format!("json_extract(r.data, '$.{c}')"))
        .join(", ");
    format!(
        "SELECT s.id, r.position + 1, q.provider, q.model, coalesce(q.edited, q.rendered), s.text, s.error_message,
                s.input_tokens, s.output_tokens,
                (SELECT group_concat(tag, ', ') FROM (SELECT tag FROM response_tags t WHERE t.response_id = s.id ORDER BY tag)),
                n.group_name, n.note, CASE s.cached WHEN 1 THEN 'true' ELSE 'false' END, {record}
         FROM responses s JOIN requests q ON q.id = s.request_id JOIN records r ON r.id = q.record_id
         LEFT JOIN insights n ON n.response_id = s.id
         WHERE q.dataset_id = {dataset_id} AND q.provider = 'openai' AND q.model = 'model-0'
         ORDER BY r.position, q.provider, q.model, s.id"
    )
}

/// One stored answer per request of the first model, written directly: the
/// fixture of the export row (how fast answers are stored is the runs benchmark's).
fn answer_first_model(db: &Path, dataset_id: i64) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(&format!(
        "BEGIN;
         INSERT INTO runs (id, status, created_at) VALUES (1, 'completed', 0);
         INSERT INTO responses (request_id, run_id, text, model, input_tokens, output_tokens, started_at, finished_at)
             SELECT id, 1, 'An answer of about a hundred characters for request ' || id || ', plus a little more text.',
                    model, 40, 25, 0, 1000
             FROM requests WHERE dataset_id = {dataset_id} AND model = 'model-0';
         COMMIT;"
    ))?;
    Ok(())
}

fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn median(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[runs / 2])
}

fn write_csv(path: &Path, rows: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "id,name,score,active,comment,city")?;
    for i in 0..rows {
        writeln!(
            out,
            "{i},name {i},{}.5,{},\"a comment, with a comma and \"\"quotes\"\" about row {i}, padded to about two hundred bytes a row with some more words\",City {}",
            i % 100,
            i % 2 == 0,
            i % 50
        )?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn reset_peak_rss() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("resetting the peak RSS (Linux only)")
}

fn peak_rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("reading VmHWM from /proc/self/status")
}
