//! Benchmark: importing a 100k-row, ~20 MB CSV into the local store, against
//! a plain `csv` crate read of the same file in the same run.
//!
//! ```text
//! cargo run -p local-data --release --example import_bench
//! ```
//!
//! Peak RSS is the kernel's high-water mark (`VmHWM`), reset before each
//! phase by writing 5 to `/proc/self/clear_refs` (Linux), so each phase's
//! peak is its own. Prints one line per phase and the ratios.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use local_data::{ImportOptions, Store};
use records::Format;

const ROWS: u64 = 100_000;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("big.csv");
    let size = write_csv(&csv_path)?;
    println!("input: {ROWS} rows, {:.1} MB", size as f64 / 1e6);

    reset_peak_rss()?;
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(&csv_path)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    while reader.read_record(&mut record)? {
        rows += 1;
    }
    let baseline = Phase::measure(started)?;
    anyhow::ensure!(rows == ROWS, "the baseline read {rows} rows");
    baseline.print("csv crate read (baseline)");

    reset_peak_rss()?;
    let started = Instant::now();
    let mut store = Store::open(dir.path().join("data.sqlite"))?;
    let file = std::fs::File::open(&csv_path)?;
    let dataset = store.import(file, &ImportOptions::new("big", Format::Csv), |_| {})?;
    let import = Phase::measure(started)?;
    anyhow::ensure!(dataset.row_count == ROWS, "the import stored {} rows", dataset.row_count);
    import.print("local-data import into SQLite");

    println!(
        "ratio import/baseline: time {:.1}x, peak RSS {:.2}x",
        import.time.as_secs_f64() / baseline.time.as_secs_f64(),
        import.peak_rss_kb as f64 / baseline.peak_rss_kb as f64
    );
    Ok(())
}

struct Phase {
    time: Duration,
    peak_rss_kb: u64,
}

impl Phase {
    fn measure(started: Instant) -> anyhow::Result<Phase> {
        Ok(Phase { time: started.elapsed(), peak_rss_kb: peak_rss_kb()? })
    }

    fn print(&self, name: &str) {
        println!("{name:32} {:>8.3} s  peak RSS {:>7.1} MB", self.time.as_secs_f64(), self.peak_rss_kb as f64 / 1024.0);
    }
}

fn write_csv(path: &Path) -> anyhow::Result<u64> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "id,name,score,active,comment,city")?;
    for i in 0..ROWS {
        writeln!(
            out,
            "{i},name {i},{}.5,{},\"a comment, with a comma and \"\"quotes\"\" about row {i} padded to about two hundred bytes of text per row for the benchmark input, and a little more text to reach twenty megabytes\",City {}",
            i % 100,
            i % 2 == 0,
            i % 50
        )?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
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
