//! The audit trail's records and how each is hashed into the SM3 chain.

use serde::{Deserialize, Serialize};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and refused or failed.
    Failure,
}

impl Outcome {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// What is about to be appended: everything but the position in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEntry {
    /// The tenant whose data was touched; `None` for platform-level events.
    pub tenant_id: Option<String>,
    /// The acting user, if known.
    pub actor_id: Option<String>,
    /// The acting user's name, or what was typed at a failed sign-in, or `cli:<os user>`.
    pub actor_name: String,
    /// Dotted verb, e.g. `auth.login`, `user.create`, `role.grant`.
    pub action: String,
    /// Kind of object acted on, e.g. `user`, `tenant`, `session`.
    pub object_type: String,
    /// The object's id, if it has one.
    pub object_id: Option<String>,
    /// State before the change (JSON), if any.
    pub before: Option<serde_json::Value>,
    /// State after the change (JSON), if any.
    pub after: Option<serde_json::Value>,
    /// Where the request came from (IP address, or `local` for the CLI).
    pub source_ip: Option<String>,
    /// Success or failure; `None` is treated as success.
    pub outcome: Option<Outcome>,
}

/// One stored row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Identifier.
    pub id: String,
    /// When, RFC 3339 UTC with microseconds.
    pub at: String,
    /// Tenant, if any.
    pub tenant_id: Option<String>,
    /// Acting user id.
    pub actor_id: Option<String>,
    /// Acting user name.
    pub actor_name: String,
    /// Dotted verb.
    pub action: String,
    /// Kind of object.
    pub object_type: String,
    /// Object id.
    pub object_id: Option<String>,
    /// State before (JSON text).
    pub before: Option<String>,
    /// State after (JSON text).
    pub after: Option<String>,
    /// Source address.
    pub source_ip: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Hash of the previous record (hex SM3).
    pub prev_hash: String,
    /// SM3 over this record's fields and `prev_hash` (hex).
    pub hash: String,
}

impl AuditRecord {
    /// The bytes the chain hashes: a JSON array of every field but `hash`, in a fixed order.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&(
            self.seq,
            &self.id,
            &self.at,
            &self.tenant_id,
            &self.actor_id,
            &self.actor_name,
            &self.action,
            &self.object_type,
            &self.object_id,
            &self.before,
            &self.after,
            &self.source_ip,
            &self.outcome,
            &self.prev_hash,
        ))
        .expect("a tuple of strings and integers always serialises")
    }
}

/// Who is acting, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The user's id, when a user is signed in.
    pub user_id: Option<String>,
    /// The user's name, what was typed at a sign-in, or `cli:<os user>`.
    pub name: String,
    /// Where the request came from.
    pub source_ip: Option<String>,
}

impl Actor {
    /// The operator at the command line, who holds the data directory.
    pub fn cli() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            user_id: None,
            name: format!("cli:{user}"),
            source_ip: Some("local".into()),
        }
    }

    /// The platform itself, for what its own rounds do (escalations, retention).
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "yunshou".into(),
            source_ip: None,
        }
    }

    /// An audit entry for this actor; fill `before`, `after` and `outcome` as needed.
    pub fn entry(
        &self,
        tenant_id: Option<&str>,
        action: &str,
        object_type: &str,
        object_id: Option<&str>,
    ) -> AuditEntry {
        AuditEntry {
            tenant_id: tenant_id.map(str::to_string),
            actor_id: self.user_id.clone(),
            actor_name: self.name.clone(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.map(str::to_string),
            source_ip: self.source_ip.clone(),
            ..Default::default()
        }
    }
}
