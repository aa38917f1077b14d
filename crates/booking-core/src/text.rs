//! The one rule every free-text field shares (names, reasons, answers, questions, link titles
//! and descriptions): no control characters, except that multi-line texts keep their line
//! feeds and tabs.
//!
//! The rule lives in the domain types' constructors, so every adapter and every store sees the
//! same texts: Postgres cannot store a NUL byte that SQLite would, a mail header cannot be
//! broken by a stray carriage return, and no adapter can forget the check.

/// Whether `c` may appear in a multi-line text: anything but a control character, except the
/// line feed and the tab.
pub fn allowed_in_multiline(c: char) -> bool {
    !c.is_control() || c == '\n' || c == '\t'
}

/// Whether `text` holds no control character at all (one-line fields: names, titles).
pub fn is_single_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// `text` with its line breaks as `\n` (browsers send a textarea's as `\r\n`), or `None` when
/// it holds any other control character.
pub fn multiline(text: &str) -> Option<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars().all(allowed_in_multiline).then_some(text)
}

/// `text` without the characters the rule refuses, line breaks normalised: for reading rows
/// written before the rule, which are shown as they are best shown rather than lost.
pub fn scrubbed(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| allowed_in_multiline(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_keeps_line_breaks_and_tabs_and_refuses_other_controls() {
        assert_eq!(multiline("a\r\nb\rc\td").as_deref(), Some("a\nb\nc\td"));
        for bad in ["nul\0", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\u{85}"] {
            assert_eq!(multiline(bad), None, "{bad:?}");
        }
        assert_eq!(scrubbed("a\0b\r\nc"), "ab\nc");
    }

    #[test]
    fn single_line_refuses_every_control() {
        assert!(is_single_line("Zoë – café"));
        assert!(!is_single_line("a\nb"));
        assert!(!is_single_line("a\tb"));
        assert!(!is_single_line("a\0"));
    }
}
