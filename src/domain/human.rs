//! Text people typed (names, titles, comments) as ackbot keeps it: without
//! control characters, bidi controls and invisible characters.
//!
//! Why one place on the way in: a name such as "Li Lei\u{202E}..." or one
//! padded with zero-width spaces reads differently from what it is, so
//! "Acknowledged by …" on a card or a link page could be made to lie. Cleaning
//! where the text enters (an alert's title and content, the name of whoever
//! acts, a silence's author and comment) means every card, page, reply and
//! API answer shows the same honest string; the renderers' escapers still
//! drop the same characters on the way out, as a second line.

/// Characters that change how text around them reads, or are not seen at
/// all: C0/C1 controls (newline and tab are the caller's choice), bidi
/// embeddings, overrides, isolates and marks, zero-width spaces and joiners,
/// word joiner and invisible operators, the BOM, the soft hyphen, Mongolian
/// vowel separator, interlinear annotation controls and tag characters.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// A name on one line: invisible characters dropped, line breaks and tabs
/// as spaces, runs of spaces as one, trimmed, at most `max_chars`.
pub fn name(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        let c = if c == '\n' || c == '\r' || c == '\t' {
            ' '
        } else {
            c
        };
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= max_chars {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Text that may span lines: invisible characters dropped, `\n` and `\t`
/// kept (`\r\n` becomes `\n`).
pub fn text(s: &str) -> String {
    if !s.chars().any(|c| c != '\n' && c != '\t' && is_invisible(c)) {
        return s.to_string();
    }
    s.chars()
        .filter(|&c| c == '\n' || c == '\t' || !is_invisible(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spoofing_characters_are_dropped() {
        assert_eq!(name("Li Lei\u{202E}ieL iL", 64), "Li LeiieL iL");
        assert_eq!(
            name("\u{200B}Han\u{200D} Mei\u{FEFF}mei\u{2066}", 64),
            "Han Meimei"
        );
        assert_eq!(name("  Li\n\t Lei \u{0007}", 64), "Li Lei");
        assert_eq!(name("张三\u{200F}", 64), "张三");
        assert_eq!(name("abcdef", 3), "abc");
        assert_eq!(name("ab cdef", 3), "ab");
        assert_eq!(name("\u{202E}\u{200B}", 10), "");
        assert_eq!(text("line 1\r\nline\u{202E} 2\t!"), "line 1\nline 2\t!");
        assert_eq!(text("plain"), "plain");
    }

    proptest! {
        #[test]
        fn names_are_clean_bounded_and_stable(s in any::<String>(), max in 1usize..80) {
            let n = name(&s, max);
            prop_assert!(n.chars().count() <= max);
            prop_assert!(!n.chars().any(is_invisible));
            prop_assert_eq!(n.trim(), n.as_str());
            prop_assert_eq!(name(&n, max), n.clone());
            let t = text(&s);
            prop_assert!(!t.chars().any(|c| c != '\n' && c != '\t' && is_invisible(c)));
            prop_assert_eq!(text(&t), t.clone());
        }
    }
}
