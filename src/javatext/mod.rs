//! Java's text semantics, ported once for the whole crate: what
//! `String.split`, `Integer.parseInt` / `Long.parseLong` and the JDK's
//! address-literal handling (`IPAddressUtil`, `InetAddress.getAllByName`,
//! `InetSocketAddress.getHostString`) make of a text. Both the config reader
//! (`config`) and the election wire format (`wire`) use these, so a host or
//! a number means the same on both surfaces.
//!
//! Everything here works on text only: no name is resolved and no interface
//! is looked up. Where Java's answer depends on DNS or on the local network
//! interfaces, the text-only answer is documented on the function (see
//! [`inet`] for the one case that matters, IPv6 zones named by interface).

pub(crate) mod inet;

/// Java's `String.split(String.valueOf(sep))` (limit 0): trailing empty
/// pieces are dropped, leading and inner ones are kept, a text without the
/// separator comes back whole (even when empty), and a text of separators
/// only gives no piece at all (`":".split(":")` is an empty array).
///
/// ZooKeeper splits server lines, address lists and groups this way; so do
/// we, so that every text it accepts is accepted here and vice versa.
pub(crate) fn split(s: &str, sep: char) -> Vec<&str> {
    if !s.contains(sep) {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// Why a text is not a Java integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntError {
    /// Not an optional sign followed by ASCII decimal digits.
    NotANumber,
    /// Digits, but outside the type's range.
    OutOfRange,
}

/// Java's `Long.parseLong` for ASCII input: an optional `+` or `-`, then
/// decimal digits, nothing else (no blanks), 64-bit range. Java also takes
/// non-ASCII Unicode digits; we refuse them.
pub(crate) fn parse_long(s: &str) -> Result<i64, IntError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntError::NotANumber);
    }
    // Rust's i64 parser takes the same sign-and-digits form.
    s.parse::<i64>().map_err(|_| IntError::OutOfRange)
}

/// Java's `Integer.parseInt`: like [`parse_long`], 32-bit range.
pub(crate) fn parse_int(s: &str) -> Result<i32, IntError> {
    let v = parse_long(s)?;
    i32::try_from(v).map_err(|_| IntError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_java() {
        assert_eq!(split("", ':'), vec![""]);
        assert_eq!(split(":", ':'), Vec::<&str>::new());
        assert!(split("::", ':').is_empty());
        assert_eq!(split("a:b:", ':'), vec!["a", "b"]);
        assert_eq!(split("a:1:2:", ':'), vec!["a", "1", "2"]);
        assert_eq!(split(":a", ':'), vec!["", "a"]);
        assert_eq!(split(":1:2", ':'), vec!["", "1", "2"]);
        assert_eq!(split("a::2", ':'), vec!["a", "", "2"]);
        assert_eq!(split("a::", ':'), vec!["a"]);
        assert_eq!(split("a", ':'), vec!["a"]);
        assert_eq!(split("a|b", '|'), vec!["a", "b"]);
    }

    #[test]
    fn parse_long_matches_java() {
        assert_eq!(parse_long("+7"), Ok(7));
        assert_eq!(parse_long("-7"), Ok(-7));
        assert_eq!(parse_long("007"), Ok(7));
        assert_eq!(parse_long("-0"), Ok(0));
        assert_eq!(parse_long("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_long("9223372036854775808"), Err(IntError::OutOfRange));
        assert_eq!(
            parse_long("99999999999999999999999999"),
            Err(IntError::OutOfRange)
        );
        for s in ["", "+", "-", " 7", "7 ", "7x", "0x10", "+-1", "٣", "1_000"] {
            assert_eq!(parse_long(s), Err(IntError::NotANumber), "{s:?}");
        }
    }

    #[test]
    fn parse_int_matches_java() {
        assert_eq!(parse_int("2147483647"), Ok(i32::MAX));
        assert_eq!(parse_int("-2147483648"), Ok(i32::MIN));
        assert_eq!(parse_int("+80"), Ok(80));
        assert_eq!(parse_int("2147483648"), Err(IntError::OutOfRange));
        assert_eq!(parse_int("-2147483649"), Err(IntError::OutOfRange));
        assert_eq!(parse_int("80a"), Err(IntError::NotANumber));
    }
}
