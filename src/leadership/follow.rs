//! The follow-only setting (`followOnly` in zoo.cfg, a zkelect key).

use std::fmt;
use std::str::FromStr;

/// Whether a zkelect voter may win FastLeaderElection.
///
/// A zkelect peer cannot serve ZooKeeper's sync protocol (Zab). If it wins
/// the election in an ensemble with real ZooKeeper servers, those servers
/// fail their sync with it and elect again, around and around. A
/// *follow-only* peer votes as any other but is never the winner (see
/// `Fle::set_follow_only` of the election machine): its own vote carries the
/// lowest (peer epoch, zxid) that ZooKeeper still counts, so every real
/// vote beats it, and it never adopts a vote naming itself. Real servers
/// compute exactly what they always do and need nothing new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FollowOnly {
    /// The default: follow-only once the peer learns that the ensemble has
    /// real ZooKeeper members (a real learner connects to its quorum port,
    /// which zkelect peers never do, or another zkelect peer's vote says it
    /// learned so). Leaders that send no heartbeats are only a hint that
    /// speeds up following them; they never make a peer follow-only.
    #[default]
    Auto,
    /// Always follow-only (`followOnly=true`).
    On,
    /// Never (`followOnly=false`): the peer may lead even among real
    /// servers, which then cannot sync with it.
    Off,
}

impl FollowOnly {
    /// The zoo.cfg spelling: `auto`, `true` or `false`.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowOnly::Auto => "auto",
            FollowOnly::On => "true",
            FollowOnly::Off => "false",
        }
    }
}

impl fmt::Display for FollowOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FollowOnly {
    type Err = String;

    /// `auto`, `true` or `false` (ASCII case ignored, as ZooKeeper reads
    /// booleans); anything else names the three values.
    fn from_str(s: &str) -> Result<FollowOnly, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(FollowOnly::Auto),
            "true" => Ok(FollowOnly::On),
            "false" => Ok(FollowOnly::Off),
            _ => Err(format!(
                "followOnly must be auto, true or false, not {:?}",
                s.trim()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_spellings_and_names_them_on_error() {
        assert_eq!("auto".parse::<FollowOnly>(), Ok(FollowOnly::Auto));
        assert_eq!(" TRUE ".parse::<FollowOnly>(), Ok(FollowOnly::On));
        assert_eq!("false".parse::<FollowOnly>(), Ok(FollowOnly::Off));
        let e = "yes".parse::<FollowOnly>().unwrap_err();
        assert!(
            e.contains("auto, true or false") && e.contains("yes"),
            "{e}"
        );
        assert_eq!(FollowOnly::default(), FollowOnly::Auto);
    }
}
