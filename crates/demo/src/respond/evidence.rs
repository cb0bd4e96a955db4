//! Evidence: taking items into the vault and recording their custody, and the bytes of the
//! items themselves (an `auth.log` excerpt, a saved search, a hand-built packet capture, a
//! ransom note).

use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use yunshou_model::Actor;
use yunshou_store::evidence_vault::EvidenceIntake;
use yunshou_store::incidents::Incident;

use super::story::Story;

impl Story<'_> {
    /// Takes an item into the vault; a vault that cannot take it (a store without a data
    /// directory) is logged and skipped.
    pub(super) async fn evidence(
        &self,
        inc: &Incident,
        intake: EvidenceIntake,
        bytes: Vec<u8>,
    ) -> Option<String> {
        let name = intake.name.clone();
        match self
            .store
            .take_evidence(
                &self.scope,
                &inc.id,
                intake,
                Box::new(std::io::Cursor::new(bytes)),
                &self.responder,
            )
            .await
        {
            Ok(item) => Some(item.id),
            Err(e) => {
                tracing::warn!("demo: evidence {name} for {} not taken: {e}", inc.label);
                None
            }
        }
    }

    /// Records a custody entry (`view`, `transfer`, …) for an item the vault took; nothing
    /// when it took none.
    pub(super) async fn custody(
        &self,
        inc: &Incident,
        action: &str,
        item: Option<&str>,
        detail: &str,
        by: &Actor,
    ) -> anyhow::Result<()> {
        if let Some(id) = item {
            self.store
                .record_custody(&self.scope, &inc.id, action, Some(id), detail, by)
                .await?;
        }
        Ok(())
    }
}

/// The ransom note left in the encrypted directory.
pub(super) const RANSOM_NOTE: &str = "!!! YOUR FILES ARE ENCRYPTED !!!\r\n\r\nAll your documents, databases and backups have been encrypted with AES-256 + RSA-2048.\r\nExtension: .locked\r\nTo restore, contact: restore-support@protonmail.example\r\nYour ID: 7F3A-91C2-DD04\r\n\r\nDo not rename files. Do not use third-party tools.\r\n";

/// An `auth.log` excerpt: failures from `src` against `host`, then (when `success` names an
/// account) an accepted login and its session.
pub(super) fn auth_log(
    host: &str,
    src: &str,
    success: Option<&str>,
    start: DateTime<Utc>,
) -> String {
    let users = [
        "root", "admin", "oracle", "test", "ubuntu", "postgres", "root", "ops.li",
    ];
    let mut out = String::new();
    let mut t = start;
    let pid0 = 28_417u32;
    for i in 0..24u32 {
        let user = users[i as usize % users.len()];
        let port = 40_000 + (i * 7_919) % 20_000;
        let pid = pid0 + i * 3;
        let ts = t.format("%b %e %H:%M:%S");
        if matches!(user, "admin" | "test" | "ubuntu") {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Invalid user {user} from {src} port {port}\n"
            ));
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Failed password for invalid user {user} from {src} port {port} ssh2\n"
            ));
        } else {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Failed password for {user} from {src} port {port} ssh2\n"
            ));
        }
        if i % 6 == 5 {
            out.push_str(&format!(
                "{ts} {host} sshd[{pid}]: Disconnecting authenticating user {user} {src} port {port}: Too many authentication failures [preauth]\n"
            ));
        }
        t += Duration::seconds(3 + (i as i64 * 5) % 7);
    }
    if let Some(user) = success {
        let pid = pid0 + 200;
        t += Duration::minutes(27);
        let ts = t.format("%b %e %H:%M:%S");
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: Accepted password for {user} from {src} port 52814 ssh2\n"
        ));
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid=1003) by (uid=0)\n"
        ));
        out.push_str(&format!(
            "{ts} {host} systemd-logind[912]: New session 4711 of user {user}.\n"
        ));
        t += Duration::minutes(6);
        let ts = t.format("%b %e %H:%M:%S");
        out.push_str(&format!(
            "{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}\n"
        ));
    }
    out
}

/// A saved event search: the query, its window and a few hits, as the console exports it.
pub(super) fn search_capture(query: &str, host: &str, src: &str, start: DateTime<Utc>) -> Vec<u8> {
    let hits: Vec<Value> = (0..3)
        .map(|i| {
            let user = ["root", "admin", "oracle"][i as usize];
            json!({
                "@timestamp": yunshou_store::time_text(start + Duration::seconds(i * 4)),
                "host": {"name": host},
                "source": {"ip": src, "port": 40_000 + i * 7_919},
                "event": {"dataset": "sshd", "outcome": "failure"},
                "user": {"name": user},
                "message": format!("Failed password for {user} from {src} port {} ssh2", 40_000 + i * 7_919),
            })
        })
        .collect();
    let capture = json!({
        "query": query,
        "from": yunshou_store::time_text(start - Duration::hours(1)),
        "to": yunshou_store::time_text(start + Duration::hours(2)),
        "total": 1_904,
        "hits": hits,
    });
    serde_json::to_vec_pretty(&capture).unwrap_or_default()
}

/// The ones' complement sum of 16-bit big-endian words, folded.
pub(super) fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A classic libpcap file (Ethernet) with three TCP SYNs from `src` to `dst:port`. Addresses
/// that are not IPv4 fall back to documentation addresses.
pub(super) fn pcap(src: &str, dst: &str, port: u16, start: DateTime<Utc>) -> Vec<u8> {
    let src: Ipv4Addr = src.parse().unwrap_or(Ipv4Addr::new(198, 51, 100, 23));
    let dst: Ipv4Addr = dst.parse().unwrap_or(Ipv4Addr::new(10, 20, 11, 23));
    let mut out = Vec::new();
    // Global header: magic, version 2.4, GMT offset, accuracy, snaplen, LINKTYPE_ETHERNET.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..3u16 {
        let sport = 51_234 + i * 17;
        let mut tcp = Vec::with_capacity(20);
        tcp.extend_from_slice(&sport.to_be_bytes());
        tcp.extend_from_slice(&port.to_be_bytes());
        tcp.extend_from_slice(&(0x1f2e_3d4cu32 + u32::from(i) * 0x0101_0101).to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.push(5 << 4); // data offset: 20 bytes
        tcp.push(0x02); // SYN
        tcp.extend_from_slice(&64_240u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0]); // checksum, below
        tcp.extend_from_slice(&[0, 0]); // urgent pointer
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        let sum = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());

        let mut ip = Vec::with_capacity(20);
        ip.push(0x45);
        ip.push(0);
        ip.extend_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&(0x4a10 + i).to_be_bytes());
        ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
        ip.push(52); // TTL
        ip.push(6); // TCP
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let sum = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());

        let mut frame = Vec::with_capacity(54);
        frame.extend_from_slice(&[0x00, 0x1c, 0x54, 0x3a, 0x7e, 0x01]); // the host's gateway side
        frame.extend_from_slice(&[0x00, 0x0f, 0xe2, 0x11, 0x22, 0x33]); // border firewall
        frame.extend_from_slice(&0x0800u16.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&tcp);

        let t = start + Duration::milliseconds(i64::from(i) * 1_250);
        out.extend_from_slice(&(t.timestamp() as u32).to_le_bytes());
        out.extend_from_slice(&t.timestamp_subsec_micros().to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}
