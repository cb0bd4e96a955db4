//! Digests taken at intake and re-checked at export and verification.
//!
//! Both SHA-256 (what foreign tools and courts abroad expect) and SM3 (GB/T 32905, what
//! domestic forensic practice expects) are recorded, so either can be quoted.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sm3::Sm3;
use std::io::{self, Read, Write};

/// SHA-256 and SM3 of some bytes, hex lowercase, and the size in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// Number of bytes.
    pub size: u64,
    /// SHA-256, 64 lowercase hex digits.
    pub sha256: String,
    /// SM3, 64 lowercase hex digits.
    pub sm3: String,
}

/// Incremental hasher behind [`copy_and_digest`] and [`digest_bytes`].
#[derive(Default)]
pub(crate) struct Hasher {
    size: u64,
    sha256: Sha256,
    sm3: Sm3,
}

impl Hasher {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha256.update(bytes);
        self.sm3.update(bytes);
    }

    pub(crate) fn finish(self) -> Digests {
        Digests {
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            sm3: hex::encode(self.sm3.finalize()),
        }
    }
}

/// Buffer size for streaming; large enough that hashing, not syscalls, dominates.
const BUFFER: usize = 64 * 1024;

/// Copies `reader` into `writer` and returns the digests of the bytes copied, so intake reads
/// an upload exactly once and evidence is never held in memory whole.
///
/// The writer is flushed at the end. On error nothing is returned: the caller must discard
/// whatever was written.
pub fn copy_and_digest(mut reader: impl Read, mut writer: impl Write) -> io::Result<Digests> {
    let mut hasher = Hasher::default();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
    }
    writer.flush()?;
    Ok(hasher.finish())
}

/// Digests of bytes already in memory (small items such as saved searches).
pub fn digest_bytes(bytes: &[u8]) -> Digests {
    let mut hasher = Hasher::default();
    hasher.update(bytes);
    hasher.finish()
}

/// SM3 of `bytes` as lowercase hex.
pub(crate) fn sm3_hex(bytes: &[u8]) -> String {
    hex::encode(Sm3::digest(bytes))
}

/// SHA-256 of `bytes` as lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors: FIPS 180-2 appendix B for SHA-256, GB/T 32905-2016 appendix A for SM3.
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const ABC_SM3: &str = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
    const ABCD16_SM3: &str = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY_SM3: &str = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b";

    #[test]
    fn known_vectors() {
        let d = digest_bytes(b"abc");
        assert_eq!(d.size, 3);
        assert_eq!(d.sha256, ABC_SHA256);
        assert_eq!(d.sm3, ABC_SM3);

        let d = digest_bytes("abcd".repeat(16).as_bytes());
        assert_eq!(d.size, 64);
        assert_eq!(d.sm3, ABCD16_SM3);

        let d = digest_bytes(b"");
        assert_eq!(d.size, 0);
        assert_eq!(d.sha256, EMPTY_SHA256);
        assert_eq!(d.sm3, EMPTY_SM3);
    }

    /// A reader that hands out at most 7 bytes per call and is interrupted once, so the
    /// streaming loop is exercised across many short reads.
    struct Trickle<'a> {
        data: &'a [u8],
        interrupted: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.data.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn streaming_copy_matches_in_memory_digest_and_copies_every_byte() {
        // Spans several buffers and ends mid-buffer.
        let data: Vec<u8> = (0..(BUFFER * 3 + 12345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut out = Vec::new();
        let d = copy_and_digest(data.as_slice(), &mut out).expect("copy");
        assert_eq!(out, data);
        assert_eq!(d, digest_bytes(&data));
        assert_eq!(d.size, data.len() as u64);

        let mut out = Vec::new();
        let small = b"abc".repeat(10);
        let d = copy_and_digest(
            Trickle {
                data: &small,
                interrupted: false,
            },
            &mut out,
        )
        .expect("copy");
        assert_eq!(out, small);
        assert_eq!(d, digest_bytes(&small));
    }

    #[test]
    fn read_errors_are_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let err = copy_and_digest(Broken, io::sink()).expect_err("must fail");
        assert_eq!(err.to_string(), "disk gone");
    }

    #[test]
    fn different_bytes_give_different_digests() {
        let a = digest_bytes(b"evidence");
        let b = digest_bytes(b"evidencf");
        assert_eq!(a.size, b.size);
        assert_ne!(a.sha256, b.sha256);
        assert_ne!(a.sm3, b.sm3);
    }
}
