//! Per-run assertions (issue 17, point 5): checks a run applies to every
//! answer it stores, each scored pass, fail or not scored with a reason,
//! and the run's pass rate.
//!
//! An [`Assertion`] is kept with its run (`runs.assertions`, so a resume
//! checks with the same ones) and reads from and prints to one line, the
//! CLI's `--assert` syntax:
//!
//! | syntax | passes when the answer … |
//! | --- | --- |
//! | `contains:TEXT` | contains TEXT (case-sensitive) |
//! | `regex:PATTERN` | has a match of PATTERN (Rust `regex` syntax: linear time, so no answer can make it hang; anchor with `^…$` for a whole-answer match) |
//! | `json` | is JSON (inside a Markdown code fence too) |
//! | `range:POINTER:MIN:MAX` | has a number within [MIN, MAX] at the JSON Pointer POINTER (`/score`), or is one when POINTER is empty (`range::0:1`); MIN or MAX may be empty (open); a numeric string counts |
//! | `judge:PROVIDER/MODEL:PROMPT` | gets a reply starting with PASS from MODEL asked PROMPT about it |
//! | `judge>=N:PROVIDER/MODEL:PROMPT` | gets a reply whose first number is at least N |
//!
//! The first four are scored here ([`Checker`]); a judge is a provider call,
//! which the run engine makes ([`Assertion::judge_prompt`],
//! [`Assertion::judge_verdict`]) and whose tokens count in the run's cost.
//! Results are stored per answer ([`Store::record_checks`]), all of an
//! answer's at once, so an answer is either checked or not
//! ([`Store::unchecked_answers`] finds those a crash left unchecked).

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::OrNotFound;
use crate::{Error, Store};

/// One check of a run's answers. See the module docs for the syntax.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assertion {
    Contains {
        text: String,
    },
    Regex {
        pattern: String,
    },
    Json,
    Range {
        /// JSON Pointer into the answer; `None`: the whole answer is the number.
        pointer: Option<String>,
        min: Option<f64>,
        max: Option<f64>,
    },
    Judge {
        provider: String,
        model: String,
        prompt: String,
        /// Pass at a score at least this (the reply's first number);
        /// `None`: pass when the reply starts with PASS.
        threshold: Option<f64>,
    },
}

/// The syntax, for error messages.
pub const ASSERTION_SYNTAX: &str = "use contains:TEXT, regex:PATTERN, json, range:POINTER:MIN:MAX \
    (e.g. range:/score:0:10, range::0:1), judge:PROVIDER/MODEL:PROMPT or judge>=N:PROVIDER/MODEL:PROMPT";

impl FromStr for Assertion {
    type Err = Error;

    fn from_str(given: &str) -> Result<Self, Error> {
        let refuse = |message: String| Error::Assertion { given: given.to_owned(), message };
        let (kind, rest) = given.split_once(':').unwrap_or((given, ""));
        let assertion = match kind {
            "contains" if !rest.is_empty() => Assertion::Contains { text: rest.to_owned() },
            "contains" => return Err(refuse("give the text to look for: contains:TEXT".into())),
            "regex" => Assertion::Regex { pattern: rest.to_owned() },
            "json" if rest.is_empty() => Assertion::Json,
            "range" => {
                // From the right, so a pointer may hold `:`.
                let mut parts = rest.rsplitn(3, ':');
                let (max, min, pointer) = (parts.next(), parts.next(), parts.next());
                let (Some(max), Some(min), Some(pointer)) = (max, min, pointer) else {
                    return Err(refuse("write range:POINTER:MIN:MAX, e.g. range:/score:0:10 or range::0:1".into()));
                };
                let bound = |text: &str, name: &str| -> Result<Option<f64>, Error> {
                    if text.trim().is_empty() {
                        return Ok(None);
                    }
                    match text.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() => Ok(Some(n)),
                        _ => Err(refuse(format!("the {name} `{text}` is not a number"))),
                    }
                };
                let pointer = (!pointer.is_empty()).then(|| pointer.to_owned());
                Assertion::Range { pointer, min: bound(min, "minimum")?, max: bound(max, "maximum")? }
            }
            judge if judge == "judge" || judge.starts_with("judge>=") => {
                let threshold = match judge.strip_prefix("judge>=") {
                    Some(n) => match n.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() => Some(n),
                        _ => return Err(refuse(format!("the threshold `{n}` is not a number"))),
                    },
                    None => None,
                };
                let (target, prompt) = rest.split_once(':').unwrap_or((rest, ""));
                let (provider, model) = target.split_once('/').unwrap_or((target, ""));
                if provider.trim().is_empty() || model.trim().is_empty() || prompt.trim().is_empty() {
                    return Err(refuse(
                        "write judge:PROVIDER/MODEL:PROMPT, e.g. judge:openai/gpt-4o-mini:Is it polite?".into(),
                    ));
                }
                Assertion::Judge {
                    provider: provider.trim().to_owned(),
                    model: model.trim().to_owned(),
                    prompt: prompt.trim().to_owned(),
                    threshold,
                }
            }
            _ => return Err(refuse(format!("unknown kind `{kind}`: {ASSERTION_SYNTAX}"))),
        };
        assertion.check().map_err(refuse)?;
        Ok(assertion)
    }
}

