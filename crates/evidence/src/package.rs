//! The evidence export package and its offline verifier.
//!
//! A package is a zip holding:
//!
//! * `manifest.json`: the incident, every item with its intake digests, and the custody head;
//! * `manifest.sig`: SM2 signature (64 bytes `r ‖ s`) over the exact bytes of `manifest.json`;
//! * `signer.pub`: the signing key, SEC1 uncompressed hex;
//! * `custody.jsonl`: the incident's custody log, one [`CustodyEntry`] as JSON per line;
//! * `evidence/<id>/<name>`: each item's content, `id` and `name` passed through
//!   [`sanitize_name`] (see [`item_path`]).
//!
//! The signature covers the manifest, the manifest covers every file's digests and the custody
//! log's SHA-256, and the log's rows are hash-chained: one signature check anchors everything.

use crate::custody::{verify_chain, CustodyEntry, GENESIS};
use crate::digest::{copy_and_digest, sha256_hex, Digests};
use crate::signing::{normalize_public_key, verify_signature, PlatformKey};
use crate::Error;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The `format` of packages this crate writes and verifies.
pub const FORMAT: &str = "yunshou-evidence-package/1";
/// Name of the manifest inside the package.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the manifest signature inside the package.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// Name of the signer's public key inside the package.
pub const SIGNER_FILE: &str = "signer.pub";
/// Name of the custody log inside the package.
pub const CUSTODY_FILE: &str = "custody.jsonl";

/// Upper bounds when the verifier reads metadata into memory, so a hostile package (a zip bomb
/// posing as a manifest) cannot exhaust memory. Real manifests are far smaller.
const MANIFEST_LIMIT: u64 = 64 << 20;
const SMALL_FILE_LIMIT: u64 = 4096;
const CUSTODY_LINE_LIMIT: u64 = 1 << 20;

/// What the export package says about the incident and its items (`manifest.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`]; set by [`write_package`].
    pub format: String,
    /// Tenant the incident belongs to.
    pub tenant: String,
    /// The incident's id.
    pub incident_id: String,
    /// The incident's title.
    pub incident_title: String,
    /// When the package was made, RFC 3339 UTC.
    pub created_at: String,
    /// User who exported it.
    pub created_by: String,
    /// Every evidence item in the package.
    pub items: Vec<ManifestItem>,
    /// Head of the custody log; filled in by [`write_package`] from the custody slice.
    pub custody: CustodyHead,
    /// SEC1 hex of the signing key; filled in by [`write_package`] from the key.
    pub signer_public_key: String,
}

/// One evidence item in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestItem {
    /// The item's id in the vault.
    pub id: String,
    /// Original file name (the zip path uses [`sanitize_name`] of it).
    pub name: String,
    /// Media type, e.g. `application/vnd.tcpdump.pcap`.
    pub media_type: String,
    /// `file`, `pcap`, `screenshot` or `search`.
    pub kind: String,
    /// Digests taken at intake.
    pub digests: Digests,
    /// Who collected it.
    pub collector: String,
    /// When it was collected, RFC 3339 UTC.
    pub collected_at: String,
    /// Where it came from (host, sensor, URL, query …).
    pub source: String,
    /// Free text.
    pub description: String,
}

/// The custody log as of the export, recorded under the signature so that rows cut off at the
/// end of the log (which the chain alone cannot show) are detected too.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CustodyHead {
    /// Number of entries in `custody.jsonl`.
    pub entries: u64,
    /// Hash of the last entry ([`GENESIS`] if there are none).
    pub head_hash: String,
    /// SHA-256 of the exact bytes of `custody.jsonl`.
    pub log_sha256: String,
}

/// Turns a name into a single safe zip path component: no `/` or `\`, no `..`, no control,
/// invisible direction-changing or Windows-reserved characters, no leading dot, at most 200
/// bytes. Everything else, Chinese characters included, is kept.
pub fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_was_dot = false;
    for c in name.chars() {
        let c = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            // Bidirectional overrides and zero-width characters can disguise an extension.
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => '_',
            c if c.is_control() => '_',
            c => c,
        };
        // Collapsing dot runs rules out `..` anywhere.
        if c == '.' && last_was_dot {
            continue;
        }
        last_was_dot = c == '.';
        out.push(c);
    }
    // Windows drops trailing dots and spaces; a leading dot hides the file.
    let trimmed = out.trim_matches(' ').trim_end_matches(['.', ' ']);
    let mut name = match trimmed.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None => trimmed.to_string(),
    };
    if name.is_empty() {
        name = "unnamed".to_string();
    }
    truncate_keeping_extension(name, 200)
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a short extension.
fn truncate_keeping_extension(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let ext = match name.rfind('.') {
        Some(dot) if name.len() - dot <= 16 => &name[dot..],
        _ => "",
    };
    let mut cut = max - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &name[..cut])
}

