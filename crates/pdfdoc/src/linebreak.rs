//! Line breaking for mixed Chinese and Latin text.
//!
//! Chinese may break between any two characters, Latin words only at spaces, and a token
//! wider than the line (a SHA-256 digest, a URL) anywhere. Closing punctuation (，。）、…)
//! is kept on the line of the character before it and opening punctuation (（《“…) on the
//! line of the character after it, the common rules of Chinese typesetting (禁则).

/// Advance widths of characters, in em; the font in production, a fixed table in tests.
pub(crate) trait Measure {
    /// Advance of `c` in em (1.0 = the font size).
    fn advance(&self, c: char) -> f32;

    /// Whether the font has a glyph for `c` (else a stand-in box is drawn).
    fn has(&self, _c: char) -> bool {
        true
    }

    /// Width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }
}

/// Characters that may not start a line.
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '》'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〉'
            | '〗'
            | '”'
            | '’'
            | '…'
            | '％'
            | '·'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Characters that may not end a line.
fn is_opening(c: char) -> bool {
    matches!(
        c,
        '（' | '《' | '「' | '『' | '【' | '〔' | '〈' | '〖' | '“' | '‘'
    )
}

/// Characters after and before which a line may break: ideographs, kana, hangul, CJK symbols
/// and full-width forms.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
            | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// A piece of text the greedy filler places as a whole when it can.
#[derive(Debug, PartialEq)]
struct Atom {
    text: String,
    /// Whether a space separates it from the atom before (dropped at a line start).
    space_before: bool,
}

/// Splits one line of text (no `\n`) into atoms.
fn atoms(text: &str) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    let mut word = String::new();
    let mut word_space = false;
    let mut pending_space = false;
    // Opening punctuation waiting for the atom it belongs to.
    let mut open = String::new();

    let flush = |word: &mut String, space: bool, out: &mut Vec<Atom>| {
        if !word.is_empty() {
            out.push(Atom {
                text: std::mem::take(word),
                space_before: space,
            });
        }
    };

    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, word_space, &mut out);
            pending_space = true;
        } else if is_closing(c) && (is_cjk(c) || !c.is_ascii() || word.is_empty()) {
            if !word.is_empty() {
                word.push(c);
                if !c.is_ascii() {
                    flush(&mut word, word_space, &mut out);
                }
            } else if let (Some(last), false, true) =
                (out.last_mut(), pending_space, open.is_empty())
            {
                last.text.push(c);
            } else {
                word_space = pending_space;
                pending_space = false;
                word.push_str(&std::mem::take(&mut open));
                word.push(c);
            }
        } else if is_opening(c) {
            flush(&mut word, word_space, &mut out);
            if open.is_empty() {
                word_space = pending_space;
                pending_space = false;
            }
            open.push(c);
        } else if is_cjk(c) {
            flush(&mut word, word_space, &mut out);
            let space_before = if open.is_empty() {
                pending_space
            } else {
                word_space
            };
            let mut t = std::mem::take(&mut open);
            t.push(c);
            out.push(Atom {
                text: t,
                space_before,
            });
            pending_space = false;
        } else {
            if word.is_empty() {
                if open.is_empty() {
                    word_space = pending_space;
                }
                word.push_str(&std::mem::take(&mut open));
                pending_space = false;
            }
            word.push(c);
        }
    }
    flush(&mut word, word_space, &mut out);
    if !open.is_empty() {
        out.push(Atom {
            text: open,
            space_before: word_space,
        });
    }
    out
}

