//! The config text ZooKeeper 3.8 puts into every notification (spec 3.4):
//! `QuorumMaj.toString()` / `QuorumHierarchical.toString()`.
//!
//! Java iterates `HashMap<Long, _>`s to produce it, so the line order is the
//! hash-bucket order, not the numeric order. For sids below the table size
//! (16 entries for up to 12 servers) that is ascending; beyond it Java puts,
//! e.g., `server.20` before `server.5`. We reproduce the bucket order exactly;
//! only the order *within* one bucket (sids that differ by a multiple of the
//! table size) depends on insertion order that Java takes from its
//! properties table, and there we use ascending order.

use super::{Config, QuorumServer};
use crate::javatext::inet::{delimited_host_string as java_host, inet_hash as java_inet_hash};
use crate::quorum::QuorumVerifier;
use crate::types::Sid;
use std::collections::BTreeMap;

/// Renders `config` byte-identically to ZooKeeper (see module docs).
pub(crate) fn render(config: &Config) -> String {
    let mut out = String::new();
    for sid in java_hashmap_order(config.servers.keys().copied()) {
        let server = &config.servers[&sid];
        out.push_str(&format!("server.{sid}={}\n", server_spec(server)));
    }
    if let QuorumVerifier::Hierarchical(h) = &config.quorum {
        render_groups(&mut out, h.groups());
        for sid in java_hashmap_order(h.weights().keys().copied()) {
            out.push_str(&format!("weight.{sid}={}\n", h.weights()[&sid]));
        }
    }
    out.push_str(&format!("version={:x}", config.version));
    out
}

/// `QuorumHierarchical.toString`'s group part: it walks its sid -> gid map
/// and appends each sid to its group's string, then prints the gid map.
fn render_groups(out: &mut String, groups: &BTreeMap<i64, std::collections::BTreeSet<Sid>>) {
    let gid_of: BTreeMap<Sid, i64> = groups
        .iter()
        .flat_map(|(gid, members)| members.iter().map(move |m| (*m, *gid)))
        .collect();
    let inserted: Vec<Sid> = groups.values().flatten().copied().collect();
    let mut members: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut gid_first_seen: Vec<i64> = Vec::new();
    for sid in java_hashmap_order(inserted) {
        let gid = gid_of[&sid];
        let list = members.entry(gid).or_default();
        if list.is_empty() {
            gid_first_seen.push(gid);
        }
        list.push(sid.to_string());
    }
    for gid in java_hashmap_order(gid_first_seen) {
        out.push_str(&format!("group.{gid}={}\n", members[&gid].join(":")));
    }
}

/// `QuorumServer.toString()`: the address list, the role, and the client
/// address only when the server line itself had one.
pub(crate) fn server_spec(server: &QuorumServer) -> String {
    let quorum = java_address_order(
        server
            .addrs
            .iter()
            .map(|a| (a.host.as_str(), a.quorum_port)),
    );
    let election = java_address_order(
        server
            .addrs
            .iter()
            .map(|a| (a.host.as_str(), a.election_port)),
    );
    // Java sorts the two lists separately and pairs them by position, so a
    // server with one host on several ports may print its ports re-paired;
    // we copy that.
    let addrs: Vec<String> = quorum
        .iter()
        .zip(&election)
        .map(|((h, q), (_, e))| format!("{}:{q}:{e}", java_host(h)))
        .collect();
    let mut s = addrs.join("|");
    s.push(':');
    s.push_str(server.role.name());
    if let Some((host, port)) = &server.client {
        s.push_str(&format!(";{}:{port}", java_host(host)));
    }
    s
}

