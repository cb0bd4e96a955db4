//! Bounds-checked big-endian reading, and the decoder's errors.

/// Why a datagram could not be decoded. Nothing in the decoder panics: every malformed input
/// ends here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram ends before a structure it announces.
    #[error("truncated {what}: needs {need} bytes, {have} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes that were left.
        have: usize,
    },
    /// Not NetFlow v5, v9 or IPFIX.
    #[error("unsupported export version {0}")]
    Version(u16),
    /// A length field that cannot be right (shorter than its own header, longer than the
    /// datagram, a record count the datagram cannot hold, …).
    #[error("bad length: {0}")]
    Length(String),
    /// A template that cannot describe any record.
    #[error("bad template {id}: {why}")]
    Template {
        /// Template id.
        id: u16,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The collector holds as many templates as it may; new ones are refused until exporters
    /// go quiet and theirs are forgotten.
    #[error("template table full ({0} templates)")]
    TooManyTemplates(usize),
}

/// A cursor over a byte slice that never reads past its end.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated {
                what,
                need: n,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Splits off the next `n` bytes as a reader of their own.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        self.take(n, what).map(Reader::new)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// An unsigned big-endian integer of 1 to 8 bytes (IPFIX reduced-size encoding lets an
/// exporter send a 64-bit counter in fewer bytes). `None` for other lengths.
pub(crate) fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(
            r.u16("b"),
            Err(DecodeError::Truncated {
                what: "b",
                need: 2,
                have: 1
            })
        );
        assert_eq!(r.u8("c").unwrap(), 2);
        assert!(r.is_empty());
        assert_eq!(uint(&[1, 0]), Some(256));
        assert_eq!(uint(&[]), None);
        assert_eq!(uint(&[0; 9]), None);
    }
}
