//! The export package end to end: build one from files on disk with a custody chain, verify it
//! intact, then tamper with copies the way an adversary would and check each is caught and
//! named.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use yunshou_evidence::package::{
    item_path, CUSTODY_FILE, MANIFEST_FILE, SIGNATURE_FILE, SIGNER_FILE,
};
use yunshou_evidence::{
    copy_and_digest, render_report, verify_package, write_package, CustodyEntry, CustodyHead,
    Error, Manifest, ManifestItem, PlatformKey, Verification, FORMAT,
};
use zip::write::SimpleFileOptions;

/// Bigger than 1 MiB so the evidence spans many copy buffers and deflate blocks.
const BIG: usize = 1536 * 1024 + 17;

struct Fixture {
    dir: tempfile::TempDir,
    key: PlatformKey,
    package: PathBuf,
    written: Manifest,
    custody: Vec<CustodyEntry>,
}

/// Deterministic incompressible bytes (xorshift), standing in for a packet capture.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn item(
    id: &str,
    name: &str,
    kind: &str,
    media_type: &str,
    store: &Path,
    content: &[u8],
) -> ManifestItem {
    // Intake: stream the upload into the vault once, hashing on the way.
    let digests =
        copy_and_digest(content, File::create(store.join(id)).expect("create")).expect("intake");
    ManifestItem {
        id: id.into(),
        name: name.into(),
        media_type: media_type.into(),
        kind: kind.into(),
        digests,
        collector: "李四".into(),
        collected_at: "2026-12-03T09:00:00Z".into(),
        source: "web-01.example.cn".into(),
        description: format!("{kind} from the web server"),
    }
}

fn custody_chain() -> Vec<CustodyEntry> {
    let rows = [
        (
            "2026-12-03T09:00:00Z",
            "李四",
            "intake",
            Some("ev-1"),
            "上传 uploaded",
        ),
        (
            "2026-12-03T09:01:00Z",
            "李四",
            "intake",
            Some("ev-2"),
            "sensor capture",
        ),
        (
            "2026-12-03T09:02:00Z",
            "李四",
            "intake",
            Some("ev-3"),
            "screenshot",
        ),
        (
            "2026-12-03T09:30:00Z",
            "wang",
            "view",
            Some("ev-1"),
            "triage",
        ),
        (
            "2026-12-03T10:00:00Z",
            "张三",
            "export",
            None,
            "移交公安 handed to police",
        ),
    ];
    let mut chain: Vec<CustodyEntry> = Vec::new();
    for (at, actor, action, id, detail) in rows {
        let entry = CustodyEntry::next(
            chain.last(),
            at.into(),
            actor.into(),
            action.into(),
            id.map(String::from),
            detail.into(),
        );
        chain.push(entry);
    }
    chain
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    std::fs::create_dir(&store).expect("store dir");
    let items = vec![
        item(
            "ev-1",
            "入侵报告 2026.txt",
            "file",
            "text/plain",
            &store,
            "攻击者于 09:00 登录。\n".repeat(50).as_bytes(),
        ),
        item(
            "ev-2",
            "capture.pcap",
            "pcap",
            "application/vnd.tcpdump.pcap",
            &store,
            &noise(BIG),
        ),
        item(
            "ev-3",
            "../screen shot.png",
            "screenshot",
            "image/png",
            &store,
            b"\x89PNG\r\n\x1a\n not really",
        ),
    ];
    let custody = custody_chain();
    let key = PlatformKey::generate();
    let manifest = Manifest {
        format: String::new(),
        tenant: "acme".into(),
        incident_id: "INC-2026-0042".into(),
        incident_title: "网站被入侵 web server compromise".into(),
        created_at: "2026-12-03T10:00:00Z".into(),
        created_by: "张三".into(),
        items,
        custody: CustodyHead::default(),
        signer_public_key: String::new(),
    };
    let package = dir.path().join("INC-2026-0042.zip");
    let out = File::create(&package).expect("create package");
    let written = write_package(out, manifest, &custody, &key, &mut |item| {
        Ok(Box::new(File::open(store.join(&item.id))?) as Box<dyn Read>)
    })
    .expect("write package");
    Fixture {
        dir,
        key,
        package,
        written,
        custody,
    }
}

