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

    /// The same error, attributed to `path`.
    pub(crate) fn in_file(mut self, path: &Path) -> ConfigError {
        self.file = Some(path.to_path_buf());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}", p.display())?,
            None => f.write_str("zoo.cfg")?,
        }
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
