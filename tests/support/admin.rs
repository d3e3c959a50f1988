//! What an operator's tools do with a ZooKeeper (or zkelect) server's
//! admin ports, for the tests: `echo CMD | nc host port`, the parsers for
//! the four-letter words' answers, a plain HTTP GET, and a strict parser of
//! the Prometheus text format. The same parsers read real ZooKeeper's
//! answers and zkelect's.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Runs the `zkelect` command with `args`; its exit code, stdout and
/// stderr.
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkelect"))
        .args(args)
        .output()
        .expect("run zkelect");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What `echo CMD | nc 127.0.0.1 PORT` prints: the command and a newline,
/// then the end of input, and everything read until the server closes.
/// `None` if the server does not close within `within`.
pub fn nc(port: u16, cmd: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("{cmd}\n").as_bytes()).ok()?;
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).ok()?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset after the answer (a server that closes with our
            // newline unread) still ends the answer.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `mntr`: one `key<TAB>value` per line; panics on any other line.
pub fn parse_mntr(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("mntr line without a tab: {line:?}\n{text}"));
        assert!(
            out.insert(k.to_string(), v.to_string()).is_none(),
            "mntr key {k} twice"
        );
    }
    out
}

/// `srvr`/`stat`: the `Key: value` lines (the client list of `stat`,
/// between `Clients:` and the blank line, is returned apart).
pub fn parse_srvr(text: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut fields = BTreeMap::new();
    let mut clients = Vec::new();
    let mut in_clients = false;
    for line in text.lines() {
        if line == "Clients:" {
            in_clients = true;
            continue;
        }
        if in_clients {
            if line.is_empty() {
                in_clients = false;
            } else {
                clients.push(line.to_string());
            }
            continue;
        }
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("srvr line without ': ': {line:?}\n{text}"));
        fields.insert(k.to_string(), v.to_string());
    }
    (fields, clients)
}

/// `conf`: `key=value` lines up to `membership: `, then the membership
/// lines as they are.
pub fn parse_conf(text: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut fields = BTreeMap::new();
    let mut members = Vec::new();
    let mut in_members = false;
    for line in text.lines() {
        if line == "membership: " {
            in_members = true;
        } else if in_members {
            members.push(line.to_string());
        } else {
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("conf line without '=': {line:?}\n{text}"));
            fields.insert(k.to_string(), v.to_string());
        }
    }
    (fields, members)
}