fn read_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(File::open(path).expect("open")).expect("zip");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).expect("entry");
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).expect("read entry");
            (file.name().to_string(), bytes)
        })
        .collect()
}

fn write_entries(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(File::create(path).expect("create"));
    for (name, bytes) in entries {
        zip.start_file(
            name.as_str(),
            // Stored: the copy is for tampering, and deflate is slow in unoptimised test builds.
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
        )
        .expect("start");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish");
}

fn entry<'a>(entries: &'a mut [(String, Vec<u8>)], name: &str) -> &'a mut Vec<u8> {
    &mut entries
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
        .1
}

impl Fixture {
    fn trusted(&self) -> String {
        self.key.public_key_hex()
    }

    fn verify(&self, path: &Path) -> Verification {
        verify_package(File::open(path).expect("open"), Some(&self.trusted()))
            .expect("readable zip")
    }

    /// Rewrites a copy of the package with `edit` applied to its entries and verifies it.
    fn tampered(&self, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Verification {
        let mut entries = read_entries(&self.package);
        edit(&mut entries);
        let copy = self.dir.path().join("tampered.zip");
        write_entries(&copy, &entries);
        self.verify(&copy)
    }

    fn item(&self, id: &str) -> &ManifestItem {
        self.written
            .items
            .iter()
            .find(|i| i.id == id)
            .expect("item")
    }
}

/// Asserts some problem line contains every one of `needles`.
#[track_caller]
fn assert_problem(v: &Verification, needles: &[&str]) {
    assert!(!v.is_intact());
    assert!(
        v.problems
            .iter()
            .any(|p| needles.iter().all(|n| p.contains(n))),
        "no problem mentions {needles:?}; problems: {:#?}",
        v.problems
    );
}

fn custody_lines(entries: &mut [(String, Vec<u8>)]) -> Vec<String> {
    String::from_utf8(entry(entries, CUSTODY_FILE).clone())
        .expect("utf8")
        .lines()
        .map(String::from)
        .collect()
}

fn set_custody_lines(entries: &mut [(String, Vec<u8>)], lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    *entry(entries, CUSTODY_FILE) = text.into_bytes();
}

#[test]
fn intact_package_verifies() {
    let f = fixture();
    let v = f.verify(&f.package);
    assert!(v.is_intact(), "{:#?}", v.problems);
    assert_eq!(v.items_checked, 3);
    assert_eq!(v.custody_entries, 5);
    let m = v.manifest.as_ref().expect("manifest");
    assert_eq!(m.format, FORMAT);
    assert_eq!(m.incident_id, "INC-2026-0042");
    assert_eq!(m.signer_public_key, f.trusted());
    assert_eq!(m.custody.entries, 5);
    assert_eq!(m.custody.head_hash, f.custody[4].hash);
    // What write_package returned is exactly what was signed into the package.
    assert_eq!(
        serde_json::to_value(m).expect("json"),
        serde_json::to_value(&f.written).expect("json")
    );

    // Without a trusted key the package is still self-consistent.
    let v = verify_package(File::open(&f.package).expect("open"), None).expect("zip");
    assert!(v.is_intact(), "{:#?}", v.problems);

    let names: Vec<String> = read_entries(&f.package)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names.contains(&"evidence/ev-1/入侵报告 2026.txt".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"evidence/ev-3/__screen shot.png".to_string()),
        "{names:?}"
    );
    for fixed in [MANIFEST_FILE, SIGNATURE_FILE, SIGNER_FILE, CUSTODY_FILE] {
        assert!(names.contains(&fixed.to_string()), "{fixed}");
    }
    assert_eq!(names.len(), 7);
    let mut entries = read_entries(&f.package);
    assert_eq!(entry(&mut entries, "evidence/ev-2/capture.pcap").len(), BIG);
    assert_eq!(custody_lines(&mut entries).len(), 5);

    let report = render_report(&v);
    assert!(report.contains("完整 intact"), "{report}");
    assert!(report.contains("INC-2026-0042"), "{report}");
    assert!(report.contains("3 of 3"), "{report}");
}

