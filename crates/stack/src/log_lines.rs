//! Log output as lines: [`crate::Stack::logs`] yields chunks as the engine
//! sends them, which may end mid-line.

/// Log chunks split at newlines; a partial last line waits for the next chunk.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// The lines `chunk` completes (invalid UTF-8 replaced), without their line endings.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(chunk);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        String::from_utf8_lossy(&complete).lines().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::LineSplitter;

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let mut lines = LineSplitter::default();
        assert_eq!(lines.push(b"one\ntw"), ["one"]);
        assert!(lines.push(b"o").is_empty());
        assert_eq!(lines.push(b"\nthree\n"), ["two", "three"]);
    }
}