impl fmt::Display for Assertion {
    /// The one-line syntax that reads back as the same assertion.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: &Option<f64>| n.map(|n| n.to_string()).unwrap_or_default();
        match self {
            Assertion::Contains { text } => write!(f, "contains:{text}"),
            Assertion::Regex { pattern } => write!(f, "regex:{pattern}"),
            Assertion::Json => f.write_str("json"),
            Assertion::Range { pointer, min, max } => {
                write!(f, "range:{}:{}:{}", pointer.as_deref().unwrap_or(""), number(min), number(max))
            }
            Assertion::Judge { provider, model, prompt, threshold: None } => {
                write!(f, "judge:{provider}/{model}:{prompt}")
            }
            Assertion::Judge { provider, model, prompt, threshold: Some(n) } => {
                write!(f, "judge>={n}:{provider}/{model}:{prompt}")
            }
        }
    }
}

impl Assertion {
    /// What makes an assertion unusable, whichever way it was made.
    fn check(&self) -> Result<(), String> {
        match self {
            Assertion::Contains { text } if text.is_empty() => Err("give the text to look for".into()),
            Assertion::Regex { pattern } if pattern.is_empty() => Err("give a pattern: regex:PATTERN".into()),
            Assertion::Regex { pattern } => Regex::new(pattern).map(|_| ()).map_err(|e| format!("bad pattern: {e}")),
            Assertion::Range { pointer, min, max } => {
                if pointer.as_deref().is_some_and(|p| !p.starts_with('/')) {
                    return Err(
                        "a JSON Pointer starts with `/` (e.g. /score); leave it empty for the whole answer".into()
                    );
                }
                match (min, max) {
                    (None, None) => Err("give a minimum, a maximum or both".into()),
                    (Some(min), Some(max)) if min > max => Err(format!("the minimum {min} is above the maximum {max}")),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The text sent to a judge's model about `answer`.
    pub fn judge_prompt(&self, answer: &str) -> Option<String> {
        let Assertion::Judge { prompt, threshold, .. } = self else { return None };
        let how = match threshold {
            None => "Reply PASS or FAIL on the first line, then one sentence saying why.",
            Some(_) => "Reply with a score as a number on the first line, then one sentence saying why.",
        };
        Some(format!("{prompt}\n\nThe answer to judge:\n<answer>\n{answer}\n</answer>\n\n{how}"))
    }

    /// Whether a judge's `reply` passes this assertion.
    pub fn judge_verdict(&self, reply: &str) -> CheckOutcome {
        let first_line = reply.trim().lines().next().unwrap_or_default().trim();
        let reason = format!("judge: {}", short(reply.trim()));
        match self {
            Assertion::Judge { threshold: None, .. } => {
                let passed = first_line.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("PASS"));
                CheckOutcome { passed: Some(passed), reason }
            }
            Assertion::Judge { threshold: Some(threshold), .. } => match first_number(reply) {
                Some(score) => CheckOutcome { passed: Some(score >= *threshold), reason },
                None => CheckOutcome { passed: None, reason: format!("the judge gave no score: {}", short(reply)) },
            },
            _ => CheckOutcome { passed: None, reason: "not a judge".into() },
        }
    }

    /// The provider and model a judge asks.
    pub fn judge_target(&self) -> Option<(&str, &str)> {
        match self {
            Assertion::Judge { provider, model, .. } => Some((provider, model)),
            _ => None,
        }
    }
}

/// How one assertion scored one answer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// `None`: it could not be scored (a judge that failed or gave no score).
    pub passed: Option<bool>,
    /// Why, in a sentence.
    pub reason: String,
}

/// One assertion's result for one answer, as stored and listed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The assertion's place in the run's list.
    pub position: u32,
    /// The assertion in its one-line syntax.
    pub assertion: String,
    pub passed: Option<bool>,
    pub reason: String,
    /// A judge's call, whose tokens count in the run's cost.
    #[cfg_attr(feature = "ts", ts(skip))]
    #[serde(skip)]
    pub judge: Option<JudgeUsage>,
}

/// What a judge's call used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JudgeUsage {
    pub provider: String,
    pub model: String,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
}

