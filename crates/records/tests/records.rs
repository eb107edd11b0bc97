//! Import of every format, malformed input with positions, type inference,
//! limits, and a 100k-row CSV streamed in bounded memory.

use records::{ColumnType, Format, Limits, ParseError, Table};
use serde_json::{Value, json};

fn parse(format: Format, input: &str) -> Table {
    records::parse(format, input.as_bytes(), &Limits::default())
        .unwrap_or_else(|e| panic!("{format} input should parse: {e}\n{input}"))
}

/// Asserts a malformed-input error at `(line, column)` whose message mentions `needle`.
fn check_error(format: Format, input: &str, line: u64, column: u64, needle: &str) {
    let err = records::parse(format, input.as_bytes(), &Limits::default()).expect_err("malformed input must not parse");
    assert_eq!(err.format(), format);
    assert_eq!(err.location(), Some((line, column)), "position of: {err}");
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("line {line}, column {column}: ")), "{shown}");
    assert!(shown.contains(needle), "{shown:?} should mention {needle:?}");
}

mod csv {
    use super::*;

    #[test]
    fn header_rows_and_types() {
        let table = parse(
            Format::Csv,
            "name,age,score,member,zip,notes\n\
             Ada,36,9.5,true,01234,\"likes \"\"maths\"\", engines\"\n\
             Alan,41,7,FALSE,12345,\n",
        );
        assert_eq!(table.columns, ["name", "age", "score", "member", "zip", "notes"]);
        use ColumnType::*;
        assert_eq!(table.types, [String, Integer, Number, Boolean, String, String]);
        assert_eq!(
            table.rows[0],
            [json!("Ada"), json!(36), json!(9.5), json!(true), json!("01234"), json!("likes \"maths\", engines")]
        );
        // 7 in a Number column is a number; 12345 in a String column keeps its text.
        assert_eq!(table.rows[1], [json!("Alan"), json!(41), json!(7.0), json!(false), json!("12345"), Value::Null]);
        assert_eq!(table.record(0).unwrap()["age"], json!(36));
    }

    #[test]
    fn quoted_newlines_crlf_bom_and_blank_header_names() {
        let table = parse(Format::Csv, "\u{feff}id,,id\r\n1,\"two\r\nlines\",3\r\n\r\n4,5,6\r\n");
        assert_eq!(table.columns, ["id", "column_2", "id_2"], "BOM dropped, blank and repeated names made unique");
        assert_eq!(table.len(), 2, "the blank line is not a row");
        assert_eq!(table.rows[0][1], json!("two\r\nlines"));
    }

    #[test]
    fn empty_and_header_only() {
        assert_eq!(parse(Format::Csv, ""), Table::default());
        let table = parse(Format::Csv, "a,b\n");
        assert_eq!(table.columns, ["a", "b"]);
        assert_eq!(table.types, [ColumnType::Empty, ColumnType::Empty]);
        assert!(table.is_empty());
    }

    #[test]
    fn unterminated_quote_points_at_the_quote() {
        check_error(Format::Csv, "a,b\n1,2\n3,\"oops\n4,5\n", 3, 3, "unterminated quoted field");
        check_error(Format::Csv, "name,note\nÉmile,\"open", 2, 7, "unterminated quoted field");
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        check_error(Format::Csv, "a,b\n1,2\n3\n", 3, 1, "has 1 fields but the header has 2");
        check_error(Format::Csv, "a,b\n1,2,3\n", 2, 1, "has 3 fields");
    }

    #[test]
    fn invalid_utf8_names_the_line_and_field() {
        let err = records::parse(Format::Csv, b"a,b\n1,\xff\n", &Limits::default()).unwrap_err();
        assert_eq!(err.location(), Some((2, 1)));
        assert!(err.to_string().contains("field 2 of this row is not valid UTF-8"), "{err}");
    }
}

mod json {
    use super::*;

