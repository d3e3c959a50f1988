//! Value parsers with Java's acceptance rules, returning operator-facing
//! messages (the caller adds line and key). Java's own rules are in
//! `crate::javatext`; this adds the config's ranges and messages.

use crate::javatext::{self, IntError};

/// Java's `Long.parseLong` ([`javatext::parse_long`]), with the message.
pub(crate) fn parse_long(s: &str) -> Result<i64, String> {
    javatext::parse_long(s).map_err(|e| match e {
        IntError::NotANumber => format!("\"{s}\" is not a number"),
        IntError::OutOfRange => format!("{s} is out of range for a 64-bit signed number"),
    })
}

/// Java's `Integer.parseInt`: like [`parse_long`] but 32-bit.
pub(crate) fn parse_int(s: &str) -> Result<i32, String> {
    let v = parse_long(s)?;
    i32::try_from(v).map_err(|_| format!("{s} is out of range for a 32-bit signed number"))
}

/// A positive 32-bit (Java int) value.
pub(crate) fn parse_positive_int(s: &str) -> Result<u32, String> {
    let v = parse_int(s)?;
    if v <= 0 {
        return Err(format!("{s} must be greater than 0"));
    }
    Ok(v as u32)
}

/// A TCP port, 1..=65535. Java's `InetSocketAddress` also takes 0, but port
/// 0 can neither be dialled nor advertised, so it is refused.
pub(crate) fn parse_port(s: &str) -> Result<u16, String> {
    let v = parse_int(s).map_err(|_| format!("port \"{s}\" is not a number"))?;
    match u16::try_from(v) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("port {v} is outside 1..65535")),
    }
}

/// ZooKeeper's `parseBoolean`: exactly `true` or `false`, case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("invalid option \"{s}\": choose true or false"))
    }
}

/// Java's `Long.parseLong(s, 16)`, restricted to non-negative values because
/// the config version is a zxid-derived counter.
pub(crate) fn parse_hex_version(s: &str) -> Result<u64, String> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(format!("version {s} must not be negative"));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "version \"{s}\" is not a hexadecimal number (write it without 0x)"
        ));
    }
    let v = u64::from_str_radix(digits, 16).map_err(|_| format!("version {s} is too large"))?;
    if v > i64::MAX as u64 {
        return Err(format!("version {s} is too large for a Java long"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_parsing_follows_java() {
        assert_eq!(parse_long("+7"), Ok(7));
        assert_eq!(parse_long("-7"), Ok(-7));
        assert_eq!(parse_long("007"), Ok(7));
        assert!(parse_long("").is_err());
        assert!(parse_long(" 7").is_err());
        assert!(parse_long("7x").is_err());
        assert!(parse_long("+").is_err());
        assert!(parse_long("9223372036854775808").is_err());
        assert_eq!(parse_long("-9223372036854775808"), Ok(i64::MIN));
    }

    #[test]
    fn int_ranges() {
        assert!(parse_int("2147483648").is_err());
        assert_eq!(parse_positive_int("1"), Ok(1));
        assert!(parse_positive_int("0").is_err());
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(parse_port("2888"), Ok(2888));
        assert_eq!(parse_port("+2888"), Ok(2888));
        assert!(parse_port("0").unwrap_err().contains("outside 1..65535"));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("x").unwrap_err().contains("not a number"));
    }

    #[test]
    fn booleans_are_exactly_true_or_false() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("False"), Ok(false));
        assert!(parse_bool("yes").is_err());
        assert!(parse_bool("1").is_err());
    }

    #[test]
    fn hex_versions() {
        assert_eq!(parse_hex_version("0"), Ok(0));
        assert_eq!(parse_hex_version("100000000"), Ok(0x1_0000_0000));
        assert_eq!(parse_hex_version("Ff"), Ok(255));
        assert!(parse_hex_version("0x10").is_err());
        assert!(parse_hex_version("-1").is_err());
        assert!(parse_hex_version("8000000000000000").is_err());
    }
}