/// A run's assertions made ready to score (regular expressions compiled once).
#[derive(Debug, Clone, Default)]
pub struct Checker {
    assertions: Vec<(Assertion, Option<Regex>)>,
}

impl Checker {
    pub fn new(assertions: &[Assertion]) -> Result<Self, Error> {
        let compiled = assertions
            .iter()
            .map(|a| {
                a.check().map_err(|message| Error::Assertion { given: a.to_string(), message })?;
                let regex = match a {
                    Assertion::Regex { pattern } => Some(Regex::new(pattern).map_err(|e| Error::Assertion {
                        given: a.to_string(),
                        message: format!("bad pattern: {e}"),
                    })?),
                    _ => None,
                };
                Ok((a.clone(), regex))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Checker { assertions: compiled })
    }

    pub fn is_empty(&self) -> bool {
        self.assertions.is_empty()
    }

    pub fn assertions(&self) -> impl Iterator<Item = &Assertion> {
        self.assertions.iter().map(|(a, _)| a)
    }

    /// Scores `answer` with every assertion that needs no provider call;
    /// `None` at the places of judges (the engine asks them).
    pub fn score_local(&self, answer: &str) -> Vec<Option<CheckOutcome>> {
        self.assertions.iter().map(|(a, regex)| score(a, regex.as_ref(), answer)).collect()
    }
}

fn score(assertion: &Assertion, regex: Option<&Regex>, answer: &str) -> Option<CheckOutcome> {
    let outcome = |passed: bool, reason: String| Some(CheckOutcome { passed: Some(passed), reason });
    match assertion {
        Assertion::Contains { text } => {
            let found = answer.contains(text.as_str());
            outcome(found, if found { format!("contains `{text}`") } else { format!("does not contain `{text}`") })
        }
        Assertion::Regex { pattern } => {
            let found = regex.is_some_and(|r| r.is_match(answer));
            outcome(found, if found { format!("matches /{pattern}/") } else { format!("no match for /{pattern}/") })
        }
        Assertion::Json => match serde_json::from_str::<Value>(crate::structured::unfenced(answer)) {
            Ok(_) => outcome(true, "is JSON".into()),
            Err(e) => outcome(false, format!("not JSON: {e}")),
        },
        Assertion::Range { pointer, min, max } => {
            let number = match pointer {
                None => answer
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| format!("the answer `{}` is not a number", short(answer.trim()))),
                Some(pointer) => number_at(answer, pointer),
            };
            match number {
                Err(reason) => outcome(false, reason),
                Ok(n) => {
                    let within = min.is_none_or(|min| n >= min) && max.is_none_or(|max| n <= max);
                    let bounds = format!(
                        "[{}, {}]",
                        min.map_or("-∞".to_owned(), |m| m.to_string()),
                        max.map_or("∞".to_owned(), |m| m.to_string())
                    );
                    outcome(within, format!("{n} is {} {bounds}", if within { "within" } else { "outside" }))
                }
            }
        }
        Assertion::Judge { .. } => None,
    }
}

/// The number at `pointer` in the JSON answer (a numeric string counts).
fn number_at(answer: &str, pointer: &str) -> Result<f64, String> {
    let value: Value = serde_json::from_str(crate::structured::unfenced(answer))
        .map_err(|e| format!("the answer is not JSON, so it has no {pointer}: {e}"))?;
    match value.pointer(pointer) {
        None => Err(format!("the answer has nothing at {pointer}")),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("{n} at {pointer} is out of range")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("`{s}` at {pointer} is not a number")),
        Some(other) => Err(format!("{} at {pointer} is not a number", short(&other.to_string()))),
    }
}

