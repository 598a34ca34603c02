//! Text as the bridge stores it: the one cleaning point for every stored string, from clients and from Salt
//! Edge alike. XML 1.0 cannot carry C0 controls (other than tab, line feed and carriage return) nor
//! U+FFFE/U+FFFF, so a stored one would make every later XML-RPC answer that carries it unreadable (Python's
//! expat refuses the whole answer); PostgreSQL refuses NUL in text outright. Lone surrogates cannot occur in a
//! Rust `str` (decoders replace or refuse them), so no input reaches storage with one.

use std::borrow::Cow;

/// Whether `c` may be stored: everything but the C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF.
fn storable(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `text` without the characters that cannot be stored; borrowed when there is nothing to remove.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    if text.chars().all(storable) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|c| storable(*c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_nul_and_non_characters_go_tab_newline_and_the_rest_stay() {
        assert_eq!(clean_text("a\u{0}b\u{1}c\u{1f}d\u{fffe}e\u{ffff}f"), "abcdef");
        assert_eq!(clean_text("tab\there\nnew\r\nline"), "tab\there\nnew\r\nline");
        assert_eq!(clean_text("Zürich 漢字 💶 \u{fffd} \u{7f}"), "Zürich 漢字 💶 \u{fffd} \u{7f}");
        assert!(matches!(clean_text("plain"), Cow::Borrowed(_)));
    }
}
