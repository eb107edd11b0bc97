use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a column holds, inferred from every value in it.
///
/// Text cells (CSV, Markdown) are classified conservatively so that turning
/// them into numbers never loses what the analyst typed: `007` and `+4412345`
/// stay strings (an id and a phone number, not 7 and 4412345), and integers
/// too large for `i64` stay strings rather than becoming rounded floats.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ColumnType {
    /// Every cell is empty (or null).
    Empty,
    /// `true` / `false` (any letter case in text formats).
    Boolean,
    /// Whole numbers that fit in 64 bits.
    Integer,
    /// Numbers with a fraction or exponent, or a mix of integers and those.
    Number,
    /// Text, or a mix of kinds that have nothing better in common.
    String,
    /// Objects or arrays (JSON, JSON Lines and YAML only); shown as JSON.
    Nested,
}

impl ColumnType {
    /// The kind of one text cell.
    pub fn of_text(text: &str) -> ColumnType {
        let text = text.trim();
        if text.is_empty() {
            ColumnType::Empty
        } else if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
            ColumnType::Boolean
        } else if parse_integer(text).is_some() {
            ColumnType::Integer
        } else if parse_number(text).is_some() {
            ColumnType::Number
        } else {
            ColumnType::String
        }
    }

    /// The kind of one JSON or YAML value.
    pub fn of_value(value: &Value) -> ColumnType {
        match value {
            Value::Null => ColumnType::Empty,
            Value::Bool(_) => ColumnType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => ColumnType::Integer,
            Value::Number(_) => ColumnType::Number,
            Value::String(_) => ColumnType::String,
            Value::Array(_) | Value::Object(_) => ColumnType::Nested,
        }
    }

    /// The type of a column holding values of both kinds.
    pub fn join(self, other: ColumnType) -> ColumnType {
        use ColumnType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Empty, x) | (x, Empty) => x,
            (Integer, Number) | (Number, Integer) => Number,
            _ => String,
        }
    }

    /// The typed value of a text cell in a column of this type.
    ///
    /// Empty cells become `null`; cells of a `String` column stay exactly as
    /// written (surrounding spaces included).
    pub fn convert_text(self, text: String) -> Value {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Value::Null;
        }
        let typed = match self {
            ColumnType::Boolean => Some(Value::Bool(trimmed.eq_ignore_ascii_case("true"))),
            ColumnType::Integer => parse_integer(trimmed).map(Value::from),
            ColumnType::Number => parse_number(trimmed)
                .or_else(|| parse_integer(trimmed).map(|i| i as f64))
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            _ => None,
        };
        typed.unwrap_or(Value::String(text))
    }
}

/// `-?(0|[1-9][0-9]*)` within `i64`. No `+`, no leading zeros: see [`ColumnType`].
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    text.parse().ok()
}

/// A JSON-style decimal with a fraction or an exponent, finite as `f64`.
///
/// `.5` is accepted (spreadsheets write it); `1.` is not; the integer part
/// has no leading zeros, for the same reason as [`parse_integer`].
fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.strip_prefix('-').unwrap_or(text).as_bytes();
    let int_len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if int_len > 1 && bytes[0] == b'0' {
        return None;
    }
    let mut i = int_len;
    let mut frac_len = 0;
    if bytes.get(i) == Some(&b'.') {
        frac_len = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if frac_len == 0 {
            return None;
        }
        i += 1 + frac_len;
    }
    let mut has_exponent = false;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_len = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_len == 0 {
            return None;
        }
        i += exp_len;
        has_exponent = true;
    }
    let shaped = i == bytes.len() && int_len + frac_len > 0 && (frac_len > 0 || has_exponent);
    if !shaped {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::ColumnType::{self, *};

    fn check(text: &str, expected: ColumnType) {
        assert_eq!(ColumnType::of_text(text), expected, "classifying {text:?}");
    }

    #[test]
    fn text_classification() {
        for (text, ty) in [
            ("", Empty),
            ("   ", Empty),
            ("true", Boolean),
            ("FALSE", Boolean),
            ("0", Integer),
            ("-12", Integer),
            (" 42 ", Integer),
            ("9223372036854775807", Integer),
            ("9223372036854775808", String),
            ("007", String),
            ("+4412345", String),
            ("1.5", Number),
            ("-0.25", Number),
            (".5", Number),
            ("1e3", Number),
            ("2.5E-3", Number),
            ("1.", String),
            ("1e", String),
            ("01.5", String),
            ("1e400", String),
            ("NaN", String),
            ("inf", String),
            ("1,000", String),
            ("yes", String),
        ] {
            check(text, ty);
        }
    }

    #[test]
    fn join_is_commutative_and_widens() {
        let all = [Empty, Boolean, Integer, Number, String, Nested];
        for a in all {
            for b in all {
                assert_eq!(a.join(b), b.join(a), "{a:?} ⊔ {b:?}");
            }
            assert_eq!(a.join(Empty), a);
            assert_eq!(a.join(a), a);
        }
        assert_eq!(Integer.join(Number), Number);
        assert_eq!(Integer.join(Boolean), String);
        assert_eq!(Nested.join(Integer), String);
    }

    #[test]
    fn conversion_is_lossless_for_strings() {
        assert_eq!(Integer.convert_text("42".into()), serde_json::json!(42));
        assert_eq!(Number.convert_text("42".into()), serde_json::json!(42.0));
        assert_eq!(Boolean.convert_text("TRUE".into()), serde_json::json!(true));
        assert_eq!(String.convert_text(" 007 ".into()), serde_json::json!(" 007 "));
        assert_eq!(String.convert_text("  ".into()), serde_json::Value::Null);
    }
}
