//! Relations between assets (I.1.b): what runs on, depends on, connects to, or belongs to what.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of a relation, read "from → to".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// `from` runs on `to` (an application on a VM, a VM on a host, a container on a node).
    RunsOn,
    /// `from` needs `to` to work (an application on its database).
    DependsOn,
    /// `from` talks to `to` over the network.
    ConnectsTo,
    /// `from` is part of the business system `to`.
    PartOf,
}

impl RelationKind {
    /// Every kind, in display order.
    pub const ALL: [RelationKind; 4] = [
        RelationKind::RunsOn,
        RelationKind::DependsOn,
        RelationKind::ConnectsTo,
        RelationKind::PartOf,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::RunsOn => "runs_on",
            RelationKind::DependsOn => "depends_on",
            RelationKind::ConnectsTo => "connects_to",
            RelationKind::PartOf => "part_of",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<RelationKind> {
        RelationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Relation {
    /// Identifier.
    pub id: String,
    /// The asset the relation starts from.
    pub from_id: String,
    /// The asset it points to.
    pub to_id: String,
    /// Kind.
    pub kind: RelationKind,
    /// Free note (e.g. the port or protocol of a connection).
    pub note: Option<String>,
    /// Created, RFC 3339.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in RelationKind::ALL {
            assert_eq!(RelationKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(RelationKind::parse("owns"), None);
    }
}
