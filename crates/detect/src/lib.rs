//! Known-threat detection for the monitor stage (MO.2.a, MO.3.c): Sigma rules as the
//! detection language. This first part loads rules — every document of every file, each
//! failure with its file and reason — and parses their conditions; matching comes next.

pub mod sigma;
