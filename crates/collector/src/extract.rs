//! What a page says: its main content (dom_smoothie, a port of Mozilla's
//! Readability), title, links and metadata (description, canonical, og:*,
//! twitter:*, article:*), from one parse of the HTML.

use std::collections::BTreeMap;

use dom_query::Document;
use dom_smoothie::{Config, Readability, TextMode};
use url::Url;

/// The most elements Readability scores; larger pages keep their metadata
/// and links, and their text comes from `<body>` instead.
const MAX_ELEMENTS: usize = 100_000;

/// What [`extract`] found in a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub description: Option<String>,
    pub canonical: Option<String>,
    /// `og:*`, `twitter:*`, `article:*`, `author`, `keywords`, by name.
    pub metadata: BTreeMap<String, String>,
    /// The main content as text.
    pub content: String,
    /// Every http(s) link, absolute, without fragment, in page order, once.
    pub links: Vec<String>,
}

/// Extracts from an HTML page fetched from `url`.
pub fn extract(html: &str, url: &Url) -> Extracted {
    let document = Document::from(html);
    let base = document
        .select("base[href]")
        .attr("href")
        .and_then(|href| url.join(href.trim()).ok())
        .unwrap_or_else(|| url.clone());
    let metadata = metadata(&document);
    let description = metadata.get("description").or_else(|| metadata.get("og:description")).cloned();
    let canonical = document
        .select(r#"link[rel~="canonical"][href]"#)
        .attr("href")
        .and_then(|href| base.join(href.trim()).ok())
        .map(String::from);
    let links = links(&document, &base);
    let page_title = non_empty(document.select("title").first().text().trim());
    // Kept for a page without an article: Readability takes the document.
    let body_text = collapse(&document.select("body").text());
    let config = Config { max_elements_to_parse: MAX_ELEMENTS, text_mode: TextMode::Formatted, ..Config::default() };
    // Readability rewrites the tree, so it runs last, on the same document.
    let (title, content) = match Readability::with_document(document, Some(url.as_str()), Some(config))
        .and_then(|mut readability| readability.parse())
    {
        Ok(article) => {
            let text = article.text_content.trim().to_owned();
            let text = if text.is_empty() { body_text } else { text };
            (non_empty(article.title.trim()).or(page_title), text)
        }
        Err(err) => {
            tracing::debug!(%url, error = %err, "no article found; using the body's text");
            (page_title, body_text)
        }
    };
    Extracted { title, description, canonical, metadata, content, links }
}

fn metadata(document: &Document) -> BTreeMap<String, String> {
    const KEPT: [&str; 3] = ["og:", "twitter:", "article:"];
    let mut found = BTreeMap::new();
    for meta in document.select("meta[content]").iter() {
        let Some(name) = meta.attr("property").or_else(|| meta.attr("name")) else { continue };
        let name = name.trim().to_ascii_lowercase();
        let wanted =
            KEPT.iter().any(|p| name.starts_with(p)) || ["description", "author", "keywords"].contains(&&*name);
        if wanted && let Some(content) = meta.attr("content").and_then(|c| non_empty(c.trim())) {
            found.entry(name).or_insert(content);
        }
    }
    found
}

fn links(document: &Document, base: &Url) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut links = Vec::new();
    for anchor in document.select("a[href]").iter() {
        let Some(href) = anchor.attr("href") else { continue };
        let Ok(mut link) = base.join(href.trim()) else { continue };
        if !matches!(link.scheme(), "http" | "https") {
            continue;
        }
        link.set_fragment(None);
        let link = String::from(link);
        if seen.insert(link.clone()) {
            links.push(link);
        }
    }
    links
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Whitespace runs as one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_content_title_links_and_metadata() {
        let html = r#"<!doctype html><html><head>
<title>Tide tables | Harbour</title>
<meta name="description" content="When the water comes and goes.">
<meta property="og:title" content="Tide tables">
<meta property="og:image" content="https://cdn.example/t.png">
<meta name="viewport" content="width=device-width">
<link rel="canonical" href="/tides">
</head><body>
<nav><a href="/">Home</a> <a href="/about#team">About</a> <a href="mailto:x@example.com">Mail</a></nav>
<article><h1>Tide tables</h1>
<p>High water at the harbour mouth comes about fifty minutes later every day, because the moon moves on its orbit while the earth turns. Sailors plan their departures around it.</p>
<p>Spring tides follow the new and full moon, and neap tides the quarters; the range between high and low water is largest at springs. <a href="https://other.example/moon">More on the moon</a>.</p>
</article>
<footer>© Harbour office</footer>
</body></html>"#;
        let url = Url::parse("https://harbour.example/tides?utm=1").expect("url");
        let page = extract(html, &url);
        assert_eq!(page.title.as_deref(), Some("Tide tables"));
        assert_eq!(page.description.as_deref(), Some("When the water comes and goes."));
        assert_eq!(page.canonical.as_deref(), Some("https://harbour.example/tides"));
        assert_eq!(page.metadata.get("og:image").map(String::as_str), Some("https://cdn.example/t.png"));
        assert!(!page.metadata.contains_key("viewport"));
        assert!(page.content.contains("fifty minutes later"), "{}", page.content);
        assert!(!page.content.contains("Harbour office"), "the footer is not main content: {}", page.content);
        assert_eq!(
            page.links,
            ["https://harbour.example/", "https://harbour.example/about", "https://other.example/moon"]
        );
    }
}
