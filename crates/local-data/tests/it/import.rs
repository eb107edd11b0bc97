use std::io::{BufWriter, Write};

use local_data::{Error, FieldFilter, FilterOp, ImportOptions, RecordQuery};
use records::{ColumnType, Format};
use serde_json::json;

use crate::{import, store};

fn page(offset: u64, limit: u32) -> RecordQuery {
    RecordQuery { offset, limit, filter: None, sort: None }
}

#[test]
fn csv_import_types_cells_and_pages() {
    let (_dir, mut store) = store();
    let csv = "id,name,score,active,code\n1,Ada,9.5,true,007\n2,Alan,7,false,042\n3,Grace,,TRUE,100\n";
    let dataset = import(&mut store, "people", Format::Csv, csv);
    assert_eq!(dataset.row_count, 3);
    let types: Vec<_> = dataset.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
    assert_eq!(
        types,
        [
            ("id", ColumnType::Integer),
            ("name", ColumnType::String),
            ("score", ColumnType::Number),
            ("active", ColumnType::Boolean),
            ("code", ColumnType::String),
        ]
    );

    let first = store.records(dataset.id, &page(0, 2)).unwrap();
    assert_eq!(first.total, 3);
    assert_eq!(first.items.len(), 2);
    let ada = &first.items[0].fields;
    assert_eq!(ada["id"], json!(1));
    assert_eq!(ada["score"], json!(9.5));
    assert_eq!(ada["active"], json!(true));
    assert_eq!(ada["code"], json!("007"), "ids keep their leading zeros");
    assert_eq!(first.items[1].fields["score"], json!(7.0), "typed by the column's final type");

    let rest = store.records(dataset.id, &page(2, 2)).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].fields["score"], json!(null));
    assert_eq!(rest.items[0].position, 2);
}

#[test]
fn records_filter_by_field() {
    let (_dir, mut store) = store();
    let dataset =
        import(&mut store, "cities", Format::Csv, "city,country\nParis,France\nLyon,France\nBerlin,Germany\n");
    let filtered = |column: &str, op, value: &str| {
        let query = RecordQuery {
            offset: 0,
            limit: 10,
            filter: Some(FieldFilter { column: column.into(), op, value: value.into() }),
            sort: None,
        };
        store.records(dataset.id, &query)
    };
    let france = filtered("country", FilterOp::Equals, "France").unwrap();
    assert_eq!(france.total, 2);
    assert_eq!(france.items[1].fields["city"], json!("Lyon"));
    let contains = filtered("city", FilterOp::Contains, "ER").unwrap();
    assert_eq!(contains.total, 1, "case-insensitive contains");
    assert_eq!(contains.items[0].fields["city"], json!("Berlin"));
    let err = filtered("population", FilterOp::Equals, "1").unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("no column `population`"), "{err}");

    let too_big = store.records(dataset.id, &page(0, 5000)).unwrap_err();
    assert!(too_big.to_string().contains("1 to 1000"), "{too_big}");
}

#[test]
fn every_format_imports() {
    let (_dir, mut store) = store();
    let cases = [
        (Format::Json, r#"[{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]"#),
        (Format::JsonLines, "{\"name\": \"Ada\", \"age\": 36}\n{\"name\": \"Alan\", \"age\": 41}\n"),
        (Format::Yaml, "- name: Ada\n  age: 36\n- name: Alan\n  age: 41\n"),
        (Format::Markdown, "# People\n\n| name | age |\n|---|---|\n| Ada | 36 |\n| Alan | 41 |\n"),
        (Format::Csv, "name,age\nAda,36\nAlan,41\n"),
    ];
    for (format, text) in cases {
        let dataset = import(&mut store, &format!("people {format}"), format, text);
        assert_eq!(dataset.row_count, 2, "{format}");
        assert_eq!(dataset.column_names().collect::<Vec<_>>(), ["name", "age"], "{format}");
        let rows = store.records(dataset.id, &page(0, 10)).unwrap();
        assert_eq!(rows.items[1].fields["name"], json!("Alan"), "{format}");
        assert_eq!(rows.items[1].fields["age"], json!(41), "{format}");
    }
    assert_eq!(store.datasets().unwrap().len(), 5);
}

#[test]
fn json_lines_rows_missing_a_later_column_read_as_null() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "growing", Format::JsonLines, "{\"a\": 1}\n{\"a\": 2, \"b\": \"x\"}\n");
    assert_eq!(dataset.column_names().collect::<Vec<_>>(), ["a", "b"]);
    let rows = store.records(dataset.id, &page(0, 10)).unwrap();
    assert_eq!(rows.items[0].fields["b"], json!(null));
    assert_eq!(rows.items[1].fields["b"], json!("x"));
}

