//! Repeat runs and their stability (issue 17, point 6): each repeat of a
//! prompt is a request of its own with one answer, and a run's stability is
//! counted over all its records.

use local_data::{Answer, Error, Failure, ModelTarget, NewRun, RequestQuery, RequestStatus, StabilityQuery, Store};
use records::Format;

use crate::{import, store};

const BOOKS: &str = "title\nDune\nEmma\nMiddlemarch\nUlysses\nWatt\n";

fn answer(text: &str) -> Answer {
    Answer {
        text: text.into(),
        model: "gpt-4o-mini".into(),
        finish_reason: Some("stop".into()),
        input_tokens: Some(3),
        output_tokens: Some(2),
    }
}

/// Sends every request of the run, answering each with `reply(prompt, sample)`
/// (`None`: a failure). Returns the run's id.
fn send(store: &mut Store, run_id: i64, reply: impl Fn(&str, u32) -> Option<String>) {
    while let Some(claimed) = store.claim_next(run_id).unwrap() {
        match reply(&claimed.prompt, claimed.sample) {
            Some(text) => assert!(store.record_answer(&claimed, &answer(&text)).unwrap()),
            None => {
                let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
                store.record_failure(&claimed, &failure).unwrap();
            }
        }
    }
}

fn stability(run_id: i64, limit: u32) -> StabilityQuery {
    StabilityQuery { run_id, target: None, after: None, limit }
}

/// Five books asked three times each: Dune and Watt always answer alike
/// (Watt only in case and spacing), Emma and Ulysses vary, Middlemarch's
/// second sample failed.
fn repeated_run(store: &mut Store) -> (i64, i64) {
    let dataset = import(store, "books", Format::Csv, BOOKS);
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini")];
    let created = store.generate_repeated_requests(dataset.id, template.current.id, &targets, 3).unwrap();
    assert_eq!(created, 15, "5 records x 1 model x 3 samples");
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store
        .create_run_as(dataset.id, Some(template.current.id), &NewRun { repeats: 3, ..NewRun::default() })
        .unwrap();
    assert_eq!(run.total, 15);
    send(store, run.run_id, |prompt, sample| match (prompt, sample) {
        ("Genre of Emma?", n) => Some(format!("A romance, take {n}.")),
        ("Genre of Ulysses?", 2) => Some("Modernist.".into()),
        ("Genre of Middlemarch?", 1) => None,
        ("Genre of Watt?", 1) => Some("a   NOVEL.".into()),
        _ => Some("A novel.".into()),
    });
    (dataset.id, run.run_id)
}

#[test]
fn stability_counts_every_record_and_lists_the_unstable_ones_with_each_sample() {
    let (_dir, mut store) = store();
    let (_, run_id) = repeated_run(&mut store);

    let page = store.run_stability(&stability(run_id, 100)).unwrap();
    let summary = page.summary.unwrap();
    assert_eq!(
        (summary.repeats, summary.records, summary.complete, summary.stable, summary.unstable),
        (3, 5, 4, 2, 2),
        "Middlemarch is incomplete (a failed sample), so not counted stable or unstable: {summary:?}"
    );
    assert_eq!(summary.stability_rate, Some(0.5));
    assert_eq!(page.target, ModelTarget::new("openai", "gpt-4o-mini"));
    let titles: Vec<&str> = page.unstable.iter().map(|r| r.record["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Emma", "Ulysses"]);
    let emma: Vec<(u32, Option<&str>)> =
        page.unstable[0].samples.iter().map(|s| (s.sample, s.text.as_deref())).collect();
    assert_eq!(
        emma,
        [(0, Some("A romance, take 0.")), (1, Some("A romance, take 1.")), (2, Some("A romance, take 2."))]
    );
    assert_eq!(page.next_after, None);
    assert_eq!(store.run_summary(run_id).unwrap().progress.repeats, Some(3));
}

#[test]
fn unstable_records_page_by_position_and_a_later_page_has_no_summary() {
    let (_dir, mut store) = store();
    let (_, run_id) = repeated_run(&mut store);

    let first = store.run_stability(&stability(run_id, 1)).unwrap();
    assert_eq!(first.unstable.len(), 1);
    assert_eq!(first.unstable[0].record["title"], "Emma");
    assert_eq!(first.summary.unwrap().unstable, 2, "the counts are over the whole run, not the page");
    let after = first.next_after.expect("a second unstable record follows");

    let second = store.run_stability(&StabilityQuery { after: Some(after), ..stability(run_id, 1) }).unwrap();
    assert_eq!(second.unstable.len(), 1);
    assert_eq!(second.unstable[0].record["title"], "Ulysses");
    assert_eq!((second.summary, second.next_after), (None, None));
}