/// Where an item's content lives in the package: `evidence/<id>/<name>`, both sanitised.
pub fn item_path(item: &ManifestItem) -> String {
    format!(
        "evidence/{}/{}",
        sanitize_name(&item.id),
        sanitize_name(&item.name)
    )
}

/// Whether a zip entry name could escape the directory it is extracted into.
fn is_unsafe_path(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.is_empty()
        || name.contains('\0')
        || name.starts_with('/')
        || name.starts_with('\\')
        || (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
        || name.split(['/', '\\']).any(|part| part == "..")
}

/// The zip timestamp for the package's entries: the export time, so the package's bytes do not
/// depend on the clock of the machine that wrote it. Zip stores no zone; the UTC time is used.
fn zip_time(at: &str) -> zip::DateTime {
    let field = |from: usize, to: usize| at.get(from..to).and_then(|s| s.parse::<u16>().ok());
    let parsed = (|| {
        let narrow = |v: u16| u8::try_from(v).ok();
        zip::DateTime::from_date_and_time(
            field(0, 4)?,
            narrow(field(5, 7)?)?,
            narrow(field(8, 10)?)?,
            narrow(field(11, 13)?)?,
            narrow(field(14, 16)?)?,
            narrow(field(17, 19)?)?,
        )
        .ok()
    })();
    parsed.unwrap_or_default()
}

/// Checks item ids and paths are usable and unique; returns each item's zip path.
fn item_paths(items: &[ManifestItem]) -> Result<Vec<String>, String> {
    let mut ids = BTreeSet::new();
    let mut paths = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.id.trim().is_empty() {
            return Err(format!("item {:?} has an empty id", item.name));
        }
        if !ids.insert(item.id.as_str()) {
            return Err(format!("item id {} appears twice", item.id));
        }
        let path = item_path(item);
        if !paths.insert(path.clone()) {
            return Err(format!("two items map to the same package path {path}"));
        }
        out.push(path);
    }
    Ok(out)
}

/// Writes the export package to `out`: `manifest.json`, `manifest.sig`, `signer.pub`,
/// `custody.jsonl` and `evidence/<id>/<name>` for every item, its content read from
/// `open(item)` and streamed through the hashers into the zip.
///
/// `format`, `custody` and `signer_public_key` of `manifest` are filled in here; the
/// completed manifest (exactly as signed) is returned.
///
/// Refuses to package evidence that no longer matches its intake digests
/// ([`Error::DigestMismatch`]) or a custody log that is not an intact chain
/// ([`Error::CustodyBroken`]). On any error `out` holds an incomplete package and must be
/// discarded.
pub fn write_package<W: Write + Seek>(
    out: W,
    mut manifest: Manifest,
    custody: &[CustodyEntry],
    key: &PlatformKey,
    open: &mut dyn FnMut(&ManifestItem) -> io::Result<Box<dyn Read>>,
) -> Result<Manifest, Error> {
    let chain_problems = verify_chain(custody);
    if !chain_problems.is_empty() {
        return Err(Error::CustodyBroken(chain_problems));
    }
    let paths = item_paths(&manifest.items).map_err(Error::InvalidManifest)?;

    let mut log = Vec::new();
    for entry in custody {
        serde_json::to_writer(&mut log, entry)?;
        log.push(b'\n');
    }
    manifest.format = FORMAT.to_string();
    manifest.custody = CustodyHead {
        entries: custody.len() as u64,
        head_hash: custody
            .last()
            .map_or(GENESIS, |entry| entry.hash.as_str())
            .to_string(),
        log_sha256: sha256_hex(&log),
    };
    manifest.signer_public_key = key.public_key_hex();
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    manifest_bytes.push(b'\n');
    let signature = key.sign(&manifest_bytes);

    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(&manifest.created_at));
    let mut zip = ZipWriter::new(out);
    let mut signer = manifest.signer_public_key.clone();
    signer.push('\n');
    for (name, bytes) in [
        (MANIFEST_FILE, manifest_bytes.as_slice()),
        (SIGNATURE_FILE, signature.as_slice()),
        (SIGNER_FILE, signer.as_bytes()),
        (CUSTODY_FILE, log.as_slice()),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
    }

    for (item, path) in manifest.items.iter().zip(paths) {
        let reader = open(item).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("evidence item {} ({}): {e}", item.id, item.name),
            )
        })?;
        // Zip64 headers for anything near 4 GiB; deflate may grow incompressible data a little.
        let large = item.digests.size >= 0xF000_0000;
        zip.start_file(path, options.large_file(large))?;
        let actual = copy_and_digest(reader, &mut zip)?;
        if let Some((what, expected, actual)) = digest_difference(&item.digests, &actual) {
            return Err(Error::DigestMismatch {
                id: item.id.clone(),
                name: item.name.clone(),
                what,
                expected,
                actual,
            });
        }
    }
    zip.finish()?.flush()?;
    Ok(manifest)
}