    #[test]
    fn array_of_objects_keeps_key_order_and_unions_columns() {
        let table = parse(
            Format::Json,
            r#"[{"zeta": 1, "alpha": "a", "tags": ["x"]},
                {"alpha": "b", "mid": 2.5, "zeta": null}]"#,
        );
        assert_eq!(table.columns, ["zeta", "alpha", "tags", "mid"], "first-seen order, not sorted");
        use ColumnType::*;
        assert_eq!(table.types, [Integer, String, Nested, Number]);
        assert_eq!(table.rows[0], [json!(1), json!("a"), json!(["x"]), Value::Null]);
        assert_eq!(table.rows[1], [Value::Null, json!("b"), Value::Null, json!(2.5)]);
    }

    #[test]
    fn strings_that_look_like_numbers_stay_strings() {
        let table = parse(Format::Json, r#"[{"id": "42"}, {"id": 7}]"#);
        assert_eq!(table.types, [ColumnType::String], "JSON says what a value is");
        assert_eq!(table.rows[0][0], json!("42"));
    }

    #[test]
    fn malformed_positions() {
        check_error(Format::Json, "[{\"a\": 1},\n {\"a\": 2,}]", 2, 10, "trailing comma");
        check_error(Format::Json, "[{\"a\": 1}, 3]", 1, 12, "expected a record");
        check_error(Format::Json, "{\"a\": 1}", 1, 1, "array of objects");
        check_error(Format::Json, "[{\"a\": 1}\n", 2, 1, "ends early");
        check_error(Format::Json, "[] []", 1, 4, "trailing characters");
    }
}

mod jsonl {
    use super::*;

    #[test]
    fn one_object_per_line_with_blank_lines() {
        let table = parse(Format::JsonLines, "{\"a\": 1}\n\n{\"b\": true, \"a\": 2}\r\n{\"a\": 3.5}");
        assert_eq!(table.columns, ["a", "b"]);
        assert_eq!(table.types, [ColumnType::Number, ColumnType::Boolean]);
        assert_eq!(table.rows, [[json!(1), Value::Null], [json!(2), json!(true)], [json!(3.5), Value::Null]]);
    }

    #[test]
    fn malformed_line_is_named() {
        check_error(Format::JsonLines, "{\"a\": 1}\n\n{\"a\": }\n", 3, 7, "expected value");
        check_error(Format::JsonLines, "{\"a\": 1}\n[1, 2]\n", 2, 1, "one JSON object");
        check_error(Format::JsonLines, "{\"a\": 1} {\"a\": 2}\n", 1, 10, "trailing characters");
        check_error(Format::JsonLines, "{\"a\": \n1}\n", 1, 6, "complete object on one line");
    }

    #[test]
    fn streaming_rows_grow_columns() {
        let input = "{\"a\": 1}\n{\"b\": 2}\n";
        let mut rows = records::RowReader::json_lines(input.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(rows.next_row().unwrap().unwrap(), [json!(1)]);
        assert_eq!(rows.next_row().unwrap().unwrap(), [Value::Null, json!(2)]);
        assert!(rows.next_row().unwrap().is_none());
        assert_eq!(rows.columns(), ["a", "b"]);
        assert_eq!(rows.rows_read(), 2);
        assert_eq!(rows.bytes_read(), input.len() as u64);
    }
}

mod yaml {
    use super::*;

    #[test]
    fn sequence_of_mappings() {
        let table = parse(
            Format::Yaml,
            "# people\n- name: Ada\n  born: 1815\n  tags: [maths]\n- name: Alan\n  born: 1912\n  alive: false\n  1: one\n",
        );
        assert_eq!(table.columns, ["name", "born", "tags", "alive", "1"]);
        use ColumnType::*;
        assert_eq!(table.types, [String, Integer, Nested, Boolean, String]);
        assert_eq!(table.rows[1][3], json!(false));
    }

    #[test]
    fn empty_document_is_an_empty_table() {
        assert_eq!(parse(Format::Yaml, ""), Table::default());
        assert_eq!(parse(Format::Yaml, "# nothing yet\n"), Table::default());
    }

    #[test]
    fn malformed_positions() {
        check_error(Format::Yaml, "- name: Ada\n  age: 36\n - name: Bob\n", 3, 2, "did not find expected");
        check_error(Format::Yaml, "name: Ada\n", 1, 1, "list of mappings");
        check_error(Format::Yaml, "- name: Ada\n- 42\n", 2, 3, "expected a record");
        check_error(
            Format::Yaml,
            "- a: \"open\n",
            2,
            1,
            "found unexpected end of stream, while scanning a quoted scalar (line 1, column 6)",
        );
    }
}

mod markdown {
    use super::*;

