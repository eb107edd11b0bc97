//! The body sent for an event, per endpoint preset:
//! - `generic`: the [`Event`] itself as JSON (signed; for your own receiver);
//! - `slack`: a Slack incoming-webhook message, `{"text", "blocks"}`
//!   (<https://api.slack.com/messaging/webhooks>, Block Kit `header`,
//!   `section` and `context` blocks; `text` is the notification fallback);
//! - `teams`: a Teams message carrying an Adaptive Card, the format both
//!   Incoming Webhooks and Workflows ("Post to a channel when a webhook
//!   request is received") accept: `{"type": "message", "attachments":
//!   [{"contentType": "application/vnd.microsoft.card.adaptive", "content": …}]}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Event;

/// How an endpoint wants its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Generic,
    Slack,
    Teams,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Generic => "generic",
            Preset::Slack => "slack",
            Preset::Teams => "teams",
        }
    }

    /// The JSON body for `event`.
    pub fn body(self, event: &Event) -> Value {
        match self {
            Preset::Generic => serde_json::to_value(event).unwrap_or(Value::Null),
            Preset::Slack => slack(event),
            Preset::Teams => teams(event),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Preset {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "generic" => Ok(Preset::Generic),
            "slack" => Ok(Preset::Slack),
            "teams" => Ok(Preset::Teams),
            other => Err(crate::Error::Invalid(format!("unknown preset `{other}`: use generic, slack or teams"))),
        }
    }
}

/// Slack's three characters that mrkdwn and `text` treat as control
/// characters (<https://api.slack.com/reference/surfaces/formatting#escaping>).
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn slack(event: &Event) -> Value {
    let title = event.kind.title();
    let summary = slack_escape(&event.summary);
    json!({
        "text": format!("{title}: {summary}"),
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": title } },
            { "type": "section", "text": { "type": "mrkdwn", "text": summary } },
            { "type": "context", "elements": [
                { "type": "mrkdwn", "text": format!("`{}` · {}", event.kind, event.id) }
            ] }
        ]
    })
}

fn teams(event: &Event) -> Value {
    let facts: Vec<Value> =
        facts(event).into_iter().map(|(title, value)| json!({ "title": title, "value": value })).collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    { "type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": event.kind.title(), "wrap": true },
                    { "type": "TextBlock", "text": event.summary, "wrap": true },
                    { "type": "FactSet", "facts": facts }
                ]
            }
        }]
    })
}

/// The event's type and id, then its data's top-level scalars, as label/value pairs.
fn facts(event: &Event) -> Vec<(String, String)> {
    let mut facts = vec![("Event".to_owned(), event.kind.to_string()), ("Id".to_owned(), event.id.clone())];
    if let Value::Object(data) = &event.data {
        for (key, value) in data {
            let shown = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            facts.push((key.clone(), shown));
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;

    fn event() -> Event {
        Event {
            id: "evt_1".into(),
            kind: EventKind::RunFinished,
            created: 1,
            summary: "Run 3 finished: 9 answered, 1 failed <@here> & co".into(),
            data: json!({ "runId": 3, "answered": 9, "status": "completed", "nested": { "x": 1 } }),
        }
    }

    #[test]
    fn generic_is_the_event() {
        let body = Preset::Generic.body(&event());
        assert_eq!(body["type"], "run.finished");
        assert_eq!(body["id"], "evt_1");
        assert_eq!(body["data"]["runId"], 3);
    }

    #[test]
    fn slack_has_fallback_text_and_blocks_with_escaped_mrkdwn() {
        let body = Preset::Slack.body(&event());
        assert_eq!(body["text"], "Run finished: Run 3 finished: 9 answered, 1 failed &lt;@here&gt; &amp; co");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert!(!blocks[1]["text"]["text"].as_str().unwrap().contains("<@here>"), "no mention injection");
    }

    #[test]
    fn teams_is_a_message_with_an_adaptive_card() {
        let body = Preset::Teams.body(&event());
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        let facts = card["body"][2]["facts"].as_array().unwrap();
        assert!(facts.iter().any(|f| f["title"] == "runId" && f["value"] == "3"), "{facts:?}");
        assert!(!facts.iter().any(|f| f["title"] == "nested"), "only scalars are facts");
    }

    #[test]
    fn presets_parse() {
        assert_eq!("teams".parse::<Preset>().unwrap(), Preset::Teams);
        assert!("discord".parse::<Preset>().unwrap_err().to_string().contains("generic, slack or teams"));
    }
}