/// The first digest that differs, as (what, expected, actual).
fn digest_difference(
    expected: &Digests,
    actual: &Digests,
) -> Option<(&'static str, String, String)> {
    digest_differences(expected, actual).into_iter().next()
}

/// Every digest that differs, as (what, expected, actual). Hex is compared case-insensitively:
/// the same value spelt in capitals is not tampering.
fn digest_differences(expected: &Digests, actual: &Digests) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    if expected.size != actual.size {
        out.push(("size", expected.size.to_string(), actual.size.to_string()));
    }
    if !expected.sha256.eq_ignore_ascii_case(&actual.sha256) {
        out.push(("SHA-256", expected.sha256.clone(), actual.sha256.clone()));
    }
    if !expected.sm3.eq_ignore_ascii_case(&actual.sm3) {
        out.push(("SM3", expected.sm3.clone(), actual.sm3.clone()));
    }
    out
}

/// The result of [`verify_package`]: what could be read and every problem found.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The manifest, if `manifest.json` was present and parsed (even if its signature failed).
    pub manifest: Option<Manifest>,
    /// Evidence files found and hashed.
    pub items_checked: usize,
    /// Custody entries read from `custody.jsonl`.
    pub custody_entries: usize,
    /// One line per problem; empty means the package is intact.
    pub problems: Vec<String>,
}

impl Verification {
    /// True when no problem was found: every file matches the signed manifest, the custody
    /// chain is unbroken and matches the manifest, and the signature verifies.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.manifest.is_some()
    }
}

/// Reads a metadata entry into memory, refusing more than `limit` bytes.
fn read_limited<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let file = zip.by_index(index).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than the {limit}-byte limit"));
    }
    Ok(bytes)
}

/// Passes reads through while hashing them, so the custody log's digest is taken over exactly
/// the bytes parsed.
struct Sha256Reader<R> {
    inner: R,
    sha256: Sha256,
}

impl<R: Read> Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads `custody.jsonl`: the entries that parsed, the log's SHA-256 and problems met.
fn read_custody(file: impl Read, problems: &mut Vec<String>) -> (Vec<CustodyEntry>, String) {
    let mut reader = BufReader::new(Sha256Reader {
        inner: file,
        sha256: Sha256::new(),
    });
    let mut entries = Vec::new();
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        match (&mut reader)
            .take(CUSTODY_LINE_LIMIT)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                problems.push(format!("{CUSTODY_FILE}: cannot read line {number}: {e}"));
                break;
            }
        }
        if line.len() as u64 == CUSTODY_LINE_LIMIT && line.last() != Some(&b'\n') {
            problems.push(format!(
                "{CUSTODY_FILE}: line {number} is longer than {CUSTODY_LINE_LIMIT} bytes; not read further"
            ));
            break;
        }
        match serde_json::from_slice::<CustodyEntry>(&line) {
            Ok(entry) => entries.push(entry),
            Err(e) => problems.push(format!(
                "{CUSTODY_FILE}: line {number} is not a custody entry ({e})"
            )),
        }
    }
    // Drain anything left after an early stop so the digest still covers the whole file.
    let _ = io::copy(&mut reader, &mut io::sink());
    let digest = hex::encode(reader.into_inner().sha256.finalize());
    (entries, digest)
}

