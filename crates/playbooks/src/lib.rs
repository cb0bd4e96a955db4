//! Response automation: declarative playbooks (YAML) triggered by alert or incident
//! conditions, rendered into steps, dry-run or carried out by adapters.
//!
//! The flow the platform drives: [`parse`] a playbook; when an alert or incident arrives,
//! [`Playbook::matches`]; build a [`context`]; [`plan`] to show every step (and which need
//! approval); then [`run_step`] one step at a time, recording each [`StepOutcome`] and feeding
//! it back with [`with_step_output`] so later steps can use `{{ steps.<id>.… }}`.

#![warn(missing_docs)]

mod adapters;
mod model;
mod parse;
mod plan;
mod run;
mod safety;
mod template;
mod trigger;

pub use model::*;
pub use parse::{parse, ParseError, Problem};
pub use plan::{plan, PlannedStep, StepError};
pub use run::{context, run_step, with_step_output, Host, RunOptions, StepOutcome, StepStatus};
pub use template::REDACTED;
