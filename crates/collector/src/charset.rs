//! A page's text in the charset it declares, decoded by `encoding_rs` (the
//! WHATWG Encoding Standard's labels and decoders, Firefox's own).
//!
//! Which charset, in the HTML standard's order: a byte order mark, then the
//! `Content-Type` header's `charset`, then a `<meta charset>` or
//! `<meta http-equiv="Content-Type" content="…; charset=…">` in the first
//! 1024 bytes, else UTF-8. The `<meta>` prescan is written here because
//! `encoding_rs` decodes but does not read HTML; it is a simplified form of
//! the standard's prescan (comments and attribute order are not modelled),
//! enough for the declarations pages write.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// Bytes the `<meta>` prescan looks at (the HTML standard's limit).
const PRESCAN_BYTES: usize = 1024;

/// The body decoded; undecodable bytes become U+FFFD.
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>, html: bool) -> Cow<'a, str> {
    let declared = content_type.and_then(header_charset).or_else(|| if html { meta_charset(body) } else { None });
    // `decode` lets a byte order mark override the declaration, as browsers do.
    let (text, _, _) = declared.unwrap_or(UTF_8).decode(body);
    text
}

/// `charset=` of a `Content-Type` value.
fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// The charset a `<meta>` in the first bytes declares. As the standard
/// says, a UTF-16 label there means UTF-8 (a page readable as ASCII is not UTF-16).
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = body[..body.len().min(PRESCAN_BYTES)].to_ascii_lowercase();
    let mut rest = head.as_slice();
    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start..];
        let end = tag.iter().position(|b| *b == b'>').unwrap_or(tag.len());
        if let Some(encoding) = charset_in(&tag[..end]) {
            let utf16 = encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE;
            return Some(if utf16 { UTF_8 } else { encoding });
        }
        rest = &tag[end.max(1)..];
    }
    None
}

/// The value after `charset=` in one tag's text, up to a quote, space, `;`, `/` or the end.
fn charset_in(tag: &[u8]) -> Option<&'static Encoding> {
    let at = find(tag, b"charset")? + b"charset".len();
    let after = tag[at..].iter().position(|b| !b.is_ascii_whitespace()).map(|i| &tag[at + i..])?;
    let value = after.strip_prefix(b"=")?;
    let value = value.trim_ascii_start();
    let value = value.strip_prefix(b"\"").or_else(|| value.strip_prefix(b"'")).unwrap_or(value);
    let end = value.iter().position(|b| matches!(b, b'"' | b'\'' | b';' | b'/' | b' ' | b'>')).unwrap_or(value.len());
    Encoding::for_label(&value[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_charset_is_used() {
        assert_eq!(decode(b"caf\xe9", Some("text/html; charset=ISO-8859-1"), true), "café");
        assert_eq!(decode(b"caf\xe9", Some("text/plain;charset=\"windows-1252\""), false), "café");
    }

    #[test]
    fn a_meta_declaration_is_read_when_the_header_has_none() {
        let page = b"<!doctype html><html><head><meta charset=\"windows-1251\"><title>\xcf\xf0\xe8\xe2\xe5\xf2</title>";
        assert!(decode(page, Some("text/html"), true).contains("Привет"));
        let old_style =
            b"<html><head><META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=Shift_JIS'>\x93\xfa\x96\x7b";
        assert!(decode(old_style, None, true).contains("日本"));
        // Only HTML is prescanned.
        assert!(decode(b"<meta charset=windows-1251>\xcf", Some("text/plain"), false).contains('\u{fffd}'));
    }

    #[test]
    fn the_header_wins_over_meta_and_a_bom_over_both() {
        let page = b"<meta charset=\"windows-1251\">caf\xe9";
        assert!(decode(page, Some("text/html; charset=iso-8859-1"), true).ends_with("café"));
        let bom = b"\xef\xbb\xbf<meta charset=\"windows-1251\">caf\xc3\xa9";
        assert!(decode(bom, Some("text/html; charset=iso-8859-1"), true).ends_with("café"));
    }

    #[test]
    fn without_a_declaration_it_is_utf8_and_a_utf16_meta_means_utf8() {
        assert_eq!(decode("café".as_bytes(), None, true), "café");
        assert_eq!(decode("<meta charset=utf-16>café".as_bytes(), None, true), "<meta charset=utf-16>café");
        assert_eq!(decode("caf\u{e9}".as_bytes(), Some("text/html; charset=nonsense"), true), "café");
    }
}