/// The first decimal number in `text` (a judge's score).
fn first_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect::<String>();
    digits.trim_end_matches('.').parse().ok()
}

/// At most 200 characters of a text, for a reason.
fn short(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A run's checks in numbers.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunChecks {
    pub run_id: i64,
    /// Answers with every assertion scored.
    pub checked: u64,
    /// Answers that passed every assertion.
    pub passed: u64,
    /// `passed / checked`; `None` before any answer was checked.
    pub pass_rate: Option<f64>,
    /// Per assertion, in the run's order.
    pub assertions: Vec<AssertionTally>,
    /// Answers valid against their template's schema.
    pub schema_valid: u64,
    /// Answers that were not, each listed in the responses with its problems.
    pub schema_invalid: u64,
}

/// An answer of a run that does not fit its template's schema.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaFailure {
    pub response_id: i64,
    pub request_id: i64,
    /// The record's row number in its file, from 1.
    pub record: u64,
    pub errors: Vec<crate::SchemaIssue>,
}

/// One assertion's counts over a run.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionTally {
    pub assertion: String,
    pub passed: u64,
    pub failed: u64,
    /// Could not be scored (a judge failed).
    pub unscored: u64,
}

impl Store {
    /// The assertions a run checks its answers with (none for most runs).
    pub fn run_assertions(&self, run_id: i64) -> Result<Vec<Assertion>, Error> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT assertions FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
            .or_not_found("run", run_id)?;
        match text {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Error::State(format!("run {run_id} has unreadable assertions ({e}): start a new run"))),
        }
    }

    /// Stores every assertion's result for the answer of `request_id` in
    /// `run_id`, in one transaction, replacing earlier ones; nothing when
    /// this run stored no answer to it (another run's answer came first).
    pub fn record_checks(&mut self, run_id: i64, request_id: i64, results: &[CheckResult]) -> Result<(), Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let response_id: Option<i64> = tx
            .query_row(
                "SELECT id FROM responses WHERE run_id = ?1 AND request_id = ?2 AND error_code IS NULL",
                params![run_id, request_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(response_id) = response_id else {
            // The request's answer is another run's (it was answered meanwhile): that run's checks are its own.
            tracing::debug!(run_id, request_id, "no answer of this run to check");
            return Ok(());
        };
        tx.execute("DELETE FROM answer_checks WHERE response_id = ?1", [response_id])?;
        for result in results {
            let judge = result.judge.clone().unwrap_or_default();
            tx.execute(
                "INSERT INTO answer_checks (response_id, position, label, passed, reason, judge_provider, judge_model,
                                            input_tokens, output_tokens)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    response_id,
                    result.position,
                    result.assertion,
                    result.passed,
                    result.reason,
                    result.judge.as_ref().map(|_| judge.provider.as_str()),
                    result.judge.as_ref().map(|_| judge.model.as_str()),
                    judge.input_tokens,
                    judge.output_tokens,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The answers of a run that has assertions which have not been
    /// checked yet, as `(request_id, text)`: those a crash or a stop left
    /// between storing and checking.
    pub fn unchecked_answers(&self, run_id: i64) -> Result<Vec<(i64, String)>, Error> {
        if self.run_assertions(run_id)?.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT s.request_id, s.text FROM responses s
             WHERE s.run_id = ?1 AND s.error_code IS NULL
               AND NOT EXISTS (SELECT 1 FROM answer_checks c WHERE c.response_id = s.id)
             ORDER BY s.request_id",
        )?;
        let rows = stmt.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// A run's answers that do not fit their schema, in record order, at most `limit`.
    pub fn run_schema_failures(&self, run_id: i64, limit: u32) -> Result<Vec<SchemaFailure>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.request_id, r.position, s.schema_errors FROM responses s
             JOIN requests q ON q.id = s.request_id JOIN records r ON r.id = q.record_id
             WHERE s.run_id = ?1 AND s.schema_valid = 0 ORDER BY r.position, s.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![run_id, limit], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
        })?;
        let mut failures = Vec::new();
        for row in rows {
            let (response_id, request_id, position, errors) = row?;
            let errors = match errors {
                Some(text) => serde_json::from_str(&text).map_err(crate::datasets::json_bug)?,
                None => Vec::new(),
            };
            failures.push(SchemaFailure { response_id, request_id, record: position.max(0) as u64 + 1, errors });
        }
        Ok(failures)
    }

    /// The stored answer of `request_id` in `run_id`, if there is one.
    pub fn answer_text(&self, run_id: i64, request_id: i64) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT text FROM responses WHERE run_id = ?1 AND request_id = ?2 AND error_code IS NULL",
                params![run_id, request_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// A run's pass rate, its counts per assertion and its schema validity.
    pub fn run_checks(&self, run_id: i64) -> Result<RunChecks, Error> {
        let assertions = self.run_assertions(run_id)?;
        let mut tallies: Vec<AssertionTally> =
            assertions.iter().map(|a| AssertionTally { assertion: a.to_string(), ..Default::default() }).collect();
        let mut stmt = self.conn.prepare(
            "SELECT c.position, c.passed, count(*) FROM answer_checks c JOIN responses s ON s.id = c.response_id
             WHERE s.run_id = ?1 GROUP BY c.position, c.passed",
        )?;
        let mut rows = stmt.query([run_id])?;
        while let Some(row) = rows.next()? {
            let (position, passed, count): (usize, Option<bool>, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let Some(tally) = tallies.get_mut(position) else { continue };
            let count = u64::try_from(count).unwrap_or(0);
            match passed {
                Some(true) => tally.passed += count,
                Some(false) => tally.failed += count,
                None => tally.unscored += count,
            }
        }
        let (checked, passed): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(all_passed), 0) FROM (
                 SELECT min(coalesce(c.passed, 0)) AS all_passed FROM answer_checks c
                 JOIN responses s ON s.id = c.response_id WHERE s.run_id = ?1 GROUP BY c.response_id)",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (valid, invalid): (i64, i64) = self.conn.query_row(
            "SELECT coalesce(sum(schema_valid = 1), 0), coalesce(sum(schema_valid = 0), 0)
             FROM responses WHERE run_id = ?1 AND error_code IS NULL",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let checked = u64::try_from(checked).unwrap_or(0);
        let passed = u64::try_from(passed).unwrap_or(0);
        Ok(RunChecks {
            run_id,
            checked,
            passed,
            pass_rate: (checked > 0).then(|| passed as f64 / checked as f64),
            assertions: tallies,
            schema_valid: u64::try_from(valid).unwrap_or(0),
            schema_invalid: u64::try_from(invalid).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Assertion {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str) -> String {
        let e = text.parse::<Assertion>().expect_err(text);
        assert_eq!(e.code(), "invalid_assertion");
        e.to_string()
    }

    fn passes(assertion: &str, answer: &str) -> Option<bool> {
        Checker::new(&[parse(assertion)]).unwrap().score_local(answer)[0].as_ref().and_then(|o| o.passed)
    }

    #[test]
    fn the_syntax_reads_and_prints_back() {
        for text in [
            "contains:foo",
            "contains:a:b",
            r"regex:^\d+$",
            "json",
            "range:/score:0:10",
            "range::0:1",
            "range:/a/b::10",
            "range:/x:-1.5:",
            "judge:openai/gpt-4o-mini:Is it polite?",
            "judge>=7:anthropic/claude-3-5-haiku-latest:Rate it 0-10: how clear?",
        ] {
            assert_eq!(parse(text).to_string(), text);
        }
        assert_eq!(
            parse("judge:openai/gpt-4o-mini:Is it polite? Say: yes"),
            Assertion::Judge {
                provider: "openai".into(),
                model: "gpt-4o-mini".into(),
                prompt: "Is it polite? Say: yes".into(),
                threshold: None
            }
        );
    }

    #[test]
    fn bad_assertions_say_what_to_write() {
        assert!(refused("startswith:foo").contains("unknown kind `startswith`"));
        assert!(refused("contains:").contains("contains:TEXT"));
        assert!(refused("regex:(unclosed").contains("bad pattern"));
        assert!(refused("regex:").contains("give a pattern"));
        assert!(refused("json:x").contains("unknown kind"));
        assert!(refused("range:/score:ten:20").contains("`ten` is not a number"));
        assert!(refused("range:/score:10:1").contains("above the maximum"));
        assert!(refused("range:/score::").contains("a minimum, a maximum or both"));
        assert!(refused("range:score:0:1").contains("starts with `/`"));
        assert!(refused("range:0:1").contains("range:POINTER:MIN:MAX"));
        assert!(refused("range::nan:1").contains("not a number"), "NaN is no bound");
        assert!(refused("judge:gpt-4o-mini:Is it polite?").contains("judge:PROVIDER/MODEL:PROMPT"));
        assert!(refused("judge:openai/gpt-4o-mini:").contains("judge:PROVIDER/MODEL:PROMPT"));
        assert!(refused("judge>=x:openai/m:p").contains("threshold `x`"));
    }

    #[test]
    fn contains_regex_and_json_score_answers() {
        assert_eq!(passes("contains:Ada", "About Ada Lovelace"), Some(true));
        assert_eq!(passes("contains:ada", "About Ada"), Some(false), "case-sensitive");
        assert_eq!(passes(r"regex:^\d+$", "42"), Some(true));
        assert_eq!(passes(r"regex:^\d+$", "42 apples"), Some(false));
        assert_eq!(passes(r"regex:^\d+$", "line\n42"), Some(false), "^ is the start of the answer");
        assert_eq!(passes(r"regex:(?m)^\d+$", "line\n42"), Some(true), "unless the pattern asks for lines");
        assert_eq!(passes("regex:é", "café"), Some(true));
        assert_eq!(passes("json", r#"{"a":1}"#), Some(true));
        assert_eq!(passes("json", "```json\n[1,2]\n```"), Some(true));
        assert_eq!(passes("json", "{a:1}"), Some(false));
        assert_eq!(passes("json", ""), Some(false));
    }

    #[test]
    fn ranges_are_inclusive_open_ended_and_strict_about_numbers() {
        assert_eq!(passes("range:/score:0:10", r#"{"score":10}"#), Some(true), "the maximum is included");
        assert_eq!(passes("range:/score:0:10", r#"{"score":0}"#), Some(true), "the minimum is included");
        assert_eq!(passes("range:/score:0:10", r#"{"score":10.01}"#), Some(false));
        assert_eq!(passes("range:/score:0:10", r#"{"score":-0.5}"#), Some(false));
        assert_eq!(passes("range:/score:0:10", r#"{"score":"7"}"#), Some(true), "a numeric string counts");
        assert_eq!(passes("range:/score:0:10", r#"{"score":"seven"}"#), Some(false));
        assert_eq!(passes("range:/score:0:10", r#"{"score":null}"#), Some(false));
        assert_eq!(passes("range:/score:0:10", r#"{"other":1}"#), Some(false));
        assert_eq!(passes("range:/score:0:10", "7"), Some(false), "no JSON object, nothing at /score");
        assert_eq!(passes("range:/a/0:1:", r#"{"a":[3]}"#), Some(true), "pointers go into arrays");
        assert_eq!(passes("range::0:1", " 0.25\n"), Some(true));
        assert_eq!(passes("range::0:1", "NaN"), Some(false), "NaN is not a number here");
        assert_eq!(passes("range::0:", "inf"), Some(false));
        assert_eq!(passes("range:::5", "-1e9"), Some(true), "open minimum");
        let reason = Checker::new(&[parse("range:/score:0:10")]).unwrap().score_local(r#"{"score":11}"#)[0]
            .clone()
            .unwrap()
            .reason;
        assert_eq!(reason, "11 is outside [0, 10]");
    }

    #[test]
    fn judges_are_left_to_the_engine_and_read_their_replies() {
        let judge = parse("judge:openai/gpt-4o-mini:Is it polite?");
        assert_eq!(Checker::new(std::slice::from_ref(&judge)).unwrap().score_local("hi"), [None]);
        assert!(judge.judge_prompt("Hello there").unwrap().contains("<answer>\nHello there\n</answer>"));
        assert_eq!(judge.judge_verdict("PASS\nIt is polite.").passed, Some(true));
        assert_eq!(judge.judge_verdict("  pass: fine").passed, Some(true));
        assert_eq!(judge.judge_verdict("FAIL\nrude").passed, Some(false));
        assert_eq!(judge.judge_verdict("I think it passes").passed, Some(false));
        let scored = parse("judge>=7:openai/gpt-4o-mini:Rate it");
        assert_eq!(scored.judge_verdict("8/10, clear").passed, Some(true));
        assert_eq!(scored.judge_verdict("Score: 6.5").passed, Some(false));
        assert_eq!(scored.judge_verdict("7.").passed, Some(true));
        assert_eq!(scored.judge_verdict("no idea").passed, None, "no score is not a fail");
    }
}