#[test]
fn each_sample_is_a_request_of_its_own_answered_once() {
    let (_dir, mut store) = store();
    let (dataset_id, run_id) = repeated_run(&mut store);
    let requests = store.requests(&RequestQuery { dataset_id, limit: 100, ..Default::default() }).unwrap();
    assert_eq!(requests.total, 15);
    let dune: Vec<Option<u32>> =
        requests.items.iter().filter(|r| r.rendered == "Genre of Dune?").map(|r| r.sample).collect();
    assert_eq!(dune, [Some(0), Some(1), Some(2)], "each request says which repeat it is");
    // The run took every sample; a second run finds only the failed one to send again.
    let again = store.create_run_as(dataset_id, None, &NewRun { repeats: 3, ..NewRun::default() }).unwrap();
    assert_eq!(again.total, 1, "only Middlemarch's failed sample has no answer");
    let claimed = store.claim_next(again.run_id).unwrap().unwrap();
    assert_eq!((claimed.prompt.as_str(), claimed.sample), ("Genre of Middlemarch?", 1));
    assert!(store.record_answer(&claimed, &answer("A novel.")).unwrap());
    assert!(!store.record_answer(&claimed, &answer("Another.")).unwrap(), "a second answer is refused");
    let page = store.run_stability(&stability(run_id, 100)).unwrap();
    let summary = page.summary.unwrap();
    assert_eq!((summary.complete, summary.stable), (5, 3), "the retried sample completes Middlemarch: {summary:?}");
}

/// An edit of one repeat of a prompt goes to its repeats without an answer,
/// so a repeated run asks the same question each time; an answered repeat
/// keeps the text it was answered for.
#[test]
fn an_edit_reaches_the_unanswered_repeats_of_its_prompt() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = repeated_run(&mut store);
    let rows = |store: &Store, rendered: &str| -> Vec<(Option<u32>, Option<String>, RequestStatus)> {
        let all = store.requests(&RequestQuery { dataset_id, limit: 100, ..Default::default() }).unwrap();
        all.items.iter().filter(|r| r.rendered == rendered).map(|r| (r.sample, r.edited.clone(), r.status)).collect()
    };
    let middlemarch = |store: &Store| {
        let all = store.requests(&RequestQuery { dataset_id, limit: 100, ..Default::default() }).unwrap();
        all.items.iter().find(|r| r.rendered == "Genre of Middlemarch?" && r.sample == Some(0)).unwrap().id
    };

    // Middlemarch's sample 1 failed, so it has no answer: it takes the edit.
    let edited = "Genre of Middlemarch, in one word?";
    store.edit_request(middlemarch(&store), Some(edited)).unwrap();
    let after = rows(&store, "Genre of Middlemarch?");
    assert_eq!(after[0], (Some(0), Some(edited.to_owned()), RequestStatus::Pending));
    assert_eq!(after[1], (Some(1), Some(edited.to_owned()), RequestStatus::Pending), "the unanswered repeat");
    assert_eq!(after[2], (Some(2), None, RequestStatus::Approved), "the answered repeat keeps its text");
    let dune = rows(&store, "Genre of Dune?");
    assert!(dune.iter().all(|(_, edited, _)| edited.is_none()), "other prompts are untouched: {dune:?}");
}

#[test]
fn a_run_with_repeats_adds_the_samples_of_approved_prompts_only() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "books", Format::Csv, BOOKS);
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini")];
    store.generate_requests(dataset.id, template.current.id, &targets).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    // A first run without repeats answers sample 0 …
    let plain = store.create_run(dataset.id, None).unwrap();
    send(&mut store, plain.run_id, |_, _| Some("A novel.".into()));
    let query = RequestQuery { dataset_id: dataset.id, limit: 100, ..Default::default() };
    let emma = store.requests(&query).unwrap().items.into_iter().find(|r| r.rendered.contains("Emma")).unwrap();
    store.set_request_status(&[emma.id], RequestStatus::Rejected).unwrap();
    // … then a run asking four times adds samples 1 to 3 of the approved prompts only.
    let repeated = store.create_run_as(dataset.id, None, &NewRun { repeats: 4, ..NewRun::default() }).unwrap();
    assert_eq!(repeated.total, 4 * 3, "samples 1..4 of the four approved books");
    assert_eq!(store.requests(&query).unwrap().total, 5 + 12);
    send(&mut store, repeated.run_id, |_, _| Some("A novel.".into()));
    let summary = store.run_stability(&stability(repeated.run_id, 10)).unwrap().summary.unwrap();
    assert_eq!(
        (summary.records, summary.complete, summary.stable),
        (4, 4, 4),
        "sample 0, answered by the earlier run, counts with the new samples: {summary:?}"
    );
}