#[test]
fn malformed_input_names_line_and_column_and_keeps_nothing() {
    let (_dir, mut store) = store();
    let cases = [
        (Format::Csv, "a,b\n1,2\n3,\"four\n5,6\n", (3, 3)),
        (Format::JsonLines, "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3,}\n", (3, 9)),
        (Format::Json, "[{\"a\": 1},\n {\"a\": }]", (2, 8)),
        (Format::Yaml, "- a: 1\n- a: \"unterminated\n", (3, 1)),
    ];
    for (format, text, expected) in cases {
        let err = store.import(text.as_bytes(), &ImportOptions::new("broken", format), |_| {}).unwrap_err();
        let Error::Parse(parse) = &err else {
            panic!("{format}: expected a parse error, got {err:?}");
        };
        assert_eq!(parse.location(), Some(expected), "{format}: {err}");
        assert!(
            err.to_string().contains(&format!("line {}, column {}", expected.0, expected.1)),
            "{format}: the message names the place: {err}"
        );
        assert_eq!(err.code(), "parse_error");
    }
    assert!(store.datasets().unwrap().is_empty(), "a failed import leaves no dataset");
}

#[test]
fn markdown_without_a_table_is_refused_with_a_position() {
    let (_dir, mut store) = store();
    let err = store
        .import("# Notes\n\nJust prose, no table.\n".as_bytes(), &ImportOptions::new("md", Format::Markdown), |_| {})
        .unwrap_err();
    match &err {
        Error::Parse(parse) => assert_eq!(parse.location(), Some((1, 1)), "{err}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn names_must_be_unique_and_not_blank() {
    let (_dir, mut store) = store();
    import(&mut store, "one", Format::Csv, "a\n1\n");
    let taken = store.import("a\n1\n".as_bytes(), &ImportOptions::new(" one ", Format::Csv), |_| {}).unwrap_err();
    assert_eq!(taken.code(), "name_taken", "{taken}");
    let blank = store.import("a\n1\n".as_bytes(), &ImportOptions::new("  ", Format::Csv), |_| {}).unwrap_err();
    assert_eq!(blank.code(), "invalid_input", "{blank}");
}

#[test]
fn record_fields_can_be_edited() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "d", Format::Csv, "name,age\nAda,36\n");
    let id = store.records(dataset.id, &page(0, 1)).unwrap().items[0].id;
    let edited = store.update_record_field(id, "name", json!("Ada Lovelace")).unwrap();
    assert_eq!(edited.fields["name"], json!("Ada Lovelace"));
    assert_eq!(store.record(id).unwrap().fields["age"], json!(36));
    assert_eq!(store.update_record_field(id, "nope", json!(1)).unwrap_err().code(), "invalid_input");
    store.delete_dataset(dataset.id).unwrap();
    assert_eq!(store.record(id).unwrap_err().code(), "not_found", "records go with their dataset");
}

const ROWS: u64 = 100_000;

