//! [`PeerBuilder`]: a [`Peer`] from zoo.cfg text or a file, with options.

use super::{Error, Peer};
use crate::config::{Config, ParseOptions};
use crate::types::Sid;
use std::path::Path;

/// Builds a [`Peer`] with options:
///
/// ```no_run
/// # use std::path::Path;
/// let peer = zkelect::Peer::builder()
///     .my_sid(1)
///     .strict(true) // an unknown zoo.cfg key is an error, not a warning
///     .load(Path::new("zoo.cfg"))?;
/// # Ok::<(), zkelect::peer::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PeerBuilder {
    my_sid: Option<Sid>,
    options: ParseOptions,
}

impl PeerBuilder {
    /// My sid; without it the `myid` file in `dataDir` is read.
    pub fn my_sid(mut self, sid: Sid) -> PeerBuilder {
        self.my_sid = Some(sid);
        self
    }

    /// As [`PeerBuilder::my_sid`], taking an optional sid.
    pub fn sid(mut self, sid: Option<Sid>) -> PeerBuilder {
        self.my_sid = sid;
        self
    }

    /// Strict mode: an unknown key in the config is an error naming its
    /// line and the nearest known key, not a warning (the same as
    /// `strictConfig=true` in the config; off by default).
    pub fn strict(mut self, on: bool) -> PeerBuilder {
        self.options.strict = on;
        self
    }

    /// The peer from zoo.cfg text.
    pub fn parse(self, text: &str) -> Result<Peer, Error> {
        let config = Config::parse_with(text, self.options)?;
        self.build(config)
    }

    /// The peer from a zoo.cfg file; errors name the file.
    pub fn load(self, path: &Path) -> Result<Peer, Error> {
        let config = Config::load_with(path, self.options)?;
        self.build(config)
    }

    fn build(self, config: Config) -> Result<Peer, Error> {
        let sid = match self.my_sid {
            Some(s) => s,
            None => config.read_myid()?,
        };
        Peer::new(config, sid)
    }
}
