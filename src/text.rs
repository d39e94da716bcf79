//! Untrusted text, on both sides of the contract.
//!
//! Names and values travel from one user to another: a project admin types a variable value,
//! a super admin reads it in `keydeck keys list` inside tmux. A terminal acts on what it is sent,
//! so an ESC in stored text is a command to the reader's terminal (OSC 52 fills the clipboard,
//! `ESC [2J` clears the screen), and bidi overrides or zero-width characters make two different
//! names look alike. Both sides therefore share one definition of a *hidden* character:
//! the service refuses them in everything name-like it stores ([`clean_name`]) and compares names
//! in one canonical form ([`name_key`]); the client shows whatever still arrives (legacy rows,
//! server messages, database text from pg_stat_statements) through [`visible`], so no byte of it
//! reaches the terminal as a control sequence.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_normalization::UnicodeNormalization;

/// Whether `c` changes the terminal or the text's direction, or is invisible, rather than
/// showing as a glyph: controls (Cc), format characters (Cf: bidi controls, zero-width
/// joiners, tag characters, …), private-use (Co) and unassigned (Cn) code points, every
/// Default_Ignorable_Code_Point (variation selectors, fillers, …), the line and paragraph
/// separators, and the blanks that show as nothing (U+2800 BRAILLE PATTERN BLANK, the Hangul
/// fillers). The properties come from ICU4X's Unicode data, not from tables of our own.
pub fn is_hidden_char(c: char) -> bool {
    use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
    use icu_properties::{CodePointMapData, CodePointSetData};
    // `char::is_control` is exactly the Cc category: C0 (U+0000–U+001F), DEL and C1 (U+0080–U+009F).
    if c.is_control() {
        return true;
    }
    // Printable ASCII is by far the most common case: decided without a lookup.
    if c.is_ascii() {
        return false;
    }
    matches!(
        c,
        // Line and paragraph separators break a line where no newline is seen; the blanks show
        // as nothing (they are letters and symbols, so no property below catches them all).
        '\u{2028}' | '\u{2029}' | '\u{2800}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
    ) || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || matches!(
            CodePointMapData::<GeneralCategory>::new().get(c),
            GeneralCategory::Format | GeneralCategory::PrivateUse | GeneralCategory::Unassigned
        )
}

/// Why a name-like input was refused; the message is meant for the user who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace: a name has to be seen to be told apart.
    #[error("must not be empty")]
    Empty,
    /// Longer than the field allows, counted in characters after normalisation.
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    /// A control, bidi or invisible character: it would act on a reader's terminal or make two
    /// names look alike. The character is named by its escape, never embedded raw.
    #[error("must not contain control, bidi or invisible characters (found {} at character {position})", .ch.escape_unicode())]
    HiddenChar { ch: char, position: usize },
}

/// The stored form of a name-like input: refuses any hidden character (anywhere, including at
/// the ends, so a trailing newline is refused rather than silently dropped), then NFC-normalises,
/// trims whitespace, and refuses an empty or over-long result.
pub fn clean_name(input: &str, max_chars: usize) -> Result<String, NameError> {
    if let Some((position, ch)) = input.chars().enumerate().find(|&(_, c)| is_hidden_char(c)) {
        return Err(NameError::HiddenChar { ch, position });
    }
    let normalised: String = input.nfc().collect();
    let trimmed = normalised.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > max_chars {
        return Err(NameError::TooLong { max: max_chars });
    }
    Ok(trimmed.to_owned())
}

/// The comparison form of a name, for NAME_TAKEN: NFC, trimmed, lowercased, then its UTS #39
/// confusable skeleton (unicode-security's tables). `"Copy test "`, `"copy test"`, a
/// decomposed `"cafe\u{301}"` beside `"café"`, and `"reаdonly"` with a Cyrillic `а` beside
/// `"readonly"` map to one key, so they cannot sit side by side looking the same.
///
/// Stored beside every key ([`NAME_KEY_VERSION`] says which form the store holds).
pub fn name_key(name: &str) -> String {
    // A skeleton can hold capitals (`¥` → `Y̵`), whose lowercase has a skeleton of its own:
    // folding again until nothing changes makes the key a fixed point (a key's key is itself).
    let mut key = fold(name);
    for _ in 0..4 {
        let again = fold(&key);
        if again == key {
            break;
        }
        key = again;
    }
    key
}