#[test]
fn repeats_out_of_range_and_runs_without_repeats_are_refused_clearly() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "books", Format::Csv, BOOKS);
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("groq", "llama")];
    for bad in [0, 11] {
        let err = store.generate_repeated_requests(dataset.id, template.current.id, &targets, bad).unwrap_err();
        assert!(err.to_string().contains("repeats must be 1 to 10"), "{err}");
        let err = store.create_run_as(dataset.id, None, &NewRun { repeats: bad, ..NewRun::default() }).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }) && err.to_string().contains("1 to 10"), "{err}");
    }
    assert_eq!(store.generate_repeated_requests(dataset.id, template.current.id, &targets, 2).unwrap(), 20);
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();

    let once = store.create_run(dataset.id, None).unwrap();
    assert_eq!(once.total, 10, "a run without repeats takes sample 0 only");
    let err = store.run_stability(&stability(once.run_id, 10)).unwrap_err();
    assert!(err.to_string().contains("asked each prompt once"), "{err}");

    let twice = store.create_run_as(dataset.id, None, &NewRun { repeats: 2, ..NewRun::default() }).unwrap();
    assert_eq!(twice.total, 10, "the second samples");
    let err = store.run_stability(&stability(twice.run_id, 10)).unwrap_err();
    assert!(err.to_string().contains("sent to 2 models"), "{err}");
    let groq = StabilityQuery { target: Some(ModelTarget::new("groq", "llama")), ..stability(twice.run_id, 10) };
    let summary = store.run_stability(&groq).unwrap().summary.unwrap();
    assert_eq!((summary.records, summary.complete), (5, 0), "nothing answered yet: {summary:?}");
    assert_eq!(summary.stability_rate, None);
}

/// The reviewer's estimate of a run with repeats counts each prompt that
/// many times, whether or not an earlier run added its samples already.
#[test]
fn the_estimate_of_a_repeated_run_is_the_prompts_times_the_repeats() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = repeated_run(&mut store);
    let once = store.estimate_repeated(dataset_id, None, None, 100, 1).unwrap();
    let thrice = store.estimate_repeated(dataset_id, None, None, 100, 3).unwrap();
    assert_eq!((once[0].requests, thrice[0].requests), (5, 15), "the samples that exist are not counted twice");
    assert_eq!(
        (thrice[0].input_tokens, thrice[0].output_tokens),
        (3 * once[0].input_tokens, 3 * once[0].output_tokens)
    );
    assert_eq!(store.estimate(dataset_id, None, None, 100).unwrap()[0].requests, 15, "every request, samples included");
    assert!(store.estimate_repeated(dataset_id, None, None, 100, 11).unwrap_err().to_string().contains("1 to 10"));
}

/// An export of a repeated run says which repeat each answer is (a trailing
/// `sample` column, 0 for the first); one without repeats keeps its columns.
#[test]
fn an_export_of_a_repeated_run_has_a_sample_column_last() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = repeated_run(&mut store);
    let query = local_data::ResponseQuery { dataset_id, include_errors: true, ..Default::default() };
    let mut csv = Vec::new();
    assert_eq!(store.export_responses(&query, local_data::ExportFormat::Csv, &mut csv).unwrap(), 15);
    let csv = String::from_utf8(csv).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0].last(), Some(&"sample"), "{csv}");
    let dune: Vec<&str> = rows.iter().filter(|r| r.contains(&"Genre of Dune?")).map(|r| *r.last().unwrap()).collect();
    assert_eq!(dune, ["0", "1", "2"], "{csv}");
    let mut json = Vec::new();
    store.export_responses(&query, local_data::ExportFormat::Json, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json[0]["sample"], 0);

    let plain = import(&mut store, "plain", Format::Csv, BOOKS);
    let template = store.create_template("plain genre", "Genre of {{ title }}?").unwrap();
    store.generate_requests(plain.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    let mut csv = Vec::new();
    let query = local_data::ResponseQuery { dataset_id: plain.id, include_errors: true, ..Default::default() };
    store.export_responses(&query, local_data::ExportFormat::Csv, &mut csv).unwrap();
    assert!(!String::from_utf8(csv).unwrap().lines().next().unwrap().contains("sample"));
}
