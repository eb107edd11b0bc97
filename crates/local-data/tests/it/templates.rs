use local_data::{Error, ModelTarget, RecordQuery};
use records::Format;

use crate::{import, store};

fn first_record(store: &local_data::Store, dataset_id: i64) -> i64 {
    let query = RecordQuery { offset: 0, limit: 1, filter: None, sort: None };
    store.records(dataset_id, &query).unwrap().items[0].id
}

#[test]
fn missing_fields_are_listed_per_template_before_any_request() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "reviews", Format::Csv, "title,body\nGood,Loved it\n");
    let ok = store.create_template("ok", "Summarise {{ title }}: {{ body | upper }}").unwrap();
    let bad = store
        .create_template("bad", "{% for w in range(2) %}{{ w }}{% endfor %} {{ summary }} {{ rating }} {{ title }}")
        .unwrap();

    let check = store.check_template(ok.current.id, dataset.id).unwrap();
    assert!(check.missing_fields.is_empty(), "{check:?}");
    assert_eq!(check.warning, None);

    let check = store.check_template(bad.current.id, dataset.id).unwrap();
    assert_eq!(check.missing_fields, ["rating", "summary"], "globals and loop variables are not fields");
    let warning = check.warning.unwrap();
    assert!(warning.contains("rating, summary"), "{warning}");

    let refused =
        store.generate_requests(dataset.id, bad.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap_err();
    assert!(matches!(&refused, Error::MissingFields { fields } if fields == &["rating", "summary"]), "{refused:?}");
    assert_eq!(refused.code(), "missing_fields");
    let record = first_record(&store, dataset.id);
    assert_eq!(store.preview(bad.current.id, record).unwrap_err().code(), "missing_fields");
    let page = local_data::RequestQuery { dataset_id: dataset.id, limit: 10, ..Default::default() };
    assert_eq!(store.requests(&page).unwrap().total, 0, "nothing was generated");
}

#[test]
fn preview_renders_one_record_and_reaches_odd_column_names() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "people", Format::Csv, "first name,age\nAda,36\n");
    let template =
        store.create_template("t", "{{ record[\"first name\"] }} is {{ age + 1 }} next year. <b>&</b>").unwrap();
    let record = first_record(&store, dataset.id);
    assert_eq!(
        store.preview(template.current.id, record).unwrap(),
        "Ada is 37 next year. <b>&</b>",
        "typed values, and no HTML escaping in prompts"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let (_dir, mut store) = store();
    let err = store.create_template("broken", "line one\n{{ title ").unwrap_err();
    match &err {
        Error::TemplateSyntax { line, .. } => assert_eq!(*line, 2, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(store.templates().unwrap().is_empty());
    assert_eq!(store.create_template("empty", "  ").unwrap_err().code(), "invalid_input");
}

#[test]
fn versions_are_immutable_and_the_current_one_can_move() {
    let (dir, mut store) = store();
    let template = store.create_template("t", "v1 {{ a }}").unwrap();
    assert_eq!(template.current.version, 1);
    let v2 = store.add_template_version(template.id, "v2 {{ a }}").unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(store.template(template.id).unwrap().current.id, v2.id);
    let versions = store.template_versions(template.id).unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(versions[1].body, "v1 {{ a }}");

    let back = store.set_current_version(template.id, template.current.id).unwrap();
    assert_eq!(back.current.body, "v1 {{ a }}");
    assert_eq!(back.version_count, 2);

    let other = store.create_template("other", "x").unwrap();
    assert_eq!(
        store.set_current_version(other.id, v2.id).unwrap_err().code(),
        "invalid_input",
        "a template cannot point at another's version"
    );

    // Even a direct write to the file cannot change a version.
    let conn = rusqlite::Connection::open(dir.path().join("data.sqlite")).unwrap();
    let err = conn.execute("UPDATE template_versions SET body = 'changed' WHERE id = ?1", [v2.id]).unwrap_err();
    assert!(err.to_string().contains("immutable"), "{err}");
    assert_eq!(store.template_version(v2.id).unwrap().body, "v2 {{ a }}");
}

#[test]
fn an_unsaved_body_is_checked_and_previewed_like_a_saved_one() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "books", Format::Csv, "title,author\nDune,Herbert\n");
    let record = first_record(&store, dataset.id);

    let check = store.check_body("{{ title }} by {{ publisher }}", dataset.id).unwrap();
    assert_eq!(check.missing_fields, ["publisher"]);
    assert!(check.warning.unwrap().contains("publisher"));
    assert_eq!(store.preview_body("{{ title }} by {{ publisher }}", record).unwrap_err().code(), "missing_fields");

    assert!(store.check_body("{{ title }} by {{ author }}", dataset.id).unwrap().missing_fields.is_empty());
    assert_eq!(store.preview_body("{{ title }} by {{ author }}", record).unwrap(), "Dune by Herbert");
    assert_eq!(store.check_body("{{ title", dataset.id).unwrap_err().code(), "template_syntax");
    assert_eq!(store.preview_body("  ", record).unwrap_err().code(), "invalid_input");
    assert_eq!(store.templates().unwrap().len(), 0, "checking and previewing save nothing");
}

#[test]
fn usage_counts_what_is_stored() {
    let (_dir, mut store) = store();
    assert_eq!(store.usage().unwrap(), local_data::Usage::default());
    let dataset = import(&mut store, "books", Format::Csv, "title\nDune\nEmma\n");
    let template = store.create_template("t", "{{ title }}").unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    let usage = store.usage().unwrap();
    assert_eq!((usage.datasets, usage.records, usage.templates, usage.requests), (1, 2, 1, 2));
    assert_eq!((usage.approved_requests, usage.runs, usage.responses), (0, 0, 0));
}

/// Runs `work` on its own thread and fails the test if it has not finished
/// by `deadline` (the thread of a hung render is left behind; the test
/// process ends with the suite).
fn finishes_within<T: Send + 'static>(deadline: std::time::Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(deadline).expect("the template was still rendering at the deadline: it has no execution budget")
}

/// Issue 20 point 13: nested loops (10^10 iterations) must exhaust a render
/// budget and fail with an error naming the template, in preview and when
/// generating requests, instead of hanging the app.
#[test]
fn point_13_nested_loops_exhaust_the_template_budget() {
    const LOOPS: &str = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ title }}";
    let (preview, generated) = finishes_within(std::time::Duration::from_secs(60), || {
        let (_dir, mut store) = store();
        let dataset = import(&mut store, "books", Format::Csv, "title\nDune\n");
        let template = store.create_template("endless loops", LOOPS).unwrap();
        let record = first_record(&store, dataset.id);
        let preview = store.preview(template.current.id, record);
        let target = [ModelTarget::new("openai", "gpt-4o-mini")];
        let generated = store.generate_requests(dataset.id, template.current.id, &target);
        (preview, generated)
    });
    for err in [preview.unwrap_err(), generated.unwrap_err()] {
        assert_eq!(err.code(), "template_over_budget", "{err}");
        assert!(err.to_string().contains("`endless loops`"), "the error names the template: {err}");
    }
}