/// Verifies a package offline: every evidence file against the manifest's digests, the custody
/// log against its own chain and the manifest's custody head, the manifest against its SM2
/// signature, the signer against `trusted_key` (the platform's published public key, hex) if
/// given, and the zip's names (no traversal, nothing missing, nothing extra).
///
/// Never stops at the first problem: every one found is listed. Returns `Err` only when
/// `input` is not a readable zip at all.
pub fn verify_package<R: Read + Seek>(
    input: R,
    trusted_key: Option<&str>,
) -> Result<Verification, Error> {
    let mut zip = ZipArchive::new(input)?;
    let mut problems = Vec::new();

    // Inventory: every entry name once, unsafe names reported and never opened.
    let mut entries: BTreeMap<String, usize> = BTreeMap::new();
    for index in 0..zip.len() {
        let (name, is_dir) = match zip.by_index_raw(index) {
            Ok(file) => (file.name().to_string(), file.is_dir()),
            Err(e) => {
                problems.push(format!("zip entry #{index} cannot be read: {e}"));
                continue;
            }
        };
        if is_unsafe_path(&name) {
            problems.push(format!(
                "unsafe path in package (absolute or leaving the package with ..): {name:?}"
            ));
            continue;
        }
        if is_dir {
            // Directory entries (added by zip tools when repacking) carry no content.
            continue;
        }
        if entries.insert(name.clone(), index).is_some() {
            problems.push(format!("{name} appears more than once in the package"));
        }
    }

    // Manifest and signature.
    let manifest_bytes = match entries.get(MANIFEST_FILE) {
        None => {
            problems.push(format!(
                "{MANIFEST_FILE} is missing; no evidence file can be checked"
            ));
            None
        }
        Some(&index) => match read_limited(&mut zip, index, MANIFEST_LIMIT) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                problems.push(format!("{MANIFEST_FILE} cannot be read: {e}"));
                None
            }
        },
    };
    let manifest: Option<Manifest> =
        manifest_bytes
            .as_deref()
            .and_then(|bytes| match serde_json::from_slice(bytes) {
                Ok(manifest) => Some(manifest),
                Err(e) => {
                    problems.push(format!("{MANIFEST_FILE} is not a valid manifest: {e}"));
                    None
                }
            });
    let mut read_small = |name: &str, problems: &mut Vec<String>| match entries.get(name) {
        None => {
            problems.push(format!("{name} is missing"));
            None
        }
        Some(&index) => match read_limited(&mut zip, index, SMALL_FILE_LIMIT) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                problems.push(format!("{name} cannot be read: {e}"));
                None
            }
        },
    };
    let signer =
        read_small(SIGNER_FILE, &mut problems).and_then(|bytes| {
            match String::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|text| normalize_public_key(&text).map_err(|e| e.to_string()))
            {
                Ok(key) => Some(key),
                Err(e) => {
                    problems.push(format!("{SIGNER_FILE} is not an SM2 public key: {e}"));
                    None
                }
            }
        });
    let signature = read_small(SIGNATURE_FILE, &mut problems);
    let trusted = trusted_key.and_then(|key| match normalize_public_key(key) {
        Ok(key) => Some(key),
        Err(e) => {
            problems.push(format!(
                "the trusted key given is not an SM2 public key: {e}"
            ));
            None
        }
    });
    // Without signer.pub the trusted key can still vouch for the manifest.
    if let (Some(key), Some(bytes), Some(signature)) = (
        signer.as_ref().or(trusted.as_ref()),
        &manifest_bytes,
        &signature,
    ) {
        if let Err(e) = verify_signature(key, bytes, signature) {
            problems.push(format!(
                "{MANIFEST_FILE} signature check failed ({e}): the manifest was edited after signing or {SIGNATURE_FILE} does not belong to it"
            ));
        }
    }
    if let (Some(signer), Some(trusted)) = (&signer, &trusted) {
        if signer != trusted {
            problems.push(format!(
                "package signed by key {signer}, not by the trusted platform key {trusted}"
            ));
        }
    }
    if let (Some(signer), Some(manifest)) = (&signer, &manifest) {
        let named = normalize_public_key(&manifest.signer_public_key).ok();
        if named.as_ref() != Some(signer) {
            problems.push(format!(
                "{MANIFEST_FILE} names signer key {:?} but {SIGNER_FILE} holds {signer}",
                manifest.signer_public_key
            ));
        }
    }
    if let Some(manifest) = &manifest {
        if manifest.format != FORMAT {
            problems.push(format!(
                "{MANIFEST_FILE} has format {:?}; this verifier checks {FORMAT:?}",
                manifest.format
            ));
        }
    }

    // Custody log.
    let mut custody_entries = 0;
    match entries.get(CUSTODY_FILE) {
        None => problems.push(format!("{CUSTODY_FILE} is missing")),
        Some(&index) => match zip.by_index(index) {
            Err(e) => problems.push(format!("{CUSTODY_FILE} cannot be read: {e}")),
            Ok(file) => {
                let (log, log_sha256) = read_custody(file, &mut problems);
                custody_entries = log.len();
                problems.extend(verify_chain(&log));
                if let Some(head) = manifest.as_ref().map(|m| &m.custody) {
                    if !log_sha256.eq_ignore_ascii_case(&head.log_sha256) {
                        problems.push(format!(
                            "{CUSTODY_FILE} SHA-256 {log_sha256} differs from the manifest's log_sha256 {}: the custody log was changed after export",
                            head.log_sha256
                        ));
                    }
                    if log.len() as u64 != head.entries {
                        problems.push(format!(
                            "{CUSTODY_FILE} has {} entries, the manifest records {}",
                            log.len(),
                            head.entries
                        ));
                    }
                    let last = log.last().map_or(GENESIS, |entry| entry.hash.as_str());
                    if last != head.head_hash {
                        problems.push(format!(
                            "{CUSTODY_FILE} ends with hash {last}, the manifest's head_hash is {}",
                            head.head_hash
                        ));
                    }
                }
            }
        },
    }

    // Evidence files.
    let mut items_checked = 0;
    let mut expected: BTreeSet<String> = [MANIFEST_FILE, SIGNATURE_FILE, SIGNER_FILE, CUSTODY_FILE]
        .into_iter()
        .map(String::from)
        .collect();
    if let Some(manifest) = &manifest {
        let mut ids = BTreeSet::new();
        for item in &manifest.items {
            let what = format!("evidence item {} ({})", item.id, item.name);
            if !ids.insert(item.id.as_str()) {
                problems.push(format!("{what}: id listed twice in {MANIFEST_FILE}"));
            }
            let path = item_path(item);
            expected.insert(path.clone());
            let Some(&index) = entries.get(&path) else {
                problems.push(format!("{what}: file {path} is missing from the package"));
                continue;
            };
            let digests = zip
                .by_index(index)
                .map_err(io::Error::from)
                .and_then(|file| copy_and_digest(file, io::sink()));
            match digests {
                Ok(actual) => {
                    items_checked += 1;
                    for (kind, expected, actual) in digest_differences(&item.digests, &actual) {
                        problems.push(format!(
                            "{what}: {kind} mismatch in {path}: manifest records {expected}, file has {actual}"
                        ));
                    }
                }
                // A damaged entry (e.g. its zip CRC no longer matches) lands here.
                Err(e) => problems.push(format!("{what}: {path} cannot be read: {e}")),
            }
        }
    }
    for name in entries.keys() {
        // Without a manifest nothing under evidence/ can be judged; that was reported above.
        let unjudgeable = manifest.is_none() && name.starts_with("evidence/");
        if !expected.contains(name) && !unjudgeable {
            problems.push(format!("extra file not in the manifest: {name}"));
        }
    }

    Ok(Verification {
        manifest,
        items_checked,
        custody_entries,
        problems,
    })
}

