//! Known-threat detection for the monitor stage (MO.2.a, MO.3.c): Sigma rules as the
//! detection language.
//!
//! - [`sigma`] loads rules, correlation rules and filters (every failure with its file and
//!   reason) and compiles searches and conditions;
//! - [`mapping`] ties Sigma's log sources and field names to events;
//! - [`event`] flattens JSON events into field-id'd values once per event;
//! - [`engine`] routes each event to the rules that can match it (log source, literal
//!   prefilter), evaluates them and runs the correlations.

pub mod engine;
pub mod event;
pub mod hunt;
pub mod mapping;
mod prefilter;
pub mod sigma;

pub use engine::{CorrelationMatch, CorrelationState, Engine, EngineRule, Member};
pub use event::{FlatEvent, Schema};
pub use mapping::Mapping;

/// yunshou's own rule pack, embedded at build time.
pub mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

    /// Loads the pack into `out`; files are named `builtin:yunshou/<path>`.
    pub fn load(out: &mut crate::sigma::Loaded) {
        for (path, text) in BUILTIN_RULES {
            let file = std::path::PathBuf::from(format!("builtin:yunshou/{path}"));
            crate::sigma::load_text(&file, text, out);
        }
    }
}
