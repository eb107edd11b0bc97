//! One collected page as a record (a dataset row and a journal line).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A page: what was asked for, what came back, what it says. Every field is
/// always present (null when unknown) so each record has the same columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// The URL asked for (the crawl's key: a page is collected once).
    pub url: String,
    /// Where redirects ended.
    pub final_url: Option<String>,
    /// Links followed from a seed to get here (0 for a seed).
    pub depth: u32,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    /// og:*, twitter:*, article:*, author, keywords.
    pub metadata: BTreeMap<String, String>,
    /// The main content, as text.
    pub content: Option<String>,
    pub links: Vec<String>,
    /// Body bytes read.
    pub bytes: u64,
    /// Why the page was not collected (`PageError::code`), else null.
    pub error_code: Option<String>,
    pub error: Option<String>,
    /// Unix milliseconds.
    pub fetched_at: i64,
}

impl PageRecord {
    pub(crate) fn new(url: &str, depth: u32) -> Self {
        PageRecord {
            url: url.to_owned(),
            final_url: None,
            depth,
            status: None,
            content_type: None,
            title: None,
            description: None,
            canonical: None,
            metadata: BTreeMap::new(),
            content: None,
            links: Vec::new(),
            bytes: 0,
            error_code: None,
            error: None,
            fetched_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
        }
    }

    pub fn failed(&self) -> bool {
        self.error_code.is_some()
    }

    /// The columns a dataset of pages has: the record's field names as serialised.
    pub fn column_names() -> Vec<String> {
        match serde_json::to_value(PageRecord::new("", 0)) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_names_are_the_serialised_fields() {
        let names = PageRecord::column_names();
        for name in ["url", "final_url", "title", "content", "links", "error_code", "fetched_at"] {
            assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        }
        assert_eq!(names.len(), 15, "{names:?}");
    }
}
