//! The one error type of the config layer.

use std::fmt;
use std::path::{Path, PathBuf};

/// A config problem, located as precisely as we can: the file, the 1-based
/// line where the offending key starts, and the key itself.
///
/// Displays as `zoo.cfg line 7 (server.2): quorum port and election port are
/// both 2888`; the file label is the path when the text came from
/// [`Config::load`](super::Config::load), `zoo.cfg` otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the text came from, when known (set by `Config::load`).
    pub file: Option<PathBuf>,
    /// 1-based line number of the offending entry, when the error is about one.
    pub line: Option<usize>,
    /// The offending key as written (trimmed), when the error is about one.
    pub key: Option<String>,
    /// What is wrong, in words meant for the operator.
    pub message: String,
}

impl ConfigError {
    /// An error about the config as a whole (no line, no key).
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: None,
            key: None,
            message: message.into(),
        }
    }

    /// An error about the entry `key` that starts on `line`.
    pub(crate) fn at(line: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: Some(line),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    /// An error about a line whose key could not be read.
    pub(crate) fn at_line(line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: Some(line),
            key: None,
            message: message.into(),
        }
    }

    /// An error about a key that is not tied to one line (e.g. a default).
    pub(crate) fn for_key(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: None,
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    /// The same error, attributed to `path` (kept if already attributed).
    pub(crate) fn in_file(mut self, path: &Path) -> ConfigError {
        self.file.get_or_insert_with(|| path.to_path_buf());
        self
    }

    /// The same error, attributed to `path` when there is one.
    pub(crate) fn in_source(self, path: Option<&Path>) -> ConfigError {
        match path {
            Some(p) => self.in_file(p),
            None => self,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_file(f, self.file.as_deref())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A remark about one entry of a config that does not stop it from loading:
/// an unknown key (a warning), or a ZooKeeper key zkelect does not use.
///
/// Displays as `zoo.cfg line 2: unknown key tickTme; did you mean
/// tickTime?`, with the file's path when the text came from
/// [`Config::load`](super::Config::load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigNote {
    /// The file the text came from, when known.
    pub file: Option<PathBuf>,
    /// 1-based line where the entry starts.
    pub line: usize,
    /// The key as written (trimmed).
    pub key: String,
    /// What is remarkable about it.
    pub message: String,
}

impl ConfigNote {
    /// A note about the entry `key` that starts on `line`.
    pub(crate) fn at(line: usize, key: &str, message: impl Into<String>) -> ConfigNote {
        ConfigNote {
            file: None,
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_file(f, self.file.as_deref())?;
        write!(f, " line {}: {}", self.line, self.message)
    }
}

/// The file label of errors and notes: the path, or `zoo.cfg` for text.
fn write_file(f: &mut fmt::Formatter<'_>, file: Option<&Path>) -> fmt::Result {
    match file {
        Some(p) => write!(f, "{}", p.display()),
        None => f.write_str("zoo.cfg"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_and_key() {
        let e = ConfigError::at(7, "server.2", "quorum port and election port are both 2888");
        assert_eq!(
            e.to_string(),
            "zoo.cfg line 7 (server.2): quorum port and election port are both 2888"
        );
    }

    #[test]
    fn display_names_the_file_when_known() {
        let e = ConfigError::at_line(3, "bad").in_file(Path::new("/etc/zk/zoo.cfg"));
        assert_eq!(e.to_string(), "/etc/zk/zoo.cfg line 3: bad");
        assert_eq!(ConfigError::new("x").to_string(), "zoo.cfg: x");
        assert_eq!(
            ConfigError::for_key("myid", "x").to_string(),
            "zoo.cfg (myid): x"
        );
    }
}
