//! Admission of accepted election connections to the handshake stage, and
//! the rate limit on the WARN lines a flood of them would otherwise print.
//!
//! At most [`MAX_PENDING_HANDSHAKES`] handshakes are read at once, and at
//! most [`MAX_PER_ADDRESS`] of them from one source address (an IPv4
//! address, or an IPv6 /64). A new connection is always admitted; when its
//! address already holds its share, the oldest unfinished handshake of that
//! address is closed to make room, and when the whole table is full, the
//! oldest unfinished handshake of the address holding the most is. So a
//! few addresses cannot take the table: a peer connecting from any other
//! address finds room at once, and a peer sharing an address with a flood
//! (loopback, a NAT) still gets in, because its connection is the newest
//! of its address and is read at once, while the flood only evicts its own
//! older connections. A connection whose whole handshake had already
//! arrived when it was accepted (the listener peeks, without waiting) is
//! never evicted: it needs no wait, only its thread's few microseconds;
//! if only such connections hold the room a newcomer needs, the newcomer
//! is closed instead. Each handshake must also finish within one deadline
//! for the whole exchange (see `listener::read_handshake`), so a client
//! that trickles bytes holds its slot for one handshake timeout at most.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The most handshakes read at once.
pub(crate) const MAX_PENDING_HANDSHAKES: usize = super::MAX_PENDING_HANDSHAKES;

/// The most handshakes read at once from one source address.
pub(crate) const MAX_PER_ADDRESS: usize = MAX_PENDING_HANDSHAKES / 4;

/// The key a source address is counted under: the address itself for IPv4
/// (IPv4-mapped IPv6 included), its /64 prefix for IPv6, the block one host
/// usually holds.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

struct Entry {
    key: IpAddr,
    /// Its whole handshake had arrived when it was admitted.
    ready: bool,
    from: SocketAddr,
    stream: TcpStream,
}

/// The handshakes being read: their sockets (so that stop and eviction can
/// close them), in accept order.
#[derive(Default)]
pub(crate) struct Pending {
    /// By connection id; ids grow with each accept, so the first entry is
    /// the oldest.
    entries: BTreeMap<u64, Entry>,
    per_key: HashMap<IpAddr, usize>,
}

/// What [`Pending::admit`] did.
pub(crate) enum Admission {
    /// Admitted; there was room.
    Admitted,
    /// Admitted, after closing an older unfinished handshake.
    Evicted(Evicted),
    /// Not admitted: the room it needs is held by handshakes that are
    /// complete (and end at once). The caller closes the connection.
    Refused,
}

/// A handshake closed to make room for a newer connection.
pub(crate) struct Evicted {
    /// Where the evicted connection came from.
    pub(crate) from: SocketAddr,
    /// Whether it was evicted because its own address held its share
    /// (rather than because the whole table was full).
    pub(crate) same_address: bool,
}

impl Pending {
    /// Admits connection `id` from `from`, closing (shutting down) the
    /// unfinished handshake that makes room for it if there was none.
    /// `ready`: its whole handshake has arrived already.
    pub(crate) fn admit(
        &mut self,
        id: u64,
        from: SocketAddr,
        stream: TcpStream,
        ready: bool,
    ) -> Admission {
        let key = address_key(from.ip());
        let held = self.per_key.get(&key).copied().unwrap_or(0);
        let (victim, same_address) = if held >= MAX_PER_ADDRESS {
            (self.oldest_unfinished(|k| k == key), true)
        } else if self.entries.len() >= MAX_PENDING_HANDSHAKES {
            (self.heaviest_victim(), false)
        } else {
            (None, false)
        };
        let outcome = match victim {
            None if held >= MAX_PER_ADDRESS || self.entries.len() >= MAX_PENDING_HANDSHAKES => {
                return Admission::Refused
            }
            None => Admission::Admitted,
            Some(v) => match self.remove(v) {
                Some(e) => {
                    let _ = e.stream.shutdown(std::net::Shutdown::Both);
                    Admission::Evicted(Evicted {
                        from: e.from,
                        same_address,
                    })
                }
                None => Admission::Admitted,
            },
        };
        *self.per_key.entry(key).or_insert(0) += 1;
        let entry = Entry {
            key,
            ready,
            from,
            stream,
        };
        self.entries.insert(id, entry);
        outcome
    }

    /// Forgets connection `id` (its handshake ended); false if it was not
    /// here any more (evicted, or drained by stop).
    pub(crate) fn finish(&mut self, id: u64) -> bool {
        self.remove(id).is_some()
    }