/// One round of [`name_key`]: NFC, trimmed, lowercased, skeleton, NFC again.
fn fold(name: &str) -> String {
    let normalised: String = name.nfc().collect();
    let lower = normalised.trim().to_lowercase();
    // The skeleton is NFD: the key is stored NFC, as before.
    unicode_security::skeleton(&lower).nfc().collect()
}

/// The form a name sorts by: NFC, trimmed, lowercased (unlike [`name_key`], no skeleton:
/// `0` stays before `a`). Stored beside every key, so that an order by name is an index.
pub fn name_order(name: &str) -> String {
    let normalised: String = name.nfc().collect();
    normalised.trim().to_lowercase().nfc().collect()
}

/// The version of [`name_key`]'s form: a store whose keys were computed by an older version
/// computes them again when it opens (1: NFC, trimmed, lowercased; 2: and its skeleton;
/// 3: and [`name_order`] beside it).
pub const NAME_KEY_VERSION: i64 = 3;

/// Untrusted text as a terminal may show it on one line: ESC as `␛`, other C0 controls as their
/// control pictures (newline `␊`, tab `␉`), DEL as `␡`, and C1, bidi, zero-width and the other
/// hidden characters as `\u{202e}`-style escapes. Borrows when there is nothing to change, which
/// is nearly always. Every human-readable client output passes through here; `--json` does not.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            // ESC's picture is U+241B like the rest of C0; named for the reader of this match.
            '\u{1B}' => out.push('␛'),
            '\u{00}'..='\u{1F}' => out.push(control_picture(c)),
            '\u{7F}' => out.push('␡'),
            c if is_hidden_char(c) => {
                // Writing into a String cannot fail.
                let _ = write!(out, "{}", c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The Unicode control picture (U+2400 block) of a C0 control character.
fn control_picture(c: char) -> char {
    char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}')
}

/// The mark a value cut to fit a width ends with.
pub const ELLIPSIS: char = '…';

/// Cells `c` takes on a terminal (a CJK character two, a combining mark none).
pub fn char_width(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Cells `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` in at most `max` cells: whole, or its start and `…`. Never cut silently: a reader
/// must be able to tell a short value from a cut one (the TUI's cells and the CLI's tables).
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    format!("{}{ELLIPSIS}", width_prefix(text, max - 1))
}

/// The longest start of `text` in at most `max` cells.
pub fn width_prefix(text: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += char_width(c);
        if used > max {
            return &text[..i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_chars_are_the_listed_ones() {
        for c in [
            '\0',
            '\x07',
            '\n',
            '\x1b',
            '\x7f',
            '\u{85}',
            '\u{9f}',
            '\u{61c}',
            '\u{200b}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2060}',
            '\u{2064}',
            '\u{feff}',
            '\u{ad}',
            '\u{2028}',
            '\u{2029}',
            // Issue 17.6: tags, variation selectors, fillers, blanks, private use, unassigned.
            '\u{e0041}',
            '\u{e007f}',
            '\u{fe0f}',
            '\u{e0100}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{2800}',
            '\u{34f}',
            '\u{180e}',
            '\u{17b4}',
            '\u{17b5}',
            '\u{206a}',
            '\u{206f}',
            '\u{fff9}',
            '\u{fffb}',
            '\u{e000}',
            '\u{2065}',
            '\u{10ffff}',
        ] {
            assert!(is_hidden_char(c), "{}", c.escape_unicode());
        }
        for c in [
            'a', ' ', 'é', '\u{a0}', '␛', '\u{2070}', '日', '😀', 'а', 'ß',
        ] {
            assert!(!is_hidden_char(c), "{}", c.escape_unicode());
        }
    }

    #[test]
    fn clean_name_trims_normalises_and_refuses() {
        assert_eq!(clean_name("  copy test ", 10).as_deref(), Ok("copy test"));
        assert_eq!(clean_name("cafe\u{301}", 10).as_deref(), Ok("café"));
        assert_eq!(clean_name("   ", 10), Err(NameError::Empty));
        assert_eq!(clean_name("abcdef", 5), Err(NameError::TooLong { max: 5 }));
        // Counted in characters, not bytes.
        assert_eq!(clean_name("ééééé", 5).as_deref(), Ok("ééééé"));
        assert_eq!(
            clean_name("ops\n", 10),
            Err(NameError::HiddenChar {
                ch: '\n',
                position: 3
            })
        );
        let err = clean_name("a\u{202e}b", 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "must not contain control, bidi or invisible characters (found \\u{202e} at character 1)"
        );
    }

    #[test]
    fn name_key_folds_space_case_and_composition() {
        assert_eq!(name_key("Copy Test "), name_key("copy test"));
        assert_eq!(name_key("CAFE\u{301}"), name_key("café"));
        assert_ne!(name_key("copy test"), name_key("copy  test"));
    }

    #[test]
    fn name_key_folds_look_alikes() {
        // A Cyrillic а, a Greek ο, a fullwidth letter: each looks like the Latin name.
        assert_eq!(name_key("re\u{430}donly"), name_key("readonly"));
        assert_eq!(name_key("Readonly"), name_key("rеаdоnlу"));
        assert_eq!(name_key("\u{ff52}eadonly"), name_key("readonly"));
        assert_ne!(name_key("readonly"), name_key("readwrite"));
    }

    use proptest::prelude::*;

    /// Text with a fair share of what an attacker would send, amid ordinary characters.
    fn hostile_text() -> impl Strategy<Value = String> {
        let hidden = prop::sample::select(vec![
            '\x1b', '\x07', '\n', '\t', '\r', '\0', '\x7f', '\u{85}', '\u{9b}', '\u{202e}',
            '\u{2066}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{ad}', '\u{2028}', '\u{61c}',
        ]);
        let ordinary = prop::sample::select(vec![
            ' ', 'a', 'Z', 'e', '\u{301}', 'é', '\u{a0}', '\u{3000}', 'İ', 'ß', '日', '😀', ']',
            ';',
        ]);
        let any = any::<char>();
        prop::collection::vec(prop_oneof![hidden, ordinary, any], 0..40)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn clean_name_output_is_clean_trimmed_and_stable(s in hostile_text(), max in 1..50usize) {
            if let Ok(clean) = clean_name(&s, max) {
                prop_assert!(!clean.chars().any(is_hidden_char));
                prop_assert_eq!(clean.trim(), clean.as_str());
                prop_assert!(!clean.is_empty() && clean.chars().count() <= max);
                prop_assert_eq!(clean_name(&clean, max), Ok(clean.clone()));
                prop_assert_eq!(name_key(&clean), name_key(&s));
            } else {
                prop_assert!(s.chars().any(is_hidden_char)
                    || s.trim().is_empty()
                    || s.chars().count() > max
                    || s.nfc().count() > max);
            }
        }

        #[test]
        fn name_key_is_stable(s in hostile_text()) {
            let key = name_key(&s);
            prop_assert_eq!(name_key(&key), key);
        }

        #[test]
        fn visible_output_has_nothing_hidden(s in hostile_text()) {
            let shown = visible(&s);
            prop_assert!(!shown.chars().any(is_hidden_char), "{:?}", shown);
            prop_assert!(!shown.contains('\x1b'));
        }

        #[test]
        fn visible_is_the_identity_on_clean_text(s in hostile_text()) {
            let clean: String = s.chars().filter(|&c| !is_hidden_char(c)).collect();
            prop_assert!(matches!(visible(&clean), Cow::Borrowed(b) if b == clean));
        }
    }

    #[test]
    fn visible_shows_what_the_terminal_would_act_on() {
        assert_eq!(visible("\x1b]52;c;Y3VybA==\x07"), "␛]52;c;Y3VybA==␇");
        assert_eq!(visible("a\nb\tc\x7f"), "a␊b␉c␡");
        assert_eq!(
            visible("\u{202e}abc\u{200b}\u{9b}"),
            "\\u{202e}abc\\u{200b}\\u{9b}"
        );
        assert!(matches!(visible("plain café 日本"), Cow::Borrowed(_)));
    }
}
