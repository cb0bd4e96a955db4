//! The platform's SM2 key (GM/T 0003) that signs export packages, and signature checks.
//!
//! Signatures use SM2DSA with SM3 and the GM/T 0009 default distinguishing identifier
//! `1234567812345678`, so they can also be checked with other SM2 tools (e.g. GmSSL). The
//! encoding is the raw 64 bytes `r ‖ s`, each 32 bytes big-endian.

use crate::Error;
use rand_core::{OsRng, RngCore};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::SecretKey;
use std::io::Write;
use std::path::Path;

/// GM/T 0009-2012 default user identity used in the SM2 `Z` value.
pub const DIST_ID: &str = "1234567812345678";

/// The platform's SM2 key that signs packages.
///
/// On disk it is the 32-byte secret scalar as 64 hex digits and a newline, readable by the
/// platform's user only.
pub struct PlatformKey {
    key: SigningKey,
}

impl std::fmt::Debug for PlatformKey {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

fn key_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::KeyFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl PlatformKey {
    /// Reads the key at `path`, or creates one there if the file is absent: parent
    /// directories are created, the file gets mode 0600 and appears atomically (written to a
    /// temporary file, synced, then linked into place without overwriting a key another
    /// process created meanwhile).
    pub fn load_or_create(path: &Path) -> Result<PlatformKey, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(key_error(path, e)),
        }
        let key = Self::generate();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| key_error(path, e))?;
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| key_error(path, "not a file path"))?
            .to_string_lossy();
        let tmp = path.with_file_name(format!(
            ".{file_name}.tmp-{}-{:016x}",
            std::process::id(),
            OsRng.next_u64()
        ));
        let written = write_private(&tmp, key.secret_hex().as_bytes());
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        // The temporary name goes either way; a leftover would be a stray copy of the secret.
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent(path);
                Ok(key)
            }
            // Another process created the key first: use theirs, so there is only ever one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
                Self::parse(path, &text)
            }
            Err(e) => Err(key_error(path, e)),
        }
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> PlatformKey {
        let secret = SecretKey::random(&mut OsRng);
        let key = SigningKey::new(DIST_ID, &secret)
            // Only fails for an identity longer than 8 KiB; DIST_ID is 16 bytes.
            .expect("SM2 signing key from a valid secret");
        PlatformKey { key }
    }

    /// Parses the key file's contents.
    fn parse(path: &Path, text: &str) -> Result<PlatformKey, Error> {
        let bytes = hex::decode(text.trim())
            .map_err(|e| key_error(path, format!("not a hex SM2 secret key: {e}")))?;
        if bytes.len() != 32 {
            return Err(key_error(
                path,
                format!("SM2 secret key must be 32 bytes, found {}", bytes.len()),
            ));
        }
        let key = SigningKey::from_slice(DIST_ID, &bytes)
            .map_err(|_| key_error(path, "not a valid SM2 secret key"))?;
        Ok(PlatformKey { key })
    }

    fn secret_hex(&self) -> String {
        let mut text = hex::encode(self.key.to_bytes());
        text.push('\n');
        text
    }

    /// SEC1 uncompressed public key (`04 ‖ x ‖ y`, 65 bytes), lowercase hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// SM2 signature over `message`: 64 bytes `r ‖ s`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_vec()
    }
}

/// Writes `contents` to a new file at `path` with mode 0600 and syncs it.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Best effort: make the new directory entry durable.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Checks an SM2 signature (64 bytes `r ‖ s`) over `message` against a public key given as
/// SEC1 hex (uncompressed or compressed).
pub fn verify_signature(
    public_key_hex: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let public = hex::decode(public_key_hex.trim()).map_err(|e| Error::PublicKey(e.to_string()))?;
    let key = VerifyingKey::from_sec1_bytes(DIST_ID, &public)
        .map_err(|_| Error::PublicKey("not a point on the SM2 curve".into()))?;
    let signature = Signature::from_slice(signature).map_err(|_| {
        Error::Signature(format!(
            "expected 64 bytes r ‖ s with both in range, found {} bytes",
            signature.len()
        ))
    })?;
    key.verify(message, &signature)
        .map_err(|_| Error::Signature("does not verify with this public key".into()))
}

