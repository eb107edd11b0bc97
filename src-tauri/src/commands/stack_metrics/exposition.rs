//! The sample lines of the Prometheus text exposition format (version 0.0.4,
//! what the `prometheus` crate's `TextEncoder` writes for the sidecars).
//!
//! Hand-written, not a crate: `prometheus-parse` 0.2.5, the usual choice,
//! reads labels with the regex `\{[^}]+\}` and splits them on `,` and `=`,
//! so it silently drops every line whose label value holds a `}` (the
//! gateway's proxied route is `route="/api/{*path}"`, nearly all its traffic)
//! and cuts values holding a comma; `openmetrics-parser` is LGPL-3.0, and the
//! others are unmaintained 0.1 releases. The grammar needed here is one line
//! shape (`name{label="value",…} value [timestamp]`, values escaped with
//! `\\`, `\"` and `\n`), so a small parser with tests is the smaller risk.
//! `# HELP` / `# TYPE` lines are skipped: the dashboard knows its series by name.

/// One sample: a series' name, its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A line that is not a sample, comment or blank line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the metrics page: {reason}")]
pub struct LineError {
    pub line: usize,
    pub reason: &'static str,
}

/// Every sample of `text`, and the lines that could not be read (each kept
/// out; one odd line must not hide the rest of a service's metrics).
pub fn parse(text: &str) -> (Vec<Sample>, Vec<LineError>) {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match sample(line) {
            Ok(sample) => samples.push(sample),
            Err(reason) => errors.push(LineError { line: index + 1, reason }),
        }
    }
    (samples, errors)
}

fn sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(line.len());
    if name_end == 0 {
        return Err("no metric name");
    }
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let labels = match rest.strip_prefix('{') {
        Some(after) => {
            let (labels, after) = labels(after)?;
            rest = after;
            labels
        }
        None => Vec::new(),
    };
    // The value, then an optional timestamp the dashboard does not need.
    let value = rest.split_whitespace().next().ok_or("no value")?;
    Ok(Sample { name: name.to_owned(), labels, value: number(value)? })
}

/// A sample's labels, `(name, value)` in the page's order.
type Labels = Vec<(String, String)>;

/// `label="value",…}` and what follows the closing brace.
fn labels(mut rest: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (key, after) = rest.split_once('=').ok_or("a label without `=`")?;
        let after = after.trim_start().strip_prefix('"').ok_or("a label value without quotes")?;
        let (value, after) = quoted(after)?;
        labels.push((key.trim().to_owned(), value));
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The escaped text up to the closing quote, and what follows it.
fn quoted(text: &str) -> Result<(String, &str), &'static str> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, escaped)) => value.push(escaped),
                None => return Err("an escape at the end of the line"),
            },
            c => value.push(c),
        }
    }
    Err("a label value without its closing quote")
}

/// A sample value: a float, `+Inf`, `-Inf` or `NaN` (Go's spellings).
pub fn number(text: &str) -> Result<f64, &'static str> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        other => other.parse().map_err(|_| "a value that is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_labels_values_and_skips_comments() {
        let text = "# HELP gateway_http_requests_total HTTP requests answered\n\
                    # TYPE gateway_http_requests_total counter\n\
                    gateway_http_requests_total{method=\"POST\",route=\"/api/{*path}\",status=\"200\"} 7\n\
                    \n\
                    up 1 1712345678000\n\
                    x_seconds_bucket{route=\"/a,b\",le=\"+Inf\"} 2\n";
        let (samples, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(samples.len(), 3);
        // The line prometheus-parse drops: a `}` inside a label value.
        assert_eq!(samples[0].name, "gateway_http_requests_total");
        assert_eq!(samples[0].label("route"), Some("/api/{*path}"));
        assert_eq!(samples[0].label("status"), Some("200"));
        assert_eq!(samples[0].value, 7.0);
        assert_eq!((samples[1].name.as_str(), samples[1].value, samples[1].labels.len()), ("up", 1.0, 0));
        assert_eq!(samples[2].label("route"), Some("/a,b"), "a comma inside a value");
        assert_eq!(samples[2].label("le"), Some("+Inf"));
        assert_eq!(number("+Inf"), Ok(f64::INFINITY));
    }

    #[test]
    fn unescapes_label_values_and_reports_broken_lines_by_number() {
        let (samples, errors) =
            parse("a{path=\"C:\\\\dir\",say=\"\\\"hi\\\"\\n\"} 1.5e3\nb{x=\"open} 1\nc{x=\"1\"} many\nd 2\n");
        assert_eq!(samples.len(), 2, "the good lines are kept: {samples:?}");
        assert_eq!(samples[0].label("path"), Some("C:\\dir"));
        assert_eq!(samples[0].label("say"), Some("\"hi\"\n"));
        assert_eq!(samples[0].value, 1500.0);
        assert_eq!(samples[1].name, "d");
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3]);
        assert!(errors[0].to_string().contains("line 2"), "{}", errors[0]);
    }
}