    const DOC: &str = "---\ntitle: Survey\nyear: 2024\n---\n# Results\n\n\
                       | Name | Age | Note |\n|---|--:|---|\n| **Ada** | 36 | likes `maths` |\n| Alan | | a \\| b<br>c |\n\n\
                       Some prose, then a rule:\n\n---\n\n| Name | City |\n|---|---|\n| Grace | NYC |\n";

    #[test]
    fn tables_and_front_matter() {
        let table = parse(Format::Markdown, DOC);
        assert_eq!(table.columns, ["Name", "Age", "Note", "City"], "tables merge by column name");
        use ColumnType::*;
        assert_eq!(table.types, [String, Integer, String, String]);
        assert_eq!(table.rows[0], [json!("Ada"), json!(36), json!("likes maths"), Value::Null]);
        assert_eq!(table.rows[1], [json!("Alan"), Value::Null, json!("a | b c"), Value::Null]);
        assert_eq!(table.rows[2], [json!("Grace"), Value::Null, Value::Null, json!("NYC")]);
        let front = table.front_matter.expect("front matter is returned");
        assert_eq!(front["title"], json!("Survey"));
        assert_eq!(front["year"], json!(2024));
    }

    #[test]
    fn front_matter_alone_is_one_record() {
        let table = parse(Format::Markdown, "---\nzeta: 1\nalpha: two\n---\nJust prose.\n");
        assert_eq!(table.columns, ["zeta", "alpha"]);
        assert_eq!(table.rows, [[json!(1), json!("two")]]);
    }

    #[test]
    fn malformed_positions() {
        check_error(Format::Markdown, "---\ntitle: ok\nbad: [1, 2\n---\n| a |\n|---|\n| 1 |\n", 4, 1, "front matter");
        check_error(Format::Markdown, "# Notes\n\nNo table here.\n", 1, 1, "found no pipe table");
        check_error(
            Format::Markdown,
            "---\n- a\n- b\n---\n| x |\n|---|\n| 1 |\n",
            2,
            1,
            "front matter must be YAML field: value",
        );
    }
}

mod types {
    use super::*;

    #[test]
    fn columns_widen_across_rows() {
        let table = parse(Format::Csv, "mixed,num,flag,blank\n1,1,true,\nabc,2.5,false,\n,,,\n");
        use ColumnType::*;
        assert_eq!(table.types, [String, Number, Boolean, Empty]);
        assert_eq!(table.rows[0][0], json!("1"), "a String column keeps every cell as text");
        assert_eq!(table.rows[0][1], json!(1.0), "a Number column turns 1 into 1.0");
        assert_eq!(table.rows[2], [Value::Null, Value::Null, Value::Null, Value::Null]);
    }

    #[test]
    fn serialized_shape_is_what_the_service_answers() {
        let table = parse(Format::Csv, "a,b\n1,x\n");
        assert_eq!(
            serde_json::to_value(&table).unwrap(),
            json!({ "columns": ["a", "b"], "types": ["integer", "string"], "rows": [[1, "x"]] })
        );
    }

    #[test]
    fn format_ids_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.id().parse::<Format>().unwrap(), format);
            assert_eq!(serde_json::to_value(format).unwrap(), json!(format.id()));
        }
        assert_eq!("yml".parse::<Format>().unwrap(), Format::Yaml);
        assert!("xlsx".parse::<Format>().unwrap_err().to_string().contains("expected one of"));
    }
}

mod limits {
    use super::*;

