//! The leadership mode (`leadershipMode` in zoo.cfg, a zkelect key).

use std::fmt;
use std::str::FromStr;

/// What a confirmed leader promises its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The default: followers promise (for `syncLimit` ticks after each
    /// acknowledgement) not to acknowledge another leader, so at no instant
    /// do two peers lead within their leases. Fail-over after a leader dies
    /// unseen waits for those promises.
    #[default]
    Lease,
    /// No promises: a leader is confirmed as soon as a quorum has durably
    /// accepted its epoch (Zab's own model). Two peers may believe they lead
    /// for a moment; the epoch, checked at the resource, is what makes
    /// writes safe. Fail-over is detection, election and one round trip.
    /// Needs a durable store (`dataDir` or a store hook).
    Fencing,
}

impl Mode {
    /// The zoo.cfg spelling: `lease` or `fencing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Lease => "lease",
            Mode::Fencing => "fencing",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    /// `lease` or `fencing` (ASCII case ignored, as ZooKeeper reads
    /// booleans); anything else names the two values.
    fn from_str(s: &str) -> Result<Mode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lease" => Ok(Mode::Lease),
            "fencing" => Ok(Mode::Fencing),
            _ => Err(format!(
                "leadershipMode must be lease or fencing, not {:?}",
                s.trim()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings_and_names_them_on_error() {
        assert_eq!("lease".parse::<Mode>(), Ok(Mode::Lease));
        assert_eq!(" Fencing ".parse::<Mode>(), Ok(Mode::Fencing));
        let e = "leases".parse::<Mode>().unwrap_err();
        assert!(
            e.contains("lease or fencing") && e.contains("leases"),
            "{e}"
        );
    }
}
