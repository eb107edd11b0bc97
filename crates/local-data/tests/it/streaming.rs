//! Request generation and export stream (issue 17, point 8): rows go from
//! one SQLite cursor to the next statement or writer as they are read, so the
//! Rust heap stays far below the size of what is generated or written.

use std::io::Write;

use local_data::{Answer, ExportFormat, ModelTarget, RequestStatus, ResponseQuery};
use records::Format;

use crate::{import, store};

const ROWS: usize = 20_000;

/// Counts what is written and the line breaks in it, keeping nothing.
#[derive(Default)]
struct Counter {
    bytes: u64,
    lines: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn generation_and_export_of_20_000_rows_hold_no_more_than_a_few_rows_in_memory() {
    let (_dir, mut store) = store();
    let padding = "p".repeat(400);
    let csv: String =
        std::iter::once("id,text\n".to_owned()).chain((0..ROWS).map(|i| format!("{i},{padding} {i}\n"))).collect();
    let dataset = import(&mut store, "big", Format::Csv, &csv);
    drop(csv);
    let template = store.create_template("ask", "About {{ id }}: {{ text }}").unwrap();
    let target = [ModelTarget::new("openai", "gpt-4o-mini")];

    let mut created = 0;
    let generation = allocation_counter::measure(|| {
        created = store.generate_requests(dataset.id, template.current.id, &target).unwrap();
    });
    assert_eq!(created, ROWS as u64);
    // 20,000 prompts of ~420 bytes are 8 MB: holding them (or the records) would show.
    assert!(generation.bytes_max < 1024 * 1024, "peak Rust heap while generating: {} bytes", generation.bytes_max);

    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let answer = Answer {
            text: format!("{padding} answer"),
            model: claimed.model.clone(),
            finish_reason: None,
            input_tokens: None,
            output_tokens: None,
        };
        assert!(store.record_answer(&claimed, &answer).unwrap());
    }

    let query = ResponseQuery { dataset_id: dataset.id, include_errors: true, ..Default::default() };
    let mut out = Counter::default();
    let mut written = 0;
    let export = allocation_counter::measure(|| {
        written = store.export_responses(&query, ExportFormat::Csv, &mut out).unwrap();
    });
    assert_eq!(written, ROWS as u64);
    assert_eq!(out.lines, ROWS as u64 + 1, "a header and one line per answer");
    assert!(out.bytes > 20_000_000, "the export is large: {} bytes", out.bytes);
    assert!(export.bytes_max < 1024 * 1024, "peak Rust heap while exporting: {} bytes", export.bytes_max);
}
