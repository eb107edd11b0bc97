//! Sitemaps (sitemaps.org): a `<urlset>` of page locations or a
//! `<sitemapindex>` of further sitemaps, read with quick-xml.

use quick_xml::Reader;
use quick_xml::events::Event;

/// The most a sitemap may be (the protocol's own limit, uncompressed).
pub const MAX_SITEMAP_BYTES: u64 = 50 * 1024 * 1024;

/// What a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// Pages.
    Pages(Vec<String>),
    /// Further sitemaps.
    Index(Vec<String>),
}

/// Reads a sitemap document: the `<loc>` of each `<url>` or `<sitemap>`.
pub fn parse(xml: &[u8]) -> Result<Sitemap, String> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut root: Option<Vec<u8>> = None;
    let mut in_loc = false;
    let mut location = String::new();
    let mut locations = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(start)) => {
                let name = start.local_name().as_ref().to_vec();
                if root.is_none() {
                    root = Some(name.clone());
                }
                in_loc = name == b"loc";
                location.clear();
            }
            Ok(Event::End(_)) => {
                if in_loc && !location.trim().is_empty() {
                    locations.push(location.trim().to_owned());
                }
                in_loc = false;
            }
            Ok(Event::Text(text)) if in_loc => {
                location.push_str(&text.decode().map_err(|err| format!("bad text in <loc>: {err}"))?);
            }
            // quick-xml hands `&amp;` and the like over on their own.
            Ok(Event::GeneralRef(reference)) if in_loc => {
                let name = reference.decode().map_err(|err| format!("bad <loc>: {err}"))?;
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name}; in <loc>"))?
                        .to_owned(),
                };
                location.push_str(&resolved);
            }
            Ok(Event::CData(text)) if in_loc => location.push_str(&String::from_utf8_lossy(&text)),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(err) => return Err(format!("not well-formed XML at byte {}: {err}", reader.error_position())),
        }
        buf.clear();
    }
    match root.as_deref() {
        Some(b"urlset") => Ok(Sitemap::Pages(locations)),
        Some(b"sitemapindex") => Ok(Sitemap::Index(locations)),
        Some(other) => Err(format!(
            "its root element is <{}>, not <urlset> or <sitemapindex> (a compressed .xml.gz sitemap is not read)",
            String::from_utf8_lossy(other)
        )),
        None => Err("it is empty".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_urlsets_and_indexes() {
        let urlset = br#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://site.example/a?x=1&amp;y=2</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc><![CDATA[https://site.example/b]]></loc></url>
</urlset>"#;
        assert_eq!(
            parse(urlset),
            Ok(Sitemap::Pages(vec!["https://site.example/a?x=1&y=2".into(), "https://site.example/b".into()]))
        );
        let index = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://site.example/s1.xml</loc></sitemap></sitemapindex>"#;
        assert_eq!(parse(index), Ok(Sitemap::Index(vec!["https://site.example/s1.xml".into()])));
    }

    #[test]
    fn refuses_what_is_not_a_sitemap() {
        assert!(parse(b"<html><body>hi</body></html>").is_err());
        assert!(parse(b"<urlset><url><loc>x</url>").is_err());
        assert!(parse(b"").is_err());
    }
}
