//! The records import picks its parser from the stack's health: the parsers
//! service through the gateway while the stack is up, the in-process parser
//! when it is down; a malformed document names line and column either way.
#![allow(clippy::unwrap_used)] // test-only code

use serde_json::json;
use stack::Stack;
use stack::import::{Document, ImportError, Page, Parser, import_records};

use crate::harness::{Kind, TestStack, engine_host, engine_lock, runtime};

const MALFORMED: &str = "[{\"city\": \"Paris\"},\n {\"city\": ]";

fn import(stack: Option<&Stack>, text: &str) -> Result<stack::import::ImportPreview, ImportError> {
    let document = Document::Text(text.to_owned());
    runtime().block_on(import_records(stack, records::Format::Json, document, Page::default()))
}

fn assert_names_line_and_column(err: ImportError, expected: Parser) {
    match &err {
        ImportError::Parse { parser, line, column, message, .. } => {
            assert_eq!(*parser, expected, "{err}");
            assert_eq!(*line, Some(2), "{err}");
            assert!(column.is_some_and(|c| c > 1), "{err}");
            assert!(message.contains("line 2, column"), "{message}");
        }
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn import_uses_the_service_while_the_stack_is_up_and_the_in_process_parser_after_down() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _turn = engine_lock();
    let test_stack = TestStack::new(&host, "import");
    let stack = Stack::new(test_stack.engine(), test_stack.definition.clone());

    let down = import(Some(&stack), r#"[{"city":"Paris"}]"#).unwrap();
    assert_eq!(down.parser, Parser::InProcess, "nothing is running yet");
    assert!(down.parser_reason.as_deref().is_some_and(|r| r.contains("not running")), "{down:?}");

    test_stack.json(&["stack", "up"], 0);
    let up = import(Some(&stack), r#"[{"city":"Paris","people":2100000}]"#).unwrap();
    assert_eq!(up.parser, Parser::Service, "{up:?}");
    assert_eq!(up.parser_reason, None);
    assert_eq!(serde_json::to_value(&up.rows).unwrap(), json!([["Paris", 2100000]]));
    assert_eq!((up.total_rows, up.total_columns), (1, 2));
    assert_names_line_and_column(import(Some(&stack), MALFORMED).unwrap_err(), Parser::Service);

    test_stack.json(&["stack", "down"], 0);
    let after = import(Some(&stack), r#"[{"city":"Paris","people":2100000}]"#).unwrap();
    assert_eq!(after.parser, Parser::InProcess);
    assert_eq!((after.columns, after.types, after.rows), (up.columns, up.types, up.rows), "both parsers agree");
    assert_names_line_and_column(import(Some(&stack), MALFORMED).unwrap_err(), Parser::InProcess);
}
