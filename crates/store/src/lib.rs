//! The state store: tenants, users, credentials and the audit trail, in SQL.
//!
//! One implementation over sqlx's `Any` driver. The SQL is kept portable (TEXT ids and
//! timestamps, BIGINT integers, `$n` placeholders) so PostgreSQL can be added by supplying its
//! migrations; SQLite in WAL mode is the embedded default.
//!
//! Tenant filtering lives here: every method that reads or changes a tenant's data takes a
//! [`TenantScope`], which only this crate can make, after it has checked the caller's grant.

mod alert_record;
pub mod alerts;
mod asset_control;
mod asset_relations;
mod asset_views;
mod assets;
mod audit;
mod batch;
mod clauses;
mod credentials;
pub mod crypto;
mod db;
pub mod detection_settings;
mod error;
mod events;
pub mod evidence_vault;
mod finding_assets;
pub mod finding_import;
mod finding_texts;
pub mod findings;
pub mod incident_parts;
mod incident_rows;
pub mod incidents;
pub mod outbox;
pub mod playbook_runs;
pub mod response_plans;
pub mod risks;
pub mod rule_sets;
mod saved_searches;
mod scope;
mod tenants;
pub mod threats;
mod tx_queue;
mod users;
pub mod vuln_settings;
pub mod work_orders;

pub use asset_control::{
    AlertFilter, AlertStatus, ChangeAlert, ChangeOutcome, Decision, PendingChange,
};
pub use asset_relations::{NeighbourAsset, Neighbourhood, MAX_DEPTH, MAX_NODES};
pub use asset_views::{ExposedPort, ExposurePoint};
pub use assets::{AssetChange, AssetGroup, AssetQuery, AssetSort};
pub use audit::{AuditFilter, VerifyReport};
pub use credentials::{ApiToken, NewApiToken, NewSession, Session, SessionKind};
pub use db::{Store, WriteTx, ANCHOR_FILE, DB_FILE, SCHEMA_VERSION};
pub use error::{Error, Result};
pub use events::{AddressedAsset, IngestGrant, IngestToken, Retention, DEFAULT_RETENTION_DAYS};
pub use saved_searches::{SavedKind, SavedQuery};
pub use scope::{TenantAccess, TenantScope};
pub use users::{LoginOutcome, UserWithRoles, LOCKOUT_MINUTES, MAX_FAILED_LOGINS};

/// A page of a list: `limit` 1–1000, `offset` from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many items at most.
    pub limit: i64,
    /// How many to skip.
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

/// The current time as stored: RFC 3339 UTC with microseconds, fixed width so text order is
/// time order.
pub fn now_text() -> String {
    time_text(chrono::Utc::now())
}

/// A time as stored.
pub fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Parses a stored time.
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
