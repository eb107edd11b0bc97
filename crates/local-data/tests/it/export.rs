//! Exports are safe to open (issue 20, point 7): a CSV cell a spreadsheet
//! would run as a formula is neutralised (OWASP CSV injection), and a
//! Markdown cell can neither inject HTML nor break out of its table row.

use local_data::{Answer, ExportFormat, Insight, ModelTarget, RequestStatus, ResponseQuery, Store};
use records::Format;

use crate::{import, store};

/// Values a spreadsheet would evaluate (the OWASP list: `=`, `+`, `-`, `@`,
/// tab, carriage return), HTML, a pipe, and one harmless value.
const HOSTILE: [&str; 8] = [
    "=HYPERLINK(\"http://evil.example/\",\"click\")",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\tcmd",
    "\rcmd",
    "<script>alert(1)</script> & <b>a | b</b>",
    "plain text",
];

/// A dataset with one record per hostile value (in a column whose own name
/// is a formula, plus a negative number), each answered with its prompt, and
/// a hostile note and group on every response. Returns the dataset id.
fn hostile_dataset(store: &mut Store) -> i64 {
    let rows: Vec<serde_json::Value> =
        HOSTILE.iter().map(|value| serde_json::json!({ "value": value, "=cmd": "x", "n": -3.5 })).collect();
    let dataset = import(store, "hostile", Format::Json, &serde_json::to_string(&rows).unwrap());
    let template = store.create_template("echo", "{{ value }}").unwrap();
    let target = ModelTarget::new("openai", "gpt-4o-mini");
    assert_eq!(store.generate_requests(dataset.id, template.current.id, &[target]).unwrap(), HOSTILE.len() as u64);
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let answer = Answer {
            text: claimed.prompt.clone(),
            model: claimed.model.clone(),
            finish_reason: Some("stop".into()),
            input_tokens: Some(1),
            output_tokens: Some(1),
        };
        assert!(store.record_answer(&claimed, &answer).unwrap());
    }
    let query = ResponseQuery { dataset_id: dataset.id, limit: 100, ..Default::default() };
    for response in store.responses(&query).unwrap().items {
        let insight = Insight {
            tags: vec!["@tag".into()],
            group: Some("=group".into()),
            note: Some("<img src=x onerror=alert(1)>".into()),
        };
        store.set_insight(response.response_id, &insight).unwrap();
    }
    dataset.id
}

#[test]
fn point_7_csv_export_neutralises_formula_cells() {
    let (_dir, mut store) = store();
    let dataset_id = hostile_dataset(&mut store);
    let query = ResponseQuery { dataset_id, limit: 100, ..Default::default() };
    let mut out = Vec::new();
    let written = store.export_responses(&query, ExportFormat::Csv, &mut out).unwrap();
    assert_eq!(written, HOSTILE.len() as u64);

    let mut reader = csv::Reader::from_reader(out.as_slice());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name}: {headers:?}"));
    assert!(headers.iter().any(|h| h == "'=cmd"), "a record column's name is data too: {headers:?}");
    for (row, value) in rows.iter().zip(HOSTILE) {
        let dangerous = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
        let expected = if dangerous { format!("'{value}") } else { value.to_owned() };
        for name in ["prompt", "response", "value"] {
            assert_eq!(&row[column(name)], expected, "{name} of {value:?}");
        }
        assert_eq!(&row[column("n")], "'-3.5", "OWASP: a leading minus is neutralised even on a number");
        assert_eq!(&row[column("group")], "'=group");
        assert_eq!(&row[column("tags")], "'@tag");
    }
    for cell in headers.iter().chain(rows.iter().flat_map(csv::StringRecord::iter)) {
        assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "no cell opens as a formula: {cell:?}");
    }
}

#[test]
fn point_7_markdown_export_escapes_html_and_pipes() {
    let (_dir, mut store) = store();
    let dataset_id = hostile_dataset(&mut store);
    let query = ResponseQuery { dataset_id, limit: 100, ..Default::default() };
    let mut out = Vec::new();
    store.export_responses(&query, ExportFormat::Markdown, &mut out).unwrap();
    let md = String::from_utf8(out).unwrap();

    for raw in ["<script>", "</script>", "<b>", "<img"] {
        assert!(!md.contains(raw), "{raw} reaches a Markdown renderer as HTML:\n{md}");
    }
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;a \\| b&lt;/b&gt;"), "{md}");
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    // CommonMark ends a line at LF, CR or CR LF: a cell's line break must not end its row.
    let lines: Vec<&str> = md.split(['\n', '\r']).filter(|line| !line.is_empty()).collect();
    assert_eq!(lines.len(), HOSTILE.len() + 2, "header, rule and one line per response:\n{md}");
    let columns = lines[0].matches(" |").count();
    for line in &lines {
        assert_eq!(line.replace("\\|", "").matches(" |").count(), columns, "every row has the header's cells: {line}");
    }
    let table = records::parse(Format::Markdown, md.as_bytes(), &records::Limits::default()).unwrap();
    assert_eq!(table.rows.len(), HOSTILE.len());
}

/// Moved from the shell's `export_responses`: a file export appears whole or
/// not at all, never replaces a file, and leaves no temporary file behind.
#[test]
fn file_exports_are_whole_or_absent_and_never_replace_a_file() {
    let (dir, mut store) = store();
    let dataset_id = hostile_dataset(&mut store);
    let query = ResponseQuery { dataset_id, limit: 100, ..Default::default() };
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    let path = out_dir.join("answers.json");
    assert_eq!(store.export_responses_to_file(&query, ExportFormat::Json, &path).unwrap(), HOSTILE.len() as u64);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&written).unwrap().len(), HOSTILE.len());
    assert_eq!(listing(), ["answers.json"], "no temporary file is left");

    let err = store.export_responses_to_file(&query, ExportFormat::Csv, &path).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written, "the first export is untouched");

    // A failed export (the dataset is gone) leaves nothing.
    let gone = ResponseQuery { dataset_id: 9999, limit: 100, ..Default::default() };
    let err = store.export_responses_to_file(&gone, ExportFormat::Csv, &out_dir.join("gone.csv")).unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert_eq!(listing(), ["answers.json"], "a failed export leaves no file, whole or half");

    let err = store.export_responses_to_file(&query, ExportFormat::Csv, std::path::Path::new("rel.csv")).unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err}");
}

#[test]
fn folder_exports_are_named_after_the_dataset() {
    let (dir, mut store) = store();
    let dataset_id = hostile_dataset(&mut store);
    let query = ResponseQuery { dataset_id, limit: 100, ..Default::default() };
    let folder = dir.path().join("exports");
    let (path, rows) = store.export_responses_to_folder(&query, ExportFormat::Markdown, &folder).unwrap();
    assert_eq!(rows, HOSTILE.len() as u64);
    assert!(path.starts_with(&folder) && path.exists(), "{path:?}");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("hostile-") && name.ends_with(".md"), "{name}");
}

#[test]
fn limits_hold_in_the_store() {
    let (_dir, mut store) = store();
    let too_long = "x".repeat(local_data::MAX_BODY_BYTES + 1);
    let err = store.create_template("big", &too_long).unwrap_err();
    assert!(err.to_string().contains("shorten it"), "{err}");
    let err =
        store.records(9999, &local_data::RecordQuery { offset: 0, limit: 0, filter: None, sort: None }).unwrap_err();
    assert_eq!(err.code(), "invalid_input", "the page is checked before the dataset is looked up: {err}");
    let err = store.tag_responses(&[1], &"t".repeat(101)).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}
