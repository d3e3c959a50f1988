//! A Java properties-file reader that splits lines exactly like
//! `java.util.Properties.load` (JDK 17), so that any zoo.cfg ZooKeeper reads
//! yields the same keys and values here.
//!
//! Rules reproduced: natural lines end at `\n`, `\r` or `\r\n`; leading
//! blanks (space, tab, form feed) are skipped; a line whose first non-blank
//! character is `#` or `!` is a comment and never continues; a line ending in
//! an odd number of backslashes continues on the next line, whose leading
//! blanks are dropped; the key ends at the first unescaped `=`, `:` or blank;
//! blanks, then one optional `=`/`:`, then blanks separate it from the value;
//! escapes are `\t \n \r \f`, `\uXXXX`, and `\c` = `c` for anything else.
//! ZooKeeper then trims keys and values (`String.trim`), and so do we.

use super::error::ConfigError;

/// One `key=value` entry, trimmed, with the 1-based line its key starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    /// The unescaped, trimmed key.
    pub key: String,
    /// The unescaped, trimmed value.
    pub value: String,
    /// The natural line (1-based) where the logical line starts.
    pub line: usize,
}

/// Parses properties text into entries, in file order. Duplicate keys are all
/// returned; the caller decides (Java keeps the last one).
pub(crate) fn parse(text: &str) -> Result<Vec<Property>, ConfigError> {
    let mut reader = LineReader::new(text);
    let mut out = Vec::new();
    while let Some((chars, line)) = reader.next_logical_line() {
        out.push(split_entry(&chars, line)?);
    }
    Ok(out)
}

/// Java's `String.trim`: strips every char `<= U+0020` at both ends.
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\u{0c}'
}

/// Produces logical lines the way JDK 17's `Properties.LineReader` does.
struct LineReader {
    chars: Vec<char>,
    /// 1-based natural line number of each char.
    line_of: Vec<usize>,
    pos: usize,
}

impl LineReader {
    fn new(text: &str) -> LineReader {
        let chars: Vec<char> = text.chars().collect();
        let mut line_of = Vec::with_capacity(chars.len());
        let mut line = 1;
        for (i, c) in chars.iter().enumerate() {
            line_of.push(line);
            // `\r\n` is one break: count it at the `\n`.
            if *c == '\n' || (*c == '\r' && chars.get(i + 1) != Some(&'\n')) {
                line += 1;
            }
        }
        LineReader {
            chars,
            line_of,
            pos: 0,
        }
    }

    /// The raw chars of the next logical line (escapes untouched, the
    /// continuation backslashes removed) and the line it starts on.
    fn next_logical_line(&mut self) -> Option<(Vec<char>, usize)> {
        let mut buf: Vec<char> = Vec::new();
        let mut start = 0;
        let mut skip_ws = true;
        let mut appended_line_begin = false;
        let mut preceding_backslash = false;
        loop {
            let Some(&c) = self.chars.get(self.pos) else {
                if buf.is_empty() {
                    return None;
                }
                if preceding_backslash {
                    buf.pop();
                }
                return Some((buf, start));
            };
            let here = self.line_of[self.pos];
            self.pos += 1;
            if skip_ws {
                if is_blank(c) {
                    continue;
                }
                if !appended_line_begin && (c == '\r' || c == '\n') {
                    continue;
                }
                skip_ws = false;
                appended_line_begin = false;
            }
            if buf.is_empty() {
                if c == '#' || c == '!' {
                    // A comment runs to the end of its natural line, even if
                    // that line ends with a backslash.
                    while let Some(&d) = self.chars.get(self.pos) {
                        self.pos += 1;
                        if d == '\r' || d == '\n' {
                            break;
                        }
                    }
                    skip_ws = true;
                    continue;
                }
                start = here;
            }
            if c != '\n' && c != '\r' {
                buf.push(c);
                preceding_backslash = c == '\\' && !preceding_backslash;
                continue;
            }
            if buf.is_empty() {
                skip_ws = true;
                continue;
            }
            if self.pos >= self.chars.len() {
                if preceding_backslash {
                    buf.pop();
                }
                return Some((buf, start));
            }
            if !preceding_backslash {
                return Some((buf, start));
            }
            buf.pop();
            skip_ws = true;
            appended_line_begin = true;
            preceding_backslash = false;
            if c == '\r' && self.chars.get(self.pos) == Some(&'\n') {
                self.pos += 1;
            }
        }
    }
}