/// The uncompressed SEC1 hex form of a public key given as hex in either SEC1 form, so two
/// spellings of the same key compare equal.
pub fn normalize_public_key(public_key_hex: &str) -> Result<String, Error> {
    let public = hex::decode(public_key_hex.trim()).map_err(|e| Error::PublicKey(e.to_string()))?;
    let key = VerifyingKey::from_sec1_bytes(DIST_ID, &public)
        .map_err(|_| Error::PublicKey("not a point on the SM2 curve".into()))?;
    Ok(hex::encode(key.to_encoded_point(false).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let key = PlatformKey::generate();
        let public = key.public_key_hex();
        assert_eq!(public.len(), 130);
        assert!(public.starts_with("04"));
        let sig = key.sign(b"manifest bytes");
        assert_eq!(sig.len(), 64);
        verify_signature(&public, b"manifest bytes", &sig).expect("verifies");
        // Uppercase hex from a human is still the same key.
        verify_signature(&public.to_uppercase(), b"manifest bytes", &sig).expect("verifies");
    }

    #[test]
    fn rejects_other_message_key_and_damaged_signature() {
        let key = PlatformKey::generate();
        let other = PlatformKey::generate();
        assert_ne!(key.public_key_hex(), other.public_key_hex());
        let sig = key.sign(b"manifest");

        let err =
            verify_signature(&key.public_key_hex(), b"manifesT", &sig).expect_err("other message");
        assert!(matches!(err, Error::Signature(_)), "{err}");
        let err =
            verify_signature(&other.public_key_hex(), b"manifest", &sig).expect_err("other key");
        assert!(matches!(err, Error::Signature(_)), "{err}");

        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        assert!(verify_signature(&key.public_key_hex(), b"manifest", &flipped).is_err());
        let err =
            verify_signature(&key.public_key_hex(), b"manifest", &sig[..63]).expect_err("short");
        assert!(matches!(err, Error::Signature(_)), "{err}");
        let err = verify_signature("zz", b"manifest", &sig).expect_err("not hex");
        assert!(matches!(err, Error::PublicKey(_)), "{err}");
        let err = verify_signature(&"04".repeat(65), b"manifest", &sig).expect_err("not a point");
        assert!(matches!(err, Error::PublicKey(_)), "{err}");
    }

    #[test]
    fn normalized_keys_compare_equal_across_encodings() {
        let key = PlatformKey::generate();
        let compressed = hex::encode(key.key.verifying_key().to_encoded_point(true).as_bytes());
        assert_eq!(compressed.len(), 66);
        let uncompressed = key.public_key_hex();
        assert_eq!(
            normalize_public_key(&compressed).expect("compressed"),
            uncompressed
        );
        let spelt = format!(" {}\n", uncompressed.to_uppercase());
        assert_eq!(
            normalize_public_key(&spelt).expect("uppercase"),
            uncompressed
        );
        assert!(normalize_public_key("04").is_err());
        let sig = key.sign(b"m");
        verify_signature(&compressed, b"m", &sig).expect("compressed key verifies");
    }

    #[test]
    fn load_or_create_persists_one_private_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys").join("nested").join("platform.sm2");
        let created = PlatformKey::load_or_create(&path).expect("create");
        assert!(path.is_file());
        let loaded = PlatformKey::load_or_create(&path).expect("load");
        assert_eq!(created.public_key_hex(), loaded.public_key_hex());
        // What one instance signs, the reloaded key's public half verifies.
        let sig = created.sign(b"x");
        verify_signature(&loaded.public_key_hex(), b"x", &sig).expect("same key");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary copies of the secret left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("platform.sm2")]);
        // Debug output does not leak the secret.
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!format!("{created:?}").contains(text.trim()));
    }

    #[test]
    fn load_rejects_a_damaged_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("platform.sm2");
        std::fs::write(&path, "not hex\n").expect("write");
        let err = PlatformKey::load_or_create(&path).expect_err("damaged");
        assert!(matches!(err, Error::KeyFile { .. }), "{err}");
        assert!(err.to_string().contains("platform.sm2"));
        std::fs::write(&path, "00".repeat(32)).expect("write");
        assert!(
            PlatformKey::load_or_create(&path).is_err(),
            "zero is not a valid key"
        );
        std::fs::write(&path, "ab".repeat(16)).expect("write");
        assert!(PlatformKey::load_or_create(&path).is_err(), "short key");
        // The damaged file is left alone, never silently replaced by a new key.
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "ab".repeat(16)
        );
    }
}