#[test]
fn flipped_byte_in_evidence_is_named() {
    let f = fixture();
    let path = item_path(f.item("ev-2"));
    let v = f.tampered(|entries| entry(entries, &path)[700_000] ^= 0x01);
    assert_problem(&v, &["ev-2", "capture.pcap", "SHA-256 mismatch"]);
    assert_problem(&v, &["ev-2", "capture.pcap", "SM3 mismatch"]);
    // Same length, so no size complaint, and nothing else is blamed.
    assert!(
        v.problems
            .iter()
            .all(|p| p.contains("ev-2") && !p.contains("size")),
        "{:#?}",
        v.problems
    );
    assert_eq!(v.items_checked, 3);
    let report = render_report(&v);
    assert!(report.contains("发现问题 problems found: 2"), "{report}");
}

#[test]
fn truncated_evidence_reports_its_size() {
    let f = fixture();
    let path = item_path(f.item("ev-1"));
    let v = f.tampered(|entries| {
        entry(entries, &path).pop();
    });
    assert_problem(&v, &["ev-1", "入侵报告 2026.txt", "size mismatch"]);
}

#[test]
fn damaged_zip_bytes_are_named() {
    // Not a rewritten entry but raw damage inside the compressed stream: the zip's own CRC or
    // the inflater notices before the digests do; either way the item is named.
    let f = fixture();
    let copy = f.dir.path().join("damaged.zip");
    std::fs::copy(&f.package, &copy).expect("copy");
    let path = item_path(f.item("ev-2"));
    let offset = {
        let mut zip = zip::ZipArchive::new(File::open(&copy).expect("open")).expect("zip");
        let index = zip.index_for_name(&path).expect("entry");
        let start = zip
            .by_index_raw(index)
            .expect("raw")
            .data_start()
            .expect("data start");
        start + 100_000
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&copy)
        .expect("open rw");
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(offset)).expect("seek");
    file.read_exact(&mut byte).expect("read");
    file.seek(SeekFrom::Start(offset)).expect("seek");
    file.write_all(&[byte[0] ^ 0x40]).expect("write");
    drop(file);
    let v = f.verify(&copy);
    assert_problem(&v, &["ev-2", "capture.pcap"]);
}

#[test]
fn removed_evidence_file_is_named() {
    let f = fixture();
    let path = item_path(f.item("ev-3"));
    let v = f.tampered(|entries| entries.retain(|(n, _)| *n != path));
    assert_problem(&v, &["ev-3", "missing", &path]);
    assert_eq!(v.items_checked, 2);
}

#[test]
fn extra_file_is_named() {
    let f = fixture();
    let v = f.tampered(|entries| {
        entries.push(("evidence/ev-9/implant.exe".into(), b"MZ".to_vec()));
        entries.push(("notes.txt".into(), b"hi".to_vec()));
    });
    assert_problem(&v, &["extra file", "evidence/ev-9/implant.exe"]);
    assert_problem(&v, &["extra file", "notes.txt"]);
    assert_eq!(v.problems.len(), 2, "{:#?}", v.problems);
}

#[test]
fn path_traversal_names_are_rejected() {
    let f = fixture();
    let v = f.tampered(|entries| {
        entries.push(("../../home/user/.bashrc".into(), b"evil".to_vec()));
        entries.push(("/etc/cron.d/evil".into(), b"evil".to_vec()));
        entries.push(("evidence/../../x".into(), b"evil".to_vec()));
    });
    assert_problem(&v, &["unsafe path", "../../home/user/.bashrc"]);
    assert_problem(&v, &["unsafe path", "/etc/cron.d/evil"]);
    assert_problem(&v, &["unsafe path", "evidence/../../x"]);
}

#[test]
fn edited_custody_row_is_named_by_seq() {
    let f = fixture();
    let v = f.tampered(|entries| {
        let mut lines = custody_lines(entries);
        let mut row: serde_json::Value = serde_json::from_str(&lines[1]).expect("row");
        row["detail"] = "nothing to see".into();
        lines[1] = row.to_string();
        set_custody_lines(entries, &lines);
    });
    assert_problem(&v, &["custody seq 2", "edited"]);
    assert_problem(&v, &["custody.jsonl SHA-256", "log_sha256"]);
    assert_eq!(v.custody_entries, 5);
}

