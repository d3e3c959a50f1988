//! A tiny argument parser: `--name value` options and positionals.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed arguments.
pub struct Args {
    opts: HashMap<String, String>,
    /// Arguments that are not options.
    pub positional: Vec<String>,
    /// Whether `--help`/`-h` was given.
    pub help: bool,
    /// Options without a value that were given.
    flags: Vec<String>,
}

impl Args {
    /// Parses `args`; `known` lists the options that take a value.
    pub fn parse(args: &[String], known: &[&str]) -> Result<Args, String> {
        Args::parse_with_flags(args, known, &[])
    }

    /// As [`Args::parse`], with `flags` listing options that take no value.
    pub fn parse_with_flags(
        args: &[String],
        known: &[&str],
        flags: &[&str],
    ) -> Result<Args, String> {
        let mut given = Vec::new();
        let mut opts = HashMap::new();
        let mut positional = Vec::new();
        let mut help = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--help" || a == "-h" {
                help = true;
            } else if let Some(name) = a.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (name, None),
                };
                if flags.contains(&name) && inline.is_none() {
                    given.push(name.to_string());
                    continue;
                }
                if !known.contains(&name) {
                    return Err(format!("unknown option --{name}"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("option --{name} needs a value"))?,
                };
                opts.insert(name.to_string(), value);
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Args {
            opts,
            positional,
            help,
            flags: given,
        })
    }

    /// Whether the value-less option `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The raw value of an option.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.opts.get(name).map(String::as_str)
    }

    /// A parsed option value, if given.
    pub fn value<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("invalid value '{v}' for --{name}")),
        }
    }
}