/// A human-readable report of a verification, each line in Chinese and English, as the CLI
/// `yunshou evidence verify` prints it.
pub fn render_report(v: &Verification) -> String {
    let mut out = String::from("云守证据包核验 yunshou evidence package verification\n");
    if let Some(m) = &v.manifest {
        out.push_str(&format!(
            "事件 incident: {} — {} (租户 tenant: {})\n",
            m.incident_id, m.incident_title, m.tenant
        ));
        out.push_str(&format!(
            "导出 exported: {} by {}\n",
            m.created_at, m.created_by
        ));
        out.push_str(&format!("签名公钥 signer key: {}\n", m.signer_public_key));
        out.push_str(&format!(
            "证据项 evidence items: {} of {} checked\n",
            v.items_checked,
            m.items.len()
        ));
    } else {
        out.push_str("清单 manifest: 无法读取 unreadable\n");
        out.push_str(&format!(
            "证据项 evidence items: {} checked\n",
            v.items_checked
        ));
    }
    out.push_str(&format!("监管链 custody entries: {}\n", v.custody_entries));
    if v.is_intact() {
        out.push_str(
            "结论 result: 完整 intact — 所有文件与摘要一致，监管链完整，签名有效 every file matches its digests, the custody chain is unbroken and the signature verifies\n",
        );
    } else {
        out.push_str(&format!(
            "结论 result: 发现问题 problems found: {}\n",
            v.problems.len()
        ));
        for (n, problem) in v.problems.iter().enumerate() {
            out.push_str(&format!("  {}. {problem}\n", n + 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_chinese_and_removes_path_syntax() {
        assert_eq!(sanitize_name("入侵报告.pdf"), "入侵报告.pdf");
        assert_eq!(sanitize_name("../../etc/passwd"), "__._etc_passwd");
        assert_eq!(sanitize_name("..\\..\\win.ini"), "__._win.ini");
        assert_eq!(sanitize_name("/abs/path.txt"), "_abs_path.txt");
        assert_eq!(sanitize_name(".."), "unnamed");
        assert_eq!(sanitize_name(""), "unnamed");
        assert_eq!(sanitize_name("   "), "unnamed");
        assert_eq!(sanitize_name(".bashrc"), "_bashrc");
        assert_eq!(sanitize_name("a..b...c"), "a.b.c");
        assert_eq!(sanitize_name("C:evil.txt"), "C_evil.txt");
        assert_eq!(sanitize_name("line\nbreak\0.txt"), "line_break_.txt");
        assert_eq!(sanitize_name("invoice\u{202E}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(sanitize_name("trailing. . "), "trailing");
        for hostile in ["../x", "a/../../b", "..", "./.", "x\\..\\y", "/..", "...."] {
            let s = sanitize_name(hostile);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.contains(".."),
                "{hostile} -> {s}"
            );
            assert!(
                !is_unsafe_path(&format!("evidence/id/{s}")),
                "{hostile} -> {s}"
            );
        }
    }

    #[test]
    fn sanitize_truncates_on_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.pcap", "证".repeat(100)); // 300 bytes of stem
        let s = sanitize_name(&long);
        assert!(s.len() <= 200, "{}", s.len());
        assert!(s.ends_with(".pcap"));
        assert!(s.starts_with("证证"));
    }

    #[test]
    fn unsafe_paths_are_recognised() {
        for bad in [
            "../evil",
            "a/../../evil",
            "/etc/passwd",
            "\\windows",
            "C:/x",
            "a\\..\\b",
            "",
            "x\0y",
        ] {
            assert!(is_unsafe_path(bad), "{bad:?}");
        }
        for good in [
            "manifest.json",
            "evidence/1/报告.txt",
            "evidence/1/a.b",
            "..a",
        ] {
            assert!(!is_unsafe_path(good), "{good:?}");
        }
    }

    #[test]
    fn zip_time_follows_the_export_time() {
        let t = zip_time("2026-12-03T10:20:30Z");
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 12, 3, 10, 20, 30)
        );
        assert_eq!(zip_time("yesterday"), zip::DateTime::default());
    }

    #[test]
    fn duplicate_ids_and_colliding_paths_are_refused() {
        let item = |id: &str, name: &str| ManifestItem {
            id: id.into(),
            name: name.into(),
            media_type: "text/plain".into(),
            kind: "file".into(),
            digests: crate::digest_bytes(b""),
            collector: String::new(),
            collected_at: String::new(),
            source: String::new(),
            description: String::new(),
        };
        assert!(item_paths(&[item("1", "a"), item("2", "a")]).is_ok());
        assert!(item_paths(&[item("1", "a"), item("1", "b")]).is_err());
        assert!(item_paths(&[item("a/b", "x"), item("a_b", "x")]).is_err());
        assert!(item_paths(&[item(" ", "x")]).is_err());
    }
}