#[test]
fn edited_and_rehashed_custody_row_breaks_the_chain() {
    let f = fixture();
    let v = f.tampered(|entries| {
        let mut lines = custody_lines(entries);
        let mut row: CustodyEntry = serde_json::from_str(&lines[3]).expect("row");
        row.actor = "nobody".into();
        row.hash = row.computed_hash();
        lines[3] = serde_json::to_string(&row).expect("json");
        set_custody_lines(entries, &lines);
    });
    assert_problem(&v, &["custody seq 5", "chain broken"]);
    assert_problem(&v, &["custody.jsonl SHA-256"]);
}

#[test]
fn deleted_custody_rows_are_detected() {
    let f = fixture();
    let v = f.tampered(|entries| {
        let mut lines = custody_lines(entries);
        lines.remove(2);
        set_custody_lines(entries, &lines);
    });
    assert_problem(&v, &["custody seq 4", "expected seq 3"]);
    assert_problem(&v, &["custody seq 4", "chain broken"]);
    assert_problem(&v, &["4 entries", "manifest records 5"]);
    assert_eq!(v.custody_entries, 4);

    // Cutting the last row leaves a valid chain; the signed head still gives it away.
    let v = f.tampered(|entries| {
        let mut lines = custody_lines(entries);
        lines.pop();
        set_custody_lines(entries, &lines);
    });
    assert!(
        !v.problems.iter().any(|p| p.contains("custody seq")),
        "{:#?}",
        v.problems
    );
    assert_problem(&v, &["4 entries", "manifest records 5"]);
    assert_problem(&v, &["head_hash"]);
    assert_problem(&v, &["log_sha256"]);
}

#[test]
fn reordered_custody_rows_are_detected() {
    let f = fixture();
    let v = f.tampered(|entries| {
        let mut lines = custody_lines(entries);
        lines.swap(1, 2);
        set_custody_lines(entries, &lines);
    });
    assert_problem(&v, &["custody seq 3", "expected seq 2"]);
    assert_problem(&v, &["custody seq 2", "chain broken"]);
}

#[test]
fn edited_manifest_fails_the_signature() {
    let f = fixture();
    let v = f.tampered(|entries| {
        let manifest = entry(entries, MANIFEST_FILE);
        let text = String::from_utf8(manifest.clone()).expect("utf8");
        *manifest = text
            .replace("web server compromise", "nothing happened")
            .into_bytes();
    });
    assert_problem(&v, &[MANIFEST_FILE, "signature check failed"]);
    assert_eq!(v.problems.len(), 1, "{:#?}", v.problems);
    assert_eq!(
        v.manifest.as_ref().expect("parsed").incident_title,
        "网站被入侵 nothing happened"
    );

    // Replacing an evidence file and fixing its digests in the manifest to match still fails:
    // the signature anchors the digests.
    let path = item_path(f.item("ev-3"));
    let v = f.tampered(|entries| {
        let forged = b"a different picture".to_vec();
        let digests = yunshou_evidence::digest_bytes(&forged);
        *entry(entries, &path) = forged;
        let mut m: Manifest =
            serde_json::from_slice(entry(entries, MANIFEST_FILE)).expect("manifest");
        m.items[2].digests = digests;
        *entry(entries, MANIFEST_FILE) = serde_json::to_vec_pretty(&m).expect("json");
    });
    assert!(
        !v.problems.iter().any(|p| p.contains("mismatch")),
        "{:#?}",
        v.problems
    );
    assert_problem(&v, &["signature check failed"]);
}

#[test]
fn signature_by_another_key_is_rejected_when_a_key_is_trusted() {
    let f = fixture();
    let forger = PlatformKey::generate();
    let mut entries = read_entries(&f.package);
    let mut m: Manifest =
        serde_json::from_slice(entry(&mut entries, MANIFEST_FILE)).expect("manifest");
    m.incident_title = "rewritten".into();
    m.signer_public_key = forger.public_key_hex();
    let mut bytes = serde_json::to_vec_pretty(&m).expect("json");
    bytes.push(b'\n');
    *entry(&mut entries, SIGNATURE_FILE) = forger.sign(&bytes);
    *entry(&mut entries, MANIFEST_FILE) = bytes;
    *entry(&mut entries, SIGNER_FILE) = format!("{}\n", forger.public_key_hex()).into_bytes();
    let copy = f.dir.path().join("resigned.zip");
    write_entries(&copy, &entries);

    let v = f.verify(&copy);
    assert_problem(
        &v,
        &[
            "signed by key",
            &forger.public_key_hex(),
            "not by the trusted platform key",
        ],
    );
    assert_eq!(v.problems.len(), 1, "{:#?}", v.problems);

    // Self-consistent without a trusted key: only the published key can catch a re-signing.
    let v = verify_package(File::open(&copy).expect("open"), None).expect("zip");
    assert!(v.is_intact(), "{:#?}", v.problems);
}