/// The order Java prints one address list in: collected into a
/// `ConcurrentHashMap` key set (so in hash-bin order, then insertion order),
/// then stably sorted by the unbracketed host string.
fn java_address_order<'a>(addrs: impl Iterator<Item = (&'a str, u16)>) -> Vec<(&'a str, u16)> {
    let mut keyed: Vec<(String, usize, usize, &'a str, u16)> = addrs
        .enumerate()
        .map(|(i, (host, port))| {
            let text = java_host(host);
            let text = text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let h = java_inet_hash(host).wrapping_add(i32::from(port)) as u32;
            // ConcurrentHashMap.spread, in a 16-bin table (lists of up to 12
            // addresses never resize it).
            let bin = ((h ^ (h >> 16)) & 0x7fff_ffff & 15) as usize;
            (text, bin, i, host, port)
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, _, h, p)| (h, p)).collect()
}

/// The iteration order of a `java.util.HashMap<Long, _>` (default capacity
/// 16, load factor 0.75) after putting `keys` in the given order.
///
/// Models bucket placement (`Long.hashCode` spread by `h ^ h >>> 16`), the
/// order-preserving resize, and the early resize when a bucket passes 8
/// entries in a table smaller than 64. Not modelled: the reordering inside a
/// treeified bucket (9+ colliding keys in a table of 64+), which no
/// realistic server list reaches.
pub(crate) fn java_hashmap_order(keys: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut cap = 16usize;
    let mut bins: Vec<Vec<i64>> = vec![Vec::new(); cap];
    let mut size = 0usize;
    for key in keys {
        let b = bucket(key, cap);
        if bins[b].contains(&key) {
            continue;
        }
        let before = bins[b].len();
        bins[b].push(key);
        if before >= 8 && cap < 64 {
            cap *= 2;
            bins = rehash(&bins, cap);
        }
        size += 1;
        if size > cap / 4 * 3 {
            cap *= 2;
            bins = rehash(&bins, cap);
        }
    }
    bins.concat()
}

fn bucket(key: i64, cap: usize) -> usize {
    let k = key as u64;
    let h = (k ^ (k >> 32)) as u32;
    ((h ^ (h >> 16)) as usize) & (cap - 1)
}

fn rehash(bins: &[Vec<i64>], cap: usize) -> Vec<Vec<i64>> {
    let mut out = vec![Vec::new(); cap];
    for k in bins.iter().flatten() {
        out[bucket(*k, cap)].push(*k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerAddr;
    use crate::types::LearnerType;

    fn server(
        addrs: &[(&str, u16, u16)],
        role: LearnerType,
        client: Option<(&str, u16)>,
    ) -> QuorumServer {
        QuorumServer {
            sid: 1,
            addrs: addrs
                .iter()
                .map(|(h, q, e)| ServerAddr {
                    host: h.to_string(),
                    quorum_port: *q,
                    election_port: *e,
                })
                .collect(),
            role,
            client: client.map(|(h, p)| (h.to_string(), p)),
        }
    }

    /// Printed by `new HashMap<Long,Integer>()` after putting these keys, on
    /// OpenJDK 17.
    #[test]
    fn hashmap_order_matches_the_jdk() {
        assert_eq!(
            java_hashmap_order([5, 20, 1, 17, 100, -1, 65536, 1 << 32]),
            vec![-1, 1, 17, 65536, 1 << 32, 20, 100, 5]
        );
        assert_eq!(java_hashmap_order(1..=12), (1..=12).collect::<Vec<_>>());
        // 13 entries resize the table to 32, so 16..=20 stay ascending.
        assert_eq!(java_hashmap_order(5..=20), (5..=20).collect::<Vec<_>>());
        assert_eq!(java_hashmap_order([5, 20]), vec![20, 5]);
    }

    #[test]
    fn hashmap_early_resize_on_a_crowded_bucket() {
        // Nine keys in bucket 0 of a 16-table force a resize to 32.
        let keys: Vec<i64> = (0..9).map(|i| i * 16).collect();
        assert_eq!(
            java_hashmap_order(keys),
            vec![0, 32, 64, 96, 128, 16, 48, 80, 112]
        );
    }

    #[test]
    fn spec_single_address_forms() {
        let s = server(
            &[("127.0.0.1", 1234, 1236)],
            LearnerType::Participant,
            Some(("0.0.0.0", 1237)),
        );
        assert_eq!(
            server_spec(&s),
            "127.0.0.1:1234:1236:participant;0.0.0.0:1237"
        );
        let s = server(&[("::1", 1234, 1236)], LearnerType::Participant, None);
        assert_eq!(server_spec(&s), "[0:0:0:0:0:0:0:1]:1234:1236:participant");
        let s = server(&[("h", 1, 2)], LearnerType::Observer, Some(("::1", 3)));
        assert_eq!(server_spec(&s), "h:1:2:observer;[0:0:0:0:0:0:0:1]:3");
    }

    #[test]
    fn multi_address_sorted_by_host_string() {
        let s = server(
            &[("b", 1, 2), ("::1", 3, 4), ("a", 5, 6), ("A", 7, 8)],
            LearnerType::Participant,
            None,
        );
        // "0:0:..." < "A" < "a" < "b": sorted on the unbracketed text.
        assert_eq!(
            server_spec(&s),
            "[0:0:0:0:0:0:0:1]:3:4|A:7:8|a:5:6|b:1:2:participant"
        );
    }
}
