use local_data::{
    Answer, CompareQuery, CompareSide, ComparedPair, Failure, ModelTarget, PairFilter, RequestStatus, Store,
    answers_agree,
};
use records::Format;

use crate::{import, store};

const BOOKS: &str = "title\nDune\nEmma\nMiddlemarch\nUlysses\n";

/// Runs the approved requests of `version`, answering each prompt with
/// `answer(prompt)`: `Some(text)`, or `None` for a failure.
fn run(store: &mut Store, dataset_id: i64, version: i64, answer: impl Fn(&str) -> Option<String>) -> i64 {
    let run = store.create_run(dataset_id, Some(version)).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        match answer(&claimed.prompt) {
            Some(text) => {
                let answer = Answer {
                    text,
                    model: claimed.model.clone(),
                    finish_reason: Some("stop".into()),
                    input_tokens: Some(3),
                    output_tokens: Some(2),
                };
                assert!(store.record_answer(&claimed, &answer).unwrap());
            }
            None => {
                let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
                store.record_failure(&claimed, &failure).unwrap();
            }
        }
    }
    run.run_id
}

/// A baseline run of template v1 and a new run of v2 over the same four
/// books: Dune agrees (only case and spacing differ), Emma differs,
/// Middlemarch failed in the new run, Ulysses was left out of it.
fn baseline_and_new(store: &mut Store) -> (i64, i64, i64) {
    let dataset = import(store, "books", Format::Csv, BOOKS);
    let targets = [ModelTarget::new("openai", "gpt-4o-mini")];
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    store.generate_requests(dataset.id, template.current.id, &targets).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let baseline = run(store, dataset.id, template.current.id, |p| Some(format!("{p} A novel.")));

    let v2 = store.add_template_version(template.id, "What genre is {{ title }}?").unwrap();
    store.generate_requests(dataset.id, v2.id, &targets).unwrap();
    store.set_all_request_status(dataset.id, Some(v2.id), RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let ulysses = store
        .requests(&local_data::RequestQuery {
            dataset_id: dataset.id,
            template_version_id: Some(v2.id),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .items
        .into_iter()
        .find(|r| r.rendered.contains("Ulysses"))
        .unwrap();
    store.set_request_status(&[ulysses.id], RequestStatus::Rejected).unwrap();
    let new = run(store, dataset.id, v2.id, |p| {
        let title = p.trim_start_matches("What genre is ").trim_end_matches('?');
        match title {
            "Dune" => Some("GENRE OF   Dune?\n a NOVEL.".into()),
            "Emma" => Some("Genre of Emma? A romance.".into()),
            _ => None,
        }
    });
    (dataset.id, baseline, new)
}

fn query(baseline: i64, candidate: i64) -> CompareQuery {
    CompareQuery {
        baseline: CompareSide { run_id: baseline, target: None },
        candidate: CompareSide { run_id: candidate, target: None },
        filter: PairFilter::All,
        after: None,
        limit: 100,
    }
}

fn titles(pairs: &[ComparedPair]) -> Vec<String> {
    pairs.iter().map(|p| p.record["title"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn answers_agree_word_by_word_ignoring_case_and_spacing_only() {
    assert!(answers_agree("A novel.", "  a\n NOVEL. "));
    assert!(!answers_agree("A novel.", "A novel"), "punctuation is a difference");
    assert!(!answers_agree("42", "43"));
    assert!(answers_agree("", " \n"));
}

#[test]
fn a_baseline_run_and_a_new_one_pair_up_by_record_with_counts_over_both_runs() {
    let (_dir, mut store) = store();
    let (_, baseline, new) = baseline_and_new(&mut store);
    let page = store.compare_answers(&query(baseline, new)).unwrap();
    assert_eq!(titles(&page.pairs), ["Dune", "Emma", "Middlemarch", "Ulysses"]);
    let verdicts: Vec<PairFilter> = page.pairs.iter().map(|p| p.verdict).collect();
    assert_eq!(verdicts, [PairFilter::Agree, PairFilter::Differ, PairFilter::Missing, PairFilter::Missing]);
    let middlemarch = &page.pairs[2];
    assert_eq!(middlemarch.candidate.as_ref().unwrap().error_code.as_deref(), Some("server_error"));
    assert!(page.pairs[3].candidate.is_none(), "Ulysses was never sent by the new run");
    let s = page.summary.unwrap();
    assert_eq!((s.records, s.agree, s.differ, s.missing), (4, 1, 1, 2));
    assert_eq!(s.agreement_rate, Some(0.5));
    assert_eq!(page.next_after, None);
}

#[test]
fn the_filter_and_the_pages_cover_the_whole_runs_not_one_page() {
    let (_dir, mut store) = store();
    let (_, baseline, new) = baseline_and_new(&mut store);

    let mut seen = Vec::new();
    let mut q = CompareQuery { limit: 1, ..query(baseline, new) };
    loop {
        let page = store.compare_answers(&q).unwrap();
        let counted = page.summary.map(|s| s.records);
        assert_eq!(counted, q.after.is_none().then_some(4), "a first page counts every pair, later pages do not again");
        seen.extend(titles(&page.pairs));
        match page.next_after {
            Some(after) => q.after = Some(after),
            None => break,
        }
    }
    assert_eq!(seen, ["Dune", "Emma", "Middlemarch", "Ulysses"], "each record once, in order");

    let missing = CompareQuery { filter: PairFilter::Missing, limit: 1, ..query(baseline, new) };
    let first = store.compare_answers(&missing).unwrap();
    assert_eq!(titles(&first.pairs), ["Middlemarch"]);
    let second = store.compare_answers(&CompareQuery { after: first.next_after, ..missing }).unwrap();
    assert_eq!(titles(&second.pairs), ["Ulysses"], "a filtered page skips the pairs it does not keep");
    assert_eq!(second.next_after, None);
    let differ = store.compare_answers(&CompareQuery { filter: PairFilter::Differ, ..query(baseline, new) }).unwrap();
    assert_eq!(titles(&differ.pairs), ["Emma"]);
}

#[test]
fn two_models_of_one_run_compare_once_each_side_names_its_model() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "books", Format::Csv, BOOKS);
    let (mini, haiku) =
        (ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("anthropic", "claude-3-5-haiku-latest"));
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    store.generate_requests(dataset.id, template.current.id, &[mini.clone(), haiku.clone()]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run_id = run(&mut store, dataset.id, template.current.id, |p| {
        Some(if p.contains("Emma") { "romance".into() } else { "novel".into() })
    });

    let err = store.compare_answers(&query(run_id, run_id)).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let message = err.to_string();
    assert!(message.contains("same answers"), "{message}");

    let mut q = query(run_id, run_id);
    q.candidate.target = Some(haiku.clone());
    let message = store.compare_answers(&q).unwrap_err().to_string();
    assert!(message.contains("openai/gpt-4o-mini") && message.contains("choose one"), "{message}");

    q.baseline.target = Some(mini);
    let page = store.compare_answers(&q).unwrap();
    assert_eq!(page.summary.unwrap().agree, 4, "both models answered alike");
    assert_eq!(page.pairs[0].baseline.as_ref().unwrap().provider, "openai");
    assert_eq!(page.pairs[0].candidate.as_ref().unwrap().provider, "anthropic");

    q.baseline.target = Some(ModelTarget::new("openai", "gpt-5"));
    let message = store.compare_answers(&q).unwrap_err().to_string();
    assert!(message.contains("sent nothing to openai/gpt-5"), "{message}");
}

#[test]
fn runs_over_different_datasets_or_unknown_runs_are_refused_clearly() {
    let (_dir, mut store) = store();
    let (_, baseline, _) = baseline_and_new(&mut store);
    let other = import(&mut store, "other", Format::Csv, BOOKS);
    let template = store.create_template("other", "{{ title }}").unwrap();
    store.generate_requests(other.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(other.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let elsewhere = run(&mut store, other.id, template.current.id, |p| Some(p.to_owned()));

    let message = store.compare_answers(&query(baseline, elsewhere)).unwrap_err().to_string();
    assert!(message.contains("different datasets"), "{message}");
    assert_eq!(store.compare_answers(&query(baseline, 999)).unwrap_err().code(), "not_found");
    let zero = CompareQuery { limit: 0, ..query(baseline, elsewhere) };
    assert!(store.compare_answers(&zero).unwrap_err().to_string().contains("1 to 1000"));
}