#[test]
fn missing_signature_and_manifest_are_reported() {
    let f = fixture();
    let v = f.tampered(|entries| entries.retain(|(n, _)| n != SIGNATURE_FILE));
    assert_problem(&v, &["manifest.sig is missing"]);

    let v = f.tampered(|entries| entries.retain(|(n, _)| n != MANIFEST_FILE));
    assert!(v.manifest.is_none());
    assert_problem(&v, &["manifest.json is missing"]);
    assert!(render_report(&v).contains("发现问题"));
}

#[test]
fn writer_refuses_evidence_that_changed_since_intake() {
    let f = fixture();
    let mut manifest = f.written.clone();
    manifest.incident_title = "second export".into();
    let mut out = Cursor::new(Vec::new());
    let err = write_package(&mut out, manifest, &f.custody, &f.key, &mut |item| {
        let mut bytes = std::fs::read(f.dir.path().join("store").join(&item.id))?;
        if item.id == "ev-2" {
            bytes[BIG / 2] ^= 0xff;
        }
        Ok(Box::new(Cursor::new(bytes)) as Box<dyn Read>)
    })
    .expect_err("changed evidence must not be packaged");
    match &err {
        Error::DigestMismatch { id, what, .. } => {
            assert_eq!(id, "ev-2");
            assert_eq!(*what, "SHA-256");
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("capture.pcap"), "{err}");

    // Missing evidence is an error naming the item, not an empty file in the package.
    let err = write_package(
        Cursor::new(Vec::new()),
        f.written.clone(),
        &f.custody,
        &f.key,
        &mut |_| Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone")),
    )
    .expect_err("missing evidence");
    assert!(err.to_string().contains("ev-1"), "{err}");
}

#[test]
fn writer_refuses_a_broken_custody_chain() {
    let f = fixture();
    let mut custody = f.custody.clone();
    custody[1].detail = "edited".into();
    let err = write_package(
        Cursor::new(Vec::new()),
        f.written.clone(),
        &custody,
        &f.key,
        &mut |_| Ok(Box::new(std::io::empty()) as Box<dyn Read>),
    )
    .expect_err("broken chain");
    assert!(matches!(err, Error::CustodyBroken(_)), "{err}");
    assert!(err.to_string().contains("custody seq 2"), "{err}");
}

#[test]
fn not_a_zip_is_an_error() {
    let err =
        verify_package(Cursor::new(b"this is not a zip".to_vec()), None).expect_err("not a zip");
    assert!(matches!(err, Error::Zip(_)), "{err}");
}

#[test]
fn the_report_says_intact_or_lists_each_problem() {
    let f = fixture();
    let intact = render_report(&f.verify(&f.package));
    assert!(intact.contains("结论 result: 完整 intact"), "{intact}");
    assert!(intact.contains("监管链 custody entries: 5"), "{intact}");
    let path = item_path(f.item("ev-1"));
    let v = f.tampered(|entries| {
        entry(entries, &path)[3] ^= 1;
        let mut lines = custody_lines(entries);
        lines.remove(1);
        set_custody_lines(entries, &lines);
    });
    let report = render_report(&v);
    assert!(!report.contains("完整 intact"), "{report}");
    assert!(report.contains("发现问题"), "{report}");
    // Every problem is a line of its own, the item's and the chain's among them.
    for p in &v.problems {
        assert!(report.contains(p.as_str()), "{p} missing from\n{report}");
    }
    assert!(
        v.problems.iter().any(|p| p.contains("ev-1")),
        "{:?}",
        v.problems
    );
    assert!(v.problems.len() >= 2, "{:?}", v.problems);
}
