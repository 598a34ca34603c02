//! Client-supplied text made safe for a log field: shared by the wire (access lines, faults) and the
//! credential checks below it.

/// Longest client-supplied text written into a log field; the rest is summarised by its length.
const MAX_LOGGED_CHARS: usize = 200;

/// A client-supplied string (model, method, login, db…) made safe for a log field: control characters,
/// quotes and backslashes escaped as in Rust's `escape_debug` (a `\n` in a model name cannot start a
/// forged log line, whatever the log format), cut after 200 characters with the full length noted.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            write!(f, "…({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Shorthand for `Escaped(text)` in a `%field`.
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_has_no_line_breaks_and_is_bounded() {
        let forged = "res.partner\n2026-01-01T00:00:00Z  INFO forged: admin logged in";
        let shown = escaped(forged).to_string();
        assert!(!shown.contains('\n') && shown.starts_with("res.partner\\n2026"), "{shown}");
        let huge = "x".repeat(1_000_000);
        let shown = escaped(&huge).to_string();
        assert!(shown.len() < 300 && shown.ends_with("…(1000000 bytes)"), "{shown}");
        assert_eq!(escaped("a\u{1b}[31m\r\"b").to_string(), "a\\u{1b}[31m\\r\\\"b");
    }
}
