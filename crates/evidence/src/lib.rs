//! The evidence vault's formats: what is hashed at intake, the hash-chained custody log, and
//! the signed export package with its offline verifier. No database: the store keeps the
//! rows, this crate defines their bytes.
//!
//! Spec clauses R.1.e (forensics under rules that keep evidence authentic and complete) and
//! R.2.a (legally usable digital evidence):
//!
//! * [`digest`]: SHA-256 and SM3 of every item, computed once while intake streams it to disk.
//! * [`custody`]: every intake, view, download, export, transfer and archive is a row whose SM3
//!   hash covers the previous row's hash, so an edited, removed or reordered row breaks the chain.
//! * [`signing`]: the platform's SM2 key (GM/T 0003) that signs export packages.
//! * [`package`]: the export zip (manifest, custody log, evidence files, signature) and its
//!   offline verifier, which lists every problem instead of stopping at the first.

pub mod custody;
pub mod digest;
pub mod package;
pub mod signing;

pub use custody::{verify_chain, CustodyEntry, GENESIS};
pub use digest::{copy_and_digest, digest_bytes, Digests};
pub use package::{
    render_report, verify_package, write_package, CustodyHead, Manifest, ManifestItem,
    Verification, FORMAT,
};
pub use signing::{verify_signature, PlatformKey};

/// Everything that can go wrong while building a package, handling the platform key or
/// checking a signature. Problems found *inside* a package during verification are not
/// errors: they are listed in [`Verification::problems`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file or stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The platform key file exists but cannot be used.
    #[error("platform key file {path}: {reason}")]
    KeyFile {
        /// The key file's path.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A public key is not hex or not an SM2 curve point.
    #[error("invalid SM2 public key: {0}")]
    PublicKey(String),
    /// A signature is malformed or does not verify.
    #[error("SM2 signature rejected: {0}")]
    Signature(String),
    /// The input is not a readable zip archive, or writing the zip failed.
    #[error("zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// JSON encoding failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An item's content no longer matches the digests recorded at intake; it is not packaged.
    #[error("evidence item {id} ({name}): {what} mismatch, intake recorded {expected}, content has {actual}")]
    DigestMismatch {
        /// The item's id.
        id: String,
        /// The item's original file name.
        name: String,
        /// Which digest differs: "size", "SHA-256" or "SM3".
        what: &'static str,
        /// Value recorded at intake.
        expected: String,
        /// Value of the content now.
        actual: String,
    },
    /// The custody log given for a package is not an intact chain.
    #[error("custody chain is broken: {}", .0.join("; "))]
    CustodyBroken(Vec<String>),
    /// The manifest given to the writer is inconsistent (e.g. duplicate item ids).
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
}
