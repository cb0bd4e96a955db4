//! The respond stage's rules, no I/O: incident classes and levels (GB/T 20986-2023), the
//! seven phases with the records each requires, emergency plan templates, response metrics.

pub mod classification;
pub mod metrics;
pub mod phases;
pub mod plans;

pub use classification::{GradingInputs, Level, OperatorKind};
pub use phases::{Phase, PhaseRecords, Requirement, TransitionError};