    /// Takes every socket out, for stop to close.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (u64, TcpStream)> {
        self.per_key.clear();
        std::mem::take(&mut self.entries)
            .into_iter()
            .map(|(id, e)| (id, e.stream))
    }

    /// How many handshakes are being read.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let e = self.entries.remove(&id)?;
        if let Some(n) = self.per_key.get_mut(&e.key) {
            *n -= 1;
            if *n == 0 {
                self.per_key.remove(&e.key);
            }
        }
        Some(e)
    }

    /// The oldest unfinished handshake whose address key passes `of`.
    fn oldest_unfinished(&self, of: impl Fn(IpAddr) -> bool) -> Option<u64> {
        self.entries
            .iter()
            .find(|(_, e)| !e.ready && of(e.key))
            .map(|(id, _)| *id)
    }

    /// The oldest unfinished handshake of the address holding the most
    /// (ties: the address whose oldest unfinished handshake is oldest);
    /// addresses holding only complete ones are passed over.
    fn heaviest_victim(&self) -> Option<u64> {
        let mut best: Option<(usize, u64)> = None;
        for (id, e) in &self.entries {
            if e.ready {
                continue;
            }
            let n = self.per_key[&e.key];
            if best.map_or(true, |(m, _)| n > m) {
                best = Some((n, *id));
            }
        }
        best.map(|(_, id)| id)
    }
}

/// A rate limit for one kind of repeated log line: the first line of each
/// `every` is written, the others are counted, and the next line written
/// says how many were left out: "... (1234 similar suppressed in the last
/// 10 s)".
pub(crate) struct RateLimit {
    every: Duration,
    state: Mutex<LimitState>,
}