/// A `GET path` over HTTP/1.1; the status code, the headers (lower-case
/// names) and the body.
pub fn http_get(
    port: u16,
    path: &str,
    within: Duration,
) -> (u16, BTreeMap<String, String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    s.set_read_timeout(Some(within)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/plain\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the HTTP answer");
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let code: u16 = parts.next().unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").expect("a header line");
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect::<BTreeMap<_, _>>();
    if let Some(n) = headers.get("content-length") {
        assert_eq!(n.parse::<usize>().unwrap(), body.len(), "Content-Length");
    }
    (code, headers, body.to_string())
}

/// One sample of a Prometheus page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (with `_sum`, `_count`, ... where it has one).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// A parsed Prometheus page: each family's type and help, and the samples.
#[derive(Debug, Default)]
pub struct Page {
    /// Family name to type.
    pub types: BTreeMap<String, String>,
    /// Family name to help text.
    pub help: BTreeMap<String, String>,
    /// Samples in page order.
    pub samples: Vec<Sample>,
}

impl Page {
    /// The value of the unlabelled sample `name`, or of the one with
    /// exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

fn is_label_name(s: &str) -> bool {
    is_name(s) && !s.contains(':')
}

/// Parses the text exposition format 0.0.4 strictly: every line is a
/// comment, a `# HELP`/`# TYPE` line or a sample; names and label names
/// are valid; label values are quoted with only `\\`, `\"` and `\n`
/// escapes; values are floats; each family's TYPE comes once, before its
/// samples; a sample belongs to a declared family (summary samples by
/// `_sum`/`_count` or a `quantile` label, histogram ones by `_bucket` with
/// `le`); no sample appears twice; counters are not negative; the page
/// ends with a newline.
pub fn parse_prometheus(text: &str) -> Page {
    assert!(text.ends_with('\n'), "the page ends with a newline");
    let mut page = Page::default();
    let mut seen: BTreeSet<(String, Vec<(String, String)>)> = BTreeSet::new();
    for (no, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line:?}", no + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let mut w = rest.splitn(3, ' ');
            match w.next() {
                Some("HELP") => {
                    let name = w
                        .next()
                        .unwrap_or_else(|| panic!("{}", at("HELP without a name")));
                    assert!(is_name(name), "{}", at("bad metric name"));
                    let help = w.next().unwrap_or("");
                    assert!(
                        page.help.insert(name.into(), help.into()).is_none(),
                        "{}",
                        at("HELP twice")
                    );
                }
                Some("TYPE") => {
                    let name = w
                        .next()
                        .unwrap_or_else(|| panic!("{}", at("TYPE without a name")));
                    assert!(is_name(name), "{}", at("bad metric name"));
                    let kind = w
                        .next()
                        .unwrap_or_else(|| panic!("{}", at("TYPE without a type")));
                    assert!(
                        ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                        "{}",
                        at("unknown type")
                    );
                    assert!(
                        !page
                            .samples
                            .iter()
                            .any(|s| family_of(&page, &s.name) == Some(name.to_string())),
                        "{}",
                        at("TYPE after its samples")
                    );
                    assert!(
                        page.types.insert(name.into(), kind.into()).is_none(),
                        "{}",
                        at("TYPE twice")
                    );
                }
                _ => {} // a plain comment
            }
            continue;
        }
        // name{labels} value [timestamp]
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("{}", at("a sample without a value")));
        let name = &line[..name_end];
        assert!(is_name(name), "{}", at("bad metric name"));
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut r = r;
            loop {
                if let Some(after) = r.strip_prefix('}') {
                    r = after;
                    break;
                }
                let eq = r
                    .find('=')
                    .unwrap_or_else(|| panic!("{}", at("label without '='")));
                let lname = &r[..eq];
                assert!(is_label_name(lname), "{}", at("bad label name"));
                r = r[eq + 1..]
                    .strip_prefix('"')
                    .unwrap_or_else(|| panic!("{}", at("unquoted label value")));
                let mut value = String::new();
                let mut chars = r.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => panic!("{}", at("bad escape in a label value")),
                        },
                        Some((_, c)) => value.push(c),
                        None => panic!("{}", at("unterminated label value")),
                    }
                };
                assert!(
                    labels.insert(lname.to_string(), value).is_none(),
                    "{}",
                    at("label twice")
                );
                r = &r[end + 1..];
                if let Some(after) = r.strip_prefix(',') {
                    r = after;
                } else {
                    assert!(r.starts_with('}'), "{}", at("expected ',' or '}'"));
                }
            }
            rest = r;
        }
        let rest = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("{}", at("no space before the value")));
        let mut fields = rest.split(' ');
        let v = fields.next().unwrap();
        let value = match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            _ => v
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{}", at("value is not a float"))),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("{}", at("timestamp is not an integer")));
        }
        assert!(fields.next().is_none(), "{}", at("trailing fields"));
        let family = family_of(&page, name)
            .unwrap_or_else(|| panic!("{}", at("a sample of no declared family")));
        let kind = page.types[&family].clone();
        if kind == "summary" && name == family {
            assert!(
                labels.contains_key("quantile"),
                "{}",
                at("summary sample without quantile")
            );
        }
        if kind == "counter" {
            assert!(value >= 0.0, "{}", at("negative counter"));
        }
        let key = (
            name.to_string(),
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        );
        assert!(seen.insert(key), "{}", at("sample twice"));
        page.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    page
}

/// The declared family a sample name belongs to.
fn family_of(page: &Page, name: &str) -> Option<String> {
    if page.types.contains_key(name) {
        return Some(name.to_string());
    }
    for suffix in ["_sum", "_count", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some(k) = page.types.get(base) {
                if k == "summary" || k == "histogram" {
                    return Some(base.to_string());
                }
            }
        }
    }
    None
}
