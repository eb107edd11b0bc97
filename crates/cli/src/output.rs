//! Printing results: a table or a sentence for people, JSON for scripts.

use serde::Serialize;

/// A result a command prints.
pub trait Render: Serialize {
    fn human(&self) -> String;
}

pub fn emit<T: Render>(json: bool, value: &T) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        let text = value.human();
        if !text.is_empty() {
            println!("{}", text.trim_end());
        }
    }
    Ok(())
}

/// Left-aligned columns, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A simple message result.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: String,
    #[serde(flatten)]
    pub details: serde_json::Value,
}

impl Render for Message {
    fn human(&self) -> String {
        self.message.clone()
    }
}

pub fn message(message: impl Into<String>, details: serde_json::Value) -> Message {
    Message { message: message.into(), details }
}
