//! The chain of custody: one row per intake, view, download, export, transfer or archive of an
//! incident's evidence, each row's SM3 hash covering the previous row's hash.
//!
//! Editing a row changes its hash; removing or reordering rows breaks a `prev_hash` link or the
//! gap-free `seq`. The chain alone cannot reveal rows cut off at the end; the export package
//! records the head (count, last hash, log digest) under the signature for that.

use serde::{Deserialize, Serialize};

/// 64 zeros: the `prev_hash` of an incident's first custody entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The actions the platform records. Others that pass [`is_valid_action`] are accepted so a
/// later version can add actions without breaking old verifiers.
pub const ACTIONS: [&str; 6] = [
    "intake", "view", "download", "export", "transfer", "archive",
];

/// Domain tag at the start of [`CustodyEntry::canonical_bytes`], so these hashes can never be
/// confused with SM3 of any other structure (and the layout can be versioned).
const CANONICAL_TAG: &[u8] = b"yunshou-custody-entry/1";

/// Whether `action` is a lowercase ASCII word (`[a-z][a-z_]*`, at most 32 bytes).
pub fn is_valid_action(action: &str) -> bool {
    let bytes = action.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || *b == b'_')
}

/// One row of an incident's chain of custody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// 1, 2, 3 … gap-free per incident.
    pub seq: u64,
    /// RFC 3339 UTC, e.g. `2026-12-03T10:00:00Z`; hashed as given, never reparsed.
    pub at: String,
    /// User name of whoever acted.
    pub actor: String,
    /// `intake`, `view`, `download`, `export`, `transfer` or `archive` (see [`ACTIONS`]).
    pub action: String,
    /// The evidence item acted on, if the action concerns one item.
    pub evidence_id: Option<String>,
    /// Free text: reason, recipient, package name, …
    pub detail: String,
    /// Hex SM3 of the previous entry, [`GENESIS`] for the first.
    pub prev_hash: String,
    /// Hex SM3 of [`CustodyEntry::canonical_bytes`].
    pub hash: String,
}

/// Appends `field` as an 8-byte big-endian length followed by its bytes.
fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u64).to_be_bytes());
    out.extend_from_slice(field);
}

impl CustodyEntry {
    /// Builds the entry that follows `prev` (`None` = the incident's first) and computes its hash.
    ///
    /// The action is not checked here (the store validates input with [`is_valid_action`]);
    /// [`verify_chain`] reports entries with an invalid action.
    pub fn next(
        prev: Option<&CustodyEntry>,
        at: String,
        actor: String,
        action: String,
        evidence_id: Option<String>,
        detail: String,
    ) -> CustodyEntry {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq.saturating_add(1), p.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let mut entry = CustodyEntry {
            seq,
            at,
            actor,
            action,
            evidence_id,
            detail,
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }

    /// The bytes the hash covers: every field except `hash`, in declaration order.
    ///
    /// Layout (version 1), so an independent verifier can reproduce it: the tag
    /// `yunshou-custody-entry/1`, then `seq` as 8 bytes big-endian, then `at`, `actor`,
    /// `action`; then `evidence_id` as one byte 0 (none) or 1 followed by the string; then
    /// `detail` and `prev_hash`. The tag and every string are written as an 8-byte big-endian
    /// byte length followed by the UTF-8 bytes, so no two entries share an encoding.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            128 + self.at.len() + self.actor.len() + self.detail.len() + self.action.len(),
        );
        put(&mut out, CANONICAL_TAG);
        out.extend_from_slice(&self.seq.to_be_bytes());
        put(&mut out, self.at.as_bytes());
        put(&mut out, self.actor.as_bytes());
        put(&mut out, self.action.as_bytes());
        match &self.evidence_id {
            None => out.push(0),
            Some(id) => {
                out.push(1);
                put(&mut out, id.as_bytes());
            }
        }
        put(&mut out, self.detail.as_bytes());
        put(&mut out, self.prev_hash.as_bytes());
        out
    }

    /// Hex SM3 of [`CustodyEntry::canonical_bytes`]: what `hash` must be.
    pub fn computed_hash(&self) -> String {
        crate::digest::sm3_hex(&self.canonical_bytes())
    }
}

