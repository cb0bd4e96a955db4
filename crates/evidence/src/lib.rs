//! The evidence vault's formats: what is hashed at intake, the hash-chained custody log, and
//! the signed export package with its offline verifier. No database: the store keeps the
//! rows, this crate defines their bytes.
