//! The core model of yunshou: plain data and the standards' taxonomies, no I/O.
//!
//! Stores, pipelines and the server depend on this crate, never the reverse.

pub mod access;
pub mod asset;
pub mod audit;
pub mod finding;
pub mod identity;
pub mod ids;
pub mod relation;
pub mod work_order;

pub use access::{Permission, Role, Scope, ScopeSet};
pub use audit::{Actor, AuditEntry, AuditRecord, Outcome, GENESIS_HASH};
pub use identity::{check_password_policy, PasswordPolicyError, Tenant, TenantKind, User};