/// Checks that `seq` runs gap-free from 1, that every `prev_hash` links to the entry before it
/// (the first to [`GENESIS`]) and that every `hash` matches its entry's contents.
///
/// Returns every problem found, each naming the seq concerned; empty means intact.
pub fn verify_chain(entries: &[CustodyEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let seq = entry.seq;
        if seq != expected_seq {
            problems.push(format!(
                "custody seq {seq}: found at position {expected_seq}, expected seq {expected_seq} (row missing, added or reordered)"
            ));
        }
        let expected_prev = match i {
            0 => GENESIS,
            _ => entries[i - 1].hash.as_str(),
        };
        if entry.prev_hash != expected_prev {
            problems.push(format!(
                "custody seq {seq}: chain broken, prev_hash {} does not match the hash of the entry before it ({expected_prev})",
                entry.prev_hash
            ));
        }
        let computed = entry.computed_hash();
        if entry.hash != computed {
            problems.push(format!(
                "custody seq {seq}: hash {} does not match the entry's contents (SM3 {computed}); the row was edited",
                entry.hash
            ));
        }
        if !is_valid_action(&entry.action) {
            problems.push(format!(
                "custody seq {seq}: action {:?} is not a lowercase ASCII word",
                entry.action
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<CustodyEntry> {
        let mut out: Vec<CustodyEntry> = Vec::new();
        for i in 0..n {
            let action = ACTIONS[i % ACTIONS.len()].to_string();
            let entry = CustodyEntry::next(
                out.last(),
                format!("2026-12-03T10:{i:02}:00Z"),
                "张三".to_string(),
                action,
                (i % 2 == 0).then(|| format!("ev-{i}")),
                format!("step {i}"),
            );
            out.push(entry);
        }
        out
    }

    #[test]
    fn next_links_entries_and_hashes_them() {
        let c = chain(3);
        assert_eq!(c[0].seq, 1);
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(c[1].seq, 2);
        assert_eq!(c[1].prev_hash, c[0].hash);
        assert_eq!(c[2].prev_hash, c[1].hash);
        for e in &c {
            assert_eq!(e.hash.len(), 64);
            assert!(e
                .hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(e.hash, e.computed_hash());
        }
        assert!(verify_chain(&c).is_empty());
        assert!(verify_chain(&[]).is_empty());
    }

    #[test]
    fn hash_is_fixed_by_the_documented_layout() {
        // Pins the canonical layout: changing it would orphan every stored chain.
        let e = CustodyEntry::next(
            None,
            "2026-12-03T10:00:00Z".into(),
            "alice".into(),
            "intake".into(),
            Some("ev-1".into()),
            "upload".into(),
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(&23u64.to_be_bytes());
        expected.extend_from_slice(b"yunshou-custody-entry/1");
        expected.extend_from_slice(&1u64.to_be_bytes());
        for s in ["2026-12-03T10:00:00Z", "alice", "intake"] {
            expected.extend_from_slice(&(s.len() as u64).to_be_bytes());
            expected.extend_from_slice(s.as_bytes());
        }
        expected.push(1);
        for s in ["ev-1", "upload", GENESIS] {
            expected.extend_from_slice(&(s.len() as u64).to_be_bytes());
            expected.extend_from_slice(s.as_bytes());
        }
        assert_eq!(e.canonical_bytes(), expected);
        assert_eq!(e.hash, crate::digest::sm3_hex(&expected));
    }

    #[test]
    fn encoding_is_unambiguous() {
        let a = CustodyEntry::next(
            None,
            "t".into(),
            "ab".into(),
            "view".into(),
            None,
            "c".into(),
        );
        let b = CustodyEntry::next(
            None,
            "t".into(),
            "a".into(),
            "view".into(),
            None,
            "bc".into(),
        );
        assert_ne!(a.hash, b.hash);
        // No evidence id versus an empty one.
        let c = CustodyEntry::next(
            None,
            "t".into(),
            "a".into(),
            "view".into(),
            Some(String::new()),
            "c".into(),
        );
        let d = CustodyEntry::next(
            None,
            "t".into(),
            "a".into(),
            "view".into(),
            None,
            "c".into(),
        );
        assert_ne!(c.hash, d.hash);
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = chain(1).remove(0);
        let edits: [fn(&mut CustodyEntry); 7] = [
            |e| e.seq = 2,
            |e| e.at.push('x'),
            |e| e.actor.push('x'),
            |e| e.action.push('x'),
            |e| e.evidence_id = None,
            |e| e.detail.push('x'),
            |e| e.prev_hash = "1".repeat(64),
        ];
        for edit in edits {
            let mut e = base.clone();
            edit(&mut e);
            assert_ne!(e.computed_hash(), base.hash, "{e:?}");
        }
    }

    #[test]
    fn edited_row_is_named_by_seq() {
        let mut c = chain(4);
        c[2].detail = "nothing happened".into();
        let problems = verify_chain(&c);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("custody seq 3:"), "{problems:?}");
        assert!(problems[0].contains("edited"));
    }

    #[test]
    fn edited_and_rehashed_row_breaks_the_next_link() {
        let mut c = chain(4);
        c[1].actor = "mallory".into();
        c[1].hash = c[1].computed_hash();
        let problems = verify_chain(&c);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("custody seq 3:"));
        assert!(problems[0].contains("chain broken"));
    }

    #[test]
    fn removed_row_is_detected() {
        let mut c = chain(5);
        c.remove(1);
        let problems = verify_chain(&c);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("custody seq 3:") && p.contains("expected seq 2")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("custody seq 3:") && p.contains("chain broken")),
            "{problems:?}"
        );

        let mut c = chain(3);
        c.remove(0);
        let problems = verify_chain(&c);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("seq 2") && p.contains("chain broken")),
            "{problems:?}"
        );
    }

    #[test]
    fn reordered_rows_are_detected() {
        let mut c = chain(4);
        c.swap(1, 2);
        let problems = verify_chain(&c);
        assert!(
            problems.iter().any(|p| p.starts_with("custody seq 3:")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("custody seq 2:")),
            "{problems:?}"
        );
    }

    #[test]
    fn invalid_action_is_reported() {
        let c = vec![CustodyEntry::next(
            None,
            "t".into(),
            "a".into(),
            "Delete *".into(),
            None,
            String::new(),
        )];
        let problems = verify_chain(&c);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("seq 1") && problems[0].contains("action"));
        assert!(ACTIONS.iter().all(|a| is_valid_action(a)));
        for bad in ["", "View", "view ", "1view", "_x", "vi-ew", "删除"] {
            assert!(!is_valid_action(bad), "{bad}");
        }
    }

    #[test]
    fn serde_round_trip_keeps_the_hash_valid() {
        let c = chain(3);
        let lines: Vec<String> = c
            .iter()
            .map(|e| serde_json::to_string(e).expect("json"))
            .collect();
        let back: Vec<CustodyEntry> = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("parse"))
            .collect();
        assert_eq!(back, c);
        assert!(verify_chain(&back).is_empty());
    }
}