/// Writes a ~20 MB CSV of `ROWS` rows.
fn write_big_csv(path: &std::path::Path) -> u64 {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,name,score,active,comment,city").unwrap();
    for i in 0..ROWS {
        writeln!(
            out,
            "{i},name {i},{}.5,{},\"a comment, with a comma and \"\"quotes\"\" about row {i} padded to size....................................................................................................................\",City {}",
            i % 100,
            i % 2 == 0,
            i % 50
        )
        .unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn a_100k_row_csv_imports_in_bounded_memory() {
    let (dir, mut store) = store();
    let path = dir.path().join("big.csv");
    let size = write_big_csv(&path);
    assert!(size > 20_000_000, "the file should be over 20 MB, was {size}");

    let mut reports = 0;
    let mut dataset = None;
    let allocations = allocation_counter::measure(|| {
        let file = std::fs::File::open(&path).unwrap();
        dataset = Some(store.import(file, &ImportOptions::new("big", Format::Csv), |_| reports += 1).unwrap());
    });
    let dataset = dataset.unwrap();
    assert_eq!(dataset.row_count, ROWS);
    assert!(reports >= 20, "progress was reported as it went ({reports})");
    // What this thread held at once on the Rust side (SQLite's own page cache
    // is bounded by its cache_size and allocated outside Rust's allocator): a
    // few buffers and one row, far below the 20 MB file.
    assert!(
        allocations.bytes_max < 4 * 1024 * 1024,
        "peak Rust heap while importing was {} bytes",
        allocations.bytes_max
    );
    let last = store.records(dataset.id, &page(ROWS - 1, 1)).unwrap();
    assert_eq!(last.total, ROWS);
    assert_eq!(last.items[0].fields["id"], json!(ROWS - 1));
    assert_eq!(last.items[0].fields["score"], json!(99.5));
}

/// Every record of a dataset, as field maps.
fn fields(store: &local_data::Store, id: i64) -> Vec<serde_json::Map<String, serde_json::Value>> {
    store.records(id, &page(0, 10)).unwrap().items.into_iter().map(|r| r.fields).collect()
}

#[test]
fn a_table_parsed_elsewhere_is_stored_like_an_import() {
    let (_dir, mut store) = store();
    let csv = "id,name,code\n1,Ada,007\n2,Alan,\n";
    let table = records::parse(Format::Csv, csv.as_bytes(), &records::Limits::default()).unwrap();
    let stored = store.import_table("from-service", Format::Csv, &table).unwrap();
    let streamed = import(&mut store, "streamed", Format::Csv, csv);
    assert_eq!((stored.row_count, stored.format), (2, Format::Csv));
    assert_eq!(stored.columns, streamed.columns);
    assert_eq!(fields(&store, stored.id), fields(&store, streamed.id), "typed cells read back the same either way");
    assert_eq!(fields(&store, stored.id)[0]["code"], json!("007"));

    let json = r#"[{"city": "Paris", "people": 2100000}, {"city": "Lyon"}]"#;
    let table = records::parse(Format::Json, json.as_bytes(), &records::Limits::default()).unwrap();
    let cities = store.import_table("cities", Format::Json, &table).unwrap();
    assert_eq!(cities.row_count, 2);
    let rows = fields(&store, cities.id);
    assert_eq!(rows[0]["people"], json!(2100000));
    assert_eq!(rows[1]["people"], json!(null));
}

#[test]
fn a_stored_table_is_refused_whole_on_a_taken_name_or_a_broken_shape() {
    let (_dir, mut store) = store();
    let mut table = records::parse(Format::Json, br#"[{"a": 1}]"#, &records::Limits::default()).unwrap();
    store.import_table("taken", Format::Json, &table).unwrap();
    let err = store.import_table("taken", Format::Json, &table).unwrap_err();
    assert!(matches!(err, Error::NameTaken { .. }), "{err}");
    let err = store.import_table("  ", Format::Json, &table).unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");

    table.types.clear();
    let err = store.import_table("broken", Format::Json, &table).unwrap_err();
    assert!(err.to_string().contains("column types"), "{err}");
    let names: Vec<_> = store.datasets().unwrap().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["taken"], "nothing of the refused tables is kept");
}

#[test]
fn a_deleted_dataset_waits_in_the_trash_until_purged() {
    use std::time::Duration;
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "d", Format::Csv, "name\nAda\nAlan\n");
    let record = store.records(dataset.id, &page(0, 1)).unwrap().items[0].id;

    store.delete_dataset(dataset.id).unwrap();
    assert!(store.datasets().unwrap().is_empty(), "hidden from the list");
    assert_eq!(store.dataset(dataset.id).unwrap_err().code(), "not_found");
    assert_eq!(store.records(dataset.id, &page(0, 1)).unwrap_err().code(), "not_found");
    assert_eq!(store.usage().unwrap().datasets, 0);
    assert_eq!(store.delete_dataset(dataset.id).unwrap_err().code(), "not_found", "deleted once");

    assert_eq!(store.purge_deleted(Duration::from_secs(3600)).unwrap(), 0, "too recent to purge");
    let restored = store.restore_dataset(dataset.id).unwrap();
    assert_eq!((restored.name.as_str(), restored.row_count), ("d", 2));
    assert_eq!(store.record(record).unwrap().fields["name"], json!("Ada"), "restored whole");
    assert_eq!(store.restore_dataset(dataset.id).unwrap_err().code(), "not_found", "not in the trash");

    store.delete_dataset(dataset.id).unwrap();
    assert_eq!(store.purge_deleted(Duration::ZERO).unwrap(), 1);
    assert_eq!(store.restore_dataset(dataset.id).unwrap_err().code(), "not_found", "gone for good");
    assert_eq!(store.record(record).unwrap_err().code(), "not_found", "records go with their dataset");
}

#[test]
fn a_dataset_in_the_trash_gives_its_name_up_to_a_new_import() {
    let (_dir, mut store) = store();
    let old = import(&mut store, "sales", Format::Csv, "a\n1\n");
    store.delete_dataset(old.id).unwrap();
    let new = import(&mut store, "sales", Format::Csv, "a\n2\n");
    assert_eq!(store.restore_dataset(old.id).unwrap_err().code(), "not_found", "replaced, so not restorable");
    let names: Vec<_> = store.datasets().unwrap().into_iter().map(|d| (d.id, d.name)).collect();
    assert_eq!(names, [(new.id, "sales".to_owned())]);
    assert_eq!(store.records(new.id, &page(0, 5)).unwrap().items[0].fields["a"], json!(2), "the new one");
}
