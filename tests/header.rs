//! The committed C header equals a fresh cbindgen generation, and the
//! version macro matches the crate.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_src(root.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = root.join("include/zkelect.h");
    if std::env::var_os("ZKELECT_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/zkelect.h is stale: run `ZKELECT_BLESS=1 cargo test --release --test header` and commit it"
    );
    let text = String::from_utf8(fresh).unwrap();
    let want = format!(
        "#define ZKELECT_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        text.contains(&want),
        "cbindgen.toml's version string must be {want}"
    );
}

/// Every name the header defines carries the library's prefix: a constant
/// of another module (`DEFAULT_SYNC_LIMIT`, `MAX_EPOCH`) must not leak into
/// the hosts' namespace.
#[test]
fn every_name_of_the_header_is_prefixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("include/zkelect.h")).unwrap();
    let names = defined_names(&text);
    assert!(names.len() > 60, "the header parser found only {names:?}");
    for want in [
        "ZKELECT_OK",
        "zkelect_event_kind",
        "ZKELECT_REASON_NONE",
        "zkelect_peer_new",
        "zkelect_store_cb",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} not found in {names:?}"
        );
    }
    let bad: Vec<&String> = names
        .iter()
        .filter(|n| !(n.starts_with("zkelect_") || n.starts_with("ZKELECT_")))
        .collect();
    assert!(bad.is_empty(), "names without the zkelect prefix: {bad:?}");
}

/// The names a C header declares at file scope: macros, tags, enum
/// members, typedefs and functions (not fields or parameters).
fn defined_names(text: &str) -> Vec<String> {
    let mut code = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("/*") {
        code.push_str(&rest[..at]);
        rest = &rest[rest[at..].find("*/").expect("unterminated comment") + at + 2..];
    }
    code.push_str(rest);
    let mut names = Vec::new();
    let mut body = String::new();
    for line in code.lines().map(|l| l.split("//").next().unwrap().trim()) {
        if let Some(directive) = line.strip_prefix('#') {
            let mut words = directive.split_whitespace();
            if words.next() == Some("define") {
                names.extend(words.next().filter(|n| *n != "ZKELECT_H").map(String::from));
            }
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    // Tokens: identifiers, string literals and single punctuation marks.
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            let mut t = c.to_string();
            while let Some(&d) = chars
                .peek()
                .filter(|d| d.is_ascii_alphanumeric() || **d == '_')
            {
                t.push(d);
                chars.next();
            }
            tokens.push(t);
        } else if c == '"' {
            for d in chars.by_ref() {
                if d == '"' {
                    break;
                }
            }
            tokens.push("\"\"".into());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    let ident = |t: &str| t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    // What each open brace belongs to.
    let mut open: Vec<&str> = Vec::new();
    let mut statement: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let next = tokens.get(i + 1).map(String::as_str);
        match t {
            "extern"
                if next == Some("\"\"") && tokens.get(i + 2).map(String::as_str) == Some("{") =>
            {
                open.push("extern");
                i += 3;
                continue;
            }
            "{" => open.push(match statement.first() {
                Some(&"enum") | Some(&"typedef") if statement.contains(&"enum") => "enum",
                _ => "other",
            }),
            "}" => {
                open.pop();
            }
            ";" if open.iter().all(|o| *o == "extern") => {
                if statement.first() == Some(&"typedef") {
                    // `typedef R (*name)(...)`, or `typedef ... name`.
                    let ptr = statement.windows(3).find(|w| w[0] == "(" && w[1] == "*");
                    let name = ptr
                        .map(|w| w[2])
                        .or_else(|| statement.iter().rev().copied().find(|t| ident(t)));
                    names.extend(name.map(String::from));
                } else if let Some(w) = statement.windows(2).find(|w| ident(w[0]) && w[1] == "(") {
                    names.push(w[0].to_string());
                }
                statement.clear();
                i += 1;
                continue;
            }
            _ => {}
        }
        if matches!(t, "enum" | "struct") && next.is_some_and(ident) {
            names.push(next.unwrap().to_string());
        }
        if open.last() == Some(&"enum") && ident(t) && next == Some("=") {
            names.push(t.to_string());
        }
        if open.iter().all(|o| *o == "extern") {
            statement.push(t);
        }
        i += 1;
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_name_check_sees_every_kind_of_name() {
    let names = defined_names(
        "#define FOO 1\n/* #define IN_COMMENT 1 */\nenum e\n#ifdef X\n: int32_t\n#endif\n { BAR = 1,\n BAZ = 2,\n};\n\
         typedef int32_t e;\ntypedef struct s { int32_t field; } s_t;\n\
         typedef void (*cb)(void *userdata, int64_t round);\n\
         #ifdef __cplusplus\nextern \"C\" {\n#endif\nint f(const struct s *p,\n      uint64_t timeout);\n\
         #ifdef __cplusplus\n}  // extern \"C\"\n#endif\n",
    );
    assert_eq!(names, ["BAR", "BAZ", "FOO", "cb", "e", "f", "s", "s_t"]);
}