/// Breaks `text` into lines no wider than `max_width` points at `size` points. A `\n` forces
/// a break; an empty input gives no lines.
pub(crate) fn break_lines(text: &str, max_width: f32, size: f32, m: &dyn Measure) -> Vec<String> {
    let mut lines = Vec::new();
    if text.is_empty() {
        return lines;
    }
    // A hair of tolerance so that text measured exactly to the width stays on one line.
    let max = max_width + 0.01;
    let space = m.advance(' ') * size;
    for piece in text.split('\n') {
        let mut line = String::new();
        let mut line_w = 0.0;
        for atom in atoms(piece) {
            let w = m.width(&atom.text, size);
            let sp = if atom.space_before && !line.is_empty() {
                space
            } else {
                0.0
            };
            if line_w + sp + w <= max {
                if sp > 0.0 {
                    line.push(' ');
                }
                line.push_str(&atom.text);
                line_w += sp + w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if w <= max {
                line = atom.text;
                line_w = w;
                continue;
            }
            // Wider than a whole line: break between any two characters, but still not before
            // closing punctuation.
            for c in atom.text.chars() {
                let cw = m.advance(c) * size;
                if line_w + cw > max && !line.is_empty() && !is_closing(c) {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// CJK one em, everything else half an em: enough to reason about widths by hand.
    pub(crate) struct Fixed;

    impl Measure for Fixed {
        fn advance(&self, c: char) -> f32 {
            if is_cjk(c) || is_closing(c) && !c.is_ascii() || is_opening(c) {
                1.0
            } else {
                0.5
            }
        }
    }

    fn lines(text: &str, ems: f32) -> Vec<String> {
        // Size 10: a width of `ems` em is `ems * 10` points.
        break_lines(text, ems * 10.0, 10.0, &Fixed)
    }

    #[test]
    fn chinese_breaks_between_any_two_characters() {
        assert_eq!(
            lines("网络安全事件响应报告", 4.0),
            ["网络安全", "事件响应", "报告"]
        );
    }

    #[test]
    fn latin_breaks_only_at_spaces() {
        // 10 em = 20 half-em characters.
        assert_eq!(
            lines("brute force against the SSH service", 10.0),
            ["brute force against", "the SSH service"]
        );
    }

    #[test]
    fn mixed_text_breaks_between_chinese_and_a_word() {
        assert_eq!(lines("攻击者使用SSH登录", 5.0), ["攻击者使用", "SSH登录"]);
    }

    #[test]
    fn long_tokens_break_anywhere() {
        let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let got = lines(&format!("哈希 {digest}"), 10.0);
        assert_eq!(got[0], "哈希");
        assert!(got[1..].iter().all(|l| l.chars().count() <= 20), "{got:?}");
        assert_eq!(got[1..].concat(), digest);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // Without the rule the lines would be 事件级别较大 / ，需上报。
        let got = lines("事件级别较大，需上报。", 6.0);
        assert_eq!(got, ["事件级别较", "大，需上报。"]);
        for text in [
            "一二三四五，六七八九十。",
            "凭据攻击（III级）、网络攻击事件。",
        ] {
            for width in 2..8 {
                for line in lines(text, width as f32) {
                    let first = line.chars().next().unwrap();
                    assert!(!is_closing(first), "{line:?} at {width} em");
                }
            }
        }
    }

    #[test]
    fn opening_punctuation_never_ends_a_line() {
        for width in 2..8 {
            for line in lines("事件级别较大（III级）《报告》", width as f32) {
                let last = line.chars().last().unwrap();
                assert!(!is_opening(last), "{line:?} at {width} em");
            }
        }
    }

    #[test]
    fn newlines_force_breaks_and_spaces_are_kept_inside_lines() {
        assert_eq!(
            lines("第一行\n\nsecond line", 20.0),
            ["第一行", "", "second line"]
        );
        assert!(lines("", 20.0).is_empty());
    }

    #[test]
    fn every_character_but_break_spaces_survives() {
        let text =
            "2024年3月5日 02:14，攻击者从 203.0.113.7 对 SSH 服务发起暴力破解（共 4,211 次）。";
        for width in 3..30 {
            let got = lines(text, width as f32);
            let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(strip(&got.concat()), strip(text), "at {width} em");
        }
    }
}