    #[test]
    fn oversized_input_is_refused_in_every_format() {
        let limits = Limits { max_bytes: 16, ..Limits::default() };
        let big = "a,b\n1,2\n3,4\n5,6\n7,8\n";
        for format in Format::ALL {
            let err = records::parse(format, big.as_bytes(), &limits).unwrap_err();
            assert!(matches!(err, ParseError::TooLarge { limit_bytes: 16, .. }), "{format}: {err}");
            assert!(err.to_string().contains("larger than the import limit of 16 bytes"), "{err}");
        }
        // Streaming notices while reading, without being told the size first.
        let err = records::read(Format::Csv, big.repeat(1000).as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge { .. }), "{err}");
        let err = records::read(Format::Yaml, big.as_bytes(), &limits).unwrap_err();
        assert!(matches!(err, ParseError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn too_many_columns_is_refused_with_a_position() {
        let limits = Limits { max_columns: 3, ..Limits::default() };
        let err = records::parse(Format::Csv, b"a,b,c,d\n1,2,3,4\n", &limits).unwrap_err();
        assert_eq!(err.location(), Some((1, 1)));
        assert!(
            err.to_string().contains("header field 4: this brings the number of columns past the limit of 3"),
            "{err}"
        );
        let err = records::parse(Format::JsonLines, b"{\"a\":1}\n{\"b\":1,\"c\":1,\"d\":1}\n", &limits).unwrap_err();
        assert_eq!(err.location().map(|(line, _)| line), Some(2));
    }

    #[test]
    fn invalid_utf8_in_whole_documents() {
        let err = records::parse(Format::Yaml, b"- a: 1\n- b: \xff\n", &Limits::default()).unwrap_err();
        assert_eq!(err.location(), Some((2, 6)));
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn read_and_parse_agree() {
        for (format, input) in [
            (Format::Csv, "name,n\nx,1\ny,2\n"),
            (Format::JsonLines, "{\"n\": 1}\n{\"n\": 2}\n"),
            (Format::Yaml, "- a: 1\n"),
            (Format::Markdown, "| a |\n|---|\n| 1 |\n"),
        ] {
            let read = records::read(format, input.as_bytes(), &Limits::default()).unwrap();
            assert_eq!(read, parse(format, input), "{format}");
            assert_eq!(read.len(), if format == Format::Yaml || format == Format::Markdown { 1 } else { 2 });
        }
    }
}

mod streaming {
    use std::io::{self, Read};

    use super::*;

    const ROWS: u64 = 100_000;
    const PADDING: usize = 150;

    /// Writes a ~20 MB CSV on the fly, so the test itself never holds the file.
    struct GeneratedCsv {
        next_row: u64,
        line: Vec<u8>,
        at: usize,
        padding: String,
    }

    impl GeneratedCsv {
        fn new() -> Self {
            GeneratedCsv {
                next_row: 0,
                line: b"id,name,score,active,note,padding\n".to_vec(),
                at: 0,
                padding: "x".repeat(PADDING),
            }
        }
    }

    impl Read for GeneratedCsv {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.line.len() {
                if self.next_row == ROWS {
                    return Ok(0);
                }
                let i = self.next_row;
                self.next_row += 1;
                self.line.clear();
                use std::io::Write;
                writeln!(
                    self.line,
                    "{i},name {i},{}.5,{},\"note, with \"\"quotes\"\" {i}\",{}",
                    i % 100,
                    i.is_multiple_of(2),
                    self.padding
                )?;
                self.at = 0;
            }
            let n = buf.len().min(self.line.len() - self.at);
            buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn hundred_thousand_rows_in_bounded_memory() {
        let mut rows_seen = 0u64;
        let mut bytes = 0u64;
        let mut types = Vec::new();
        let mut last = None;
        let allocations = allocation_counter::measure(|| {
            let mut rows = records::RowReader::csv(GeneratedCsv::new(), &Limits::default()).unwrap();
            while let Some(row) = rows.next_row().unwrap() {
                rows_seen += 1;
                last = Some(row);
            }
            bytes = rows.bytes_read();
            types = rows.types().to_vec();
        });
        assert_eq!(rows_seen, ROWS);
        assert!(bytes > 20_000_000, "the generated file should be about 20 MB, was {bytes} bytes");
        use ColumnType::*;
        assert_eq!(types, [Integer, String, Number, Boolean, String, String]);
        assert_eq!(last.unwrap()[4], json!("note, with \"quotes\" 99999"));
        // Everything this thread held at once while streaming 20 MB: buffers
        // and one row, nowhere near the file's size.
        assert!(allocations.bytes_max < 1024 * 1024, "peak memory while streaming was {} bytes", allocations.bytes_max);
    }
}