struct LimitState {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    /// A limit of one line per `every` (const, so that a limit can be a
    /// `static` beside the line it limits).
    pub(crate) const fn new(every: Duration) -> RateLimit {
        RateLimit {
            every,
            state: Mutex::new(LimitState {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Whether a line may be written at `now`; if so, the suffix to append
    /// to it (empty, or the count of lines suppressed since the last one).
    pub(crate) fn check_at(&self, now: Instant) -> Option<String> {
        let mut s = self.state.lock();
        match s.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                s.suppressed += 1;
                None
            }
            last => {
                let suffix = match (last, s.suppressed) {
                    (Some(last), n) if n > 0 => format!(
                        " ({n} similar suppressed in the last {} s)",
                        now.saturating_duration_since(last).as_secs()
                    ),
                    _ => String::new(),
                };
                s.last = Some(now);
                s.suppressed = 0;
                Some(suffix)
            }
        }
    }

    /// Writes `line()` at `level` unless it is rate-limited now.
    pub(crate) fn log(&self, level: crate::logging::Level, line: impl FnOnce() -> String) {
        if !crate::logging::enabled(level) {
            return;
        }
        if let Some(suffix) = self.check_at(Instant::now()) {
            crate::logging::emit(level, &format!("{}{suffix}", line()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// `n` connected sockets (the client ends; the server ends are dropped).
    fn sockets(n: usize) -> (TcpListener, Vec<TcpStream>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        let v = (0..n).map(|_| TcpStream::connect(a).unwrap()).collect();
        (l, v)
    }

    fn addr(ip: &str, port: u16) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), port)
    }

    fn evicted(a: Admission) -> Option<Evicted> {
        match a {
            Admission::Evicted(e) => Some(e),
            Admission::Admitted => None,
            Admission::Refused => panic!("refused"),
        }
    }

    #[test]
    fn one_address_never_holds_more_than_its_share() {
        let (_l, socks) = sockets(MAX_PER_ADDRESS * 3);
        let mut p = Pending::default();
        let mut gone = Vec::new();
        for (i, s) in socks.into_iter().enumerate() {
            if let Some(e) = evicted(p.admit(i as u64, addr("10.0.0.1", i as u16), s, false)) {
                assert!(e.same_address);
                gone.push(e.from.port());
            }
        }
        assert_eq!(p.len(), MAX_PER_ADDRESS);
        // The oldest went first, in order.
        let expect: Vec<u16> = (0..2 * MAX_PER_ADDRESS as u16).collect();
        assert_eq!(gone, expect);
        // Another address gets in without evicting anyone.
        let (_l2, mut more) = sockets(1);
        let a = p.admit(1000, addr("10.0.0.2", 1), more.remove(0), false);
        assert!(matches!(a, Admission::Admitted));
    }

    #[test]
    fn a_full_table_evicts_from_the_heaviest_address() {
        let (_l, socks) = sockets(MAX_PENDING_HANDSHAKES + 2);
        let mut socks = socks.into_iter();
        let mut p = Pending::default();
        let mut id = 0;
        // Four addresses fill the table, each with its full share.
        for a in 0..4 {
            for _ in 0..MAX_PER_ADDRESS {
                let from = addr(&format!("10.0.0.{a}"), id as u16);
                assert!(evicted(p.admit(id, from, socks.next().unwrap(), false)).is_none());
                id += 1;
            }
        }
        assert_eq!(p.len(), MAX_PENDING_HANDSHAKES);
        // One of them ends: a newcomer fits without eviction.
        assert!(p.finish(5));
        assert!(!p.finish(5), "finished twice");
        let a = p.admit(id, addr("10.9.9.9", 7), socks.next().unwrap(), false);
        assert!(matches!(a, Admission::Admitted));
        id += 1;
        // Full again: the next newcomer evicts from the heaviest address
        // (10.0.0.1..3 hold 16 each, 10.0.0.0 holds 15): the oldest of
        // 10.0.0.1, whose oldest is the oldest among the heaviest.
        let e = evicted(p.admit(id, addr("10.9.9.8", 8), socks.next().unwrap(), false))
            .expect("an eviction");
        assert!(!e.same_address);
        assert_eq!(e.from, addr("10.0.0.1", MAX_PER_ADDRESS as u16));
        assert_eq!(p.len(), MAX_PENDING_HANDSHAKES);
        assert_eq!(p.drain().count(), MAX_PENDING_HANDSHAKES);
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn complete_handshakes_are_never_evicted() {
        let (_l, socks) = sockets(MAX_PER_ADDRESS + 3);
        let mut socks = socks.into_iter();
        let mut p = Pending::default();
        // A complete one first (the oldest), then unfinished ones.
        let first = p.admit(0, addr("10.0.0.1", 0), socks.next().unwrap(), true);
        assert!(matches!(first, Admission::Admitted));
        for id in 1..MAX_PER_ADDRESS as u64 {
            let a = p.admit(
                id,
                addr("10.0.0.1", id as u16),
                socks.next().unwrap(),
                false,
            );
            assert!(matches!(a, Admission::Admitted));
        }
        // The share is full: the oldest unfinished goes, not the complete one.
        let e = evicted(p.admit(100, addr("10.0.0.1", 100), socks.next().unwrap(), true))
            .expect("an eviction");
        assert_eq!(e.from.port(), 1);
        // When only complete ones hold the share, a newcomer is refused.
        for id in 2..MAX_PER_ADDRESS as u64 {
            assert!(p.finish(id));
        }
        let (_l2, more) = sockets(MAX_PER_ADDRESS);
        let mut more = more.into_iter();
        for id in 200..200 + MAX_PER_ADDRESS as u64 - 2 {
            let a = p.admit(id, addr("10.0.0.1", id as u16), more.next().unwrap(), true);
            assert!(matches!(a, Admission::Admitted));
        }
        assert_eq!(p.len(), MAX_PER_ADDRESS);
        let a = p.admit(300, addr("10.0.0.1", 300), socks.next().unwrap(), false);
        assert!(matches!(a, Admission::Refused));
        assert!(p.finish(0));
        let a = p.admit(301, addr("10.0.0.1", 301), socks.next().unwrap(), false);
        assert!(matches!(a, Admission::Admitted));
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            address_key("2001:db8:1:2:bbbb::2".parse().unwrap())
        );
        assert_ne!(
            address_key("2001:db8:1:2::1".parse().unwrap()),
            address_key("2001:db8:1:3::1".parse().unwrap())
        );
        assert_eq!(
            address_key("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_rate_limit_counts_what_it_suppresses() {
        let r = RateLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.check_at(t0).as_deref(), Some(""));
        for i in 1..=1234 {
            assert_eq!(r.check_at(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(
            r.check_at(t0 + Duration::from_secs(10)).as_deref(),
            Some(" (1234 similar suppressed in the last 10 s)")
        );
        // Nothing suppressed since: no suffix.
        assert_eq!(
            r.check_at(t0 + Duration::from_secs(25)).as_deref(),
            Some("")
        );
    }
}