/// Splits a logical line into key and value like `Properties.load0`, then
/// unescapes and trims both.
fn split_entry(chars: &[char], line: usize) -> Result<Property, ConfigError> {
    let limit = chars.len();
    let mut key_len = 0;
    let mut value_start = limit;
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < limit {
        let c = chars[key_len];
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        }
        if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < limit {
        let c = chars[value_start];
        if !is_blank(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    let key = unescape(&chars[..key_len]).map_err(|m| ConfigError::at_line(line, m))?;
    let key = java_trim(&key).to_string();
    let value = unescape(&chars[value_start..]).map_err(|m| ConfigError::at(line, &key, m))?;
    let value = java_trim(&value).to_string();
    Ok(Property { key, value, line })
}

/// Java's `loadConvert`, producing a Rust string: UTF-16 code units from
/// `\uXXXX` are paired into code points; a lone surrogate cannot be held in
/// a Rust string and is reported (ZooKeeper would carry it along).
fn unescape(chars: &[char]) -> Result<String, String> {
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            let mut b = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut b));
            continue;
        }
        // A backslash cannot end a logical line (it would have been a
        // continuation), but stay total.
        let Some(&e) = chars.get(i) else { break };
        i += 1;
        let out = match e {
            'u' => {
                let hex: String = chars.get(i..i + 4).unwrap_or(&[]).iter().collect();
                let v = (hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()))
                    .then(|| u16::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| {
                        let seen: String = chars[i..chars.len().min(i + 4)].iter().collect();
                        format!("malformed \\uXXXX escape \"\\u{seen}\": need exactly 4 hex digits")
                    })?;
                i += 4;
                units.push(v);
                continue;
            }
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\u{0c}',
            other => other,
        };
        let mut b = [0u16; 2];
        units.extend_from_slice(out.encode_utf16(&mut b));
    }
    String::from_utf16(&units)
        .map_err(|_| "a \\uXXXX escape yields an unpaired UTF-16 surrogate".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect()
    }

    fn one(k: &str, v: &str, line: usize) -> (String, String, usize) {
        (k.to_string(), v.to_string(), line)
    }

    #[test]
    fn separators_equals_colon_and_whitespace() {
        assert_eq!(
            kv("a=1\nb:2\nc 3\nd\t=\t4\ne :5\nf  = 6 \ng\n"),
            vec![
                one("a", "1", 1),
                one("b", "2", 2),
                one("c", "3", 3),
                one("d", "4", 4),
                one("e", "5", 5),
                one("f", "6", 6),
                one("g", "", 7),
            ]
        );
    }

    #[test]
    fn only_the_first_separator_counts() {
        assert_eq!(
            kv("a==b\nc=d=e\nf :: g"),
            vec![one("a", "=b", 1), one("c", "d=e", 2), one("f", ": g", 3)]
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_with_line_numbers_kept() {
        let text = "# comment\n! also\n\n   \n  key = v\n\t#x=y\n";
        assert_eq!(kv(text), vec![one("key", "v", 5)]);
    }

    #[test]
    fn comment_lines_never_continue() {
        assert_eq!(kv("# a \\\nb=c\n"), vec![one("b", "c", 2)]);
    }

    #[test]
    fn continuation_lines_join_and_drop_leading_blanks() {
        let text = "server.1=127.0.0.1:\\\n     2888:\\\r\n\t3888\nnext=x";
        assert_eq!(
            kv(text),
            vec![
                one("server.1", "127.0.0.1:2888:3888", 1),
                one("next", "x", 4)
            ]
        );
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        assert_eq!(
            kv("a=x\\\\\nb=y"),
            vec![one("a", "x\\", 1), one("b", "y", 2)]
        );
    }

    #[test]
    fn continuation_onto_an_empty_line_ends_the_entry() {
        assert_eq!(kv("a=x\\\n\nb=y"), vec![one("a", "x", 1), one("b", "y", 3)]);
    }

    #[test]
    fn backslash_at_end_of_file_is_dropped() {
        assert_eq!(kv("a=x\\"), vec![one("a", "x", 1)]);
    }

    #[test]
    fn cr_and_crlf_line_ends() {
        assert_eq!(
            kv("a=1\rb=2\r\nc=3\n\rd=4"),
            vec![
                one("a", "1", 1),
                one("b", "2", 2),
                one("c", "3", 3),
                one("d", "4", 5)
            ]
        );
    }

    #[test]
    fn escapes_in_keys_and_values() {
        assert_eq!(
            kv("a\\=b=c\\:d\nsp\\ ace=x\\ty\\n\\r\\f\\q\\\\\nu\\u0041=\\u00e9\\uD83D\\uDE00"),
            vec![
                one("a=b", "c:d", 1),
                one("sp ace", "x\ty\n\r\u{c}q\\", 2),
                one("uA", "é😀", 3)
            ]
        );
    }

    #[test]
    fn escaped_trailing_whitespace_is_still_trimmed_like_zookeeper() {
        assert_eq!(kv("k=v\\ \\t"), vec![one("k", "v", 1)]);
    }

    #[test]
    fn malformed_unicode_escape_names_line_and_key() {
        let e = parse("a=1\n\nkey=ab\\u12x4\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("key"));
        assert!(e.message.contains("malformed \\uXXXX"), "{e}");
        let e = parse("k\\u00=v").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(
            e.to_string().starts_with("zoo.cfg line 1: malformed"),
            "{e}"
        );
    }

    #[test]
    fn lone_surrogate_is_an_error() {
        let e = parse("k=\\uD800").unwrap_err();
        assert!(e.message.contains("surrogate"), "{e}");
    }

    #[test]
    fn java_trim_strips_control_chars() {
        assert_eq!(java_trim("\u{1}\t x \u{0}"), "x");
    }
}
