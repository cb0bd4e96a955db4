//! Roles, permissions and token scopes, kept as one data table so the whole access policy
//! can be read (and reviewed by an auditor) in one place.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role a user holds in one tenant.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the tenant: users, roles, settings; in the provider tenant also tenants.
    Admin,
    /// Security analyst: triages events, alerts and findings.
    Analyst,
    /// Incident responder: runs response work.
    Responder,
    /// Owns assets and fixes what is found on them.
    AssetOwner,
    /// Reads everything including the audit trail; changes nothing.
    Auditor,
    /// Reads operational pages; changes nothing.
    Viewer,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Analyst,
        Role::Responder,
        Role::AssetOwner,
        Role::Auditor,
        Role::Viewer,
    ];

    /// The stable name used in the API, CLI and database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Responder => "responder",
            Role::AssetOwner => "asset_owner",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// The permissions this role grants within its tenant.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[
                DashboardRead,
                UsersRead,
                UsersManage,
                AuditRead,
                AuditExport,
                TenantsManage,
                AssetsRead,
                AssetsWrite,
                AssetsApprove,
                AssetRulesManage,
                EventsRead,
                EventsRawRead,
                IngestManage,
                AlertsRead,
                AlertsManage,
                RulesRead,
                RulesManage,
                IntelManage,
                FindingsRead,
                FindingsImport,
                WorkOrdersWork,
                WorkOrdersVerify,
                RiskManage,
                IncidentsRead,
                IncidentsManage,
                EvidenceAccess,
                PlaybooksManage,
                PlaybooksApprove,
                PlansManage,
            ],
            Role::Auditor => &[
                DashboardRead,
                UsersRead,
                AuditRead,
                AuditExport,
                AssetsRead,
                EventsRead,
                AlertsRead,
                RulesRead,
                FindingsRead,
                IncidentsRead,
                EvidenceAccess,
            ],
            Role::AssetOwner => &[
                DashboardRead,
                AssetsRead,
                AssetsWrite,
                AssetsApprove,
                FindingsRead,
                WorkOrdersWork,
                IncidentsRead,
            ],
            Role::Analyst => &[
                DashboardRead,
                AssetsRead,
                EventsRead,
                EventsRawRead,
                AlertsRead,
                AlertsManage,
                RulesRead,
                FindingsRead,
                FindingsImport,
                WorkOrdersWork,
                WorkOrdersVerify,
                RiskManage,
                IncidentsRead,
                IncidentsManage,
                EvidenceAccess,
                PlaybooksManage,
            ],
            Role::Responder => &[
                DashboardRead,
                AssetsRead,
                EventsRead,
                EventsRawRead,
                AlertsRead,
                AlertsManage,
                RulesRead,
                FindingsRead,
                FindingsImport,
                WorkOrdersWork,
                WorkOrdersVerify,
                RiskManage,
                IncidentsRead,
                IncidentsManage,
                EvidenceAccess,
                PlaybooksManage,
                PlaybooksApprove,
                PlansManage,
            ],
            Role::Viewer => &[
                DashboardRead,
                AssetsRead,
                AlertsRead,
                FindingsRead,
                IncidentsRead,
            ],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected one of: admin, analyst, responder, asset_owner, auditor, viewer)"))
    }
}

/// Something a request may be allowed to do. Handlers ask for exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the home dashboard of the tenant.
    DashboardRead,
    /// List and read the tenant's users and their roles.
    UsersRead,
    /// Create users, grant and revoke roles, reset passwords, lock and unlock.
    UsersManage,
    /// Browse the audit trail of the tenant.
    AuditRead,
    /// Export the audit trail (CSV, JSON).
    AuditExport,
    /// Create tenants and grant staff across tenants. Only effective in a provider tenant.
    TenantsManage,
    /// Read the asset ledger (I.1).
    AssetsRead,
    /// Add, change, move through the lifecycle and delete assets (I.1).
    AssetsWrite,
    /// Acknowledge change alerts; approve or reject held changes — never one's own (I.1.d).
    AssetsApprove,
    /// Define the change rules of the ledger (I.1.d).
    AssetRulesManage,
    /// Search and count the tenant's events (normalised fields).
    EventsRead,
    /// See events' original raw text; every such read is audited.
    EventsRawRead,
    /// Manage ingest tokens and event retention.
    IngestManage,
    /// Read detection alerts and their triggering events (MO.3.c).
    AlertsRead,
    /// Triage alerts: acknowledge, assign, comment, close; manage suppressions.
    AlertsManage,
    /// Read the detection rules and test them against events.
    RulesRead,
    /// Import rules and enable or disable them for the tenant.
    RulesManage,
    /// Import and remove threat-intelligence sources (MO.1.b).
    IntelManage,
    /// Read findings, work orders, the threat catalog and the risk register (I.2, I.3).
    FindingsRead,
    /// Import scanner reports and manual findings (I.3.a).
    FindingsImport,
    /// Work a work order: accept, fix, ask for a retest, comment, attach (I.3.c).
    WorkOrdersWork,
    /// Judge work orders: assign, give retest verdicts, accept a risk or call a finding
    /// false (I.3.c) — kept apart from fixing, so no one signs off their own fix.
    WorkOrdersVerify,
    /// Keep the threat catalog and risk register and set the risk method, tables and SLAs
    /// (I.2, I.3.b).
    RiskManage,
    /// Read incidents, plans, drills, playbooks and their runs, and the response metrics.
    IncidentsRead,
    /// Open, classify and drive incidents through the phases; links, tasks, reviews.
    IncidentsManage,
    /// Take in, view, download and export evidence (every access enters the custody log).
    EvidenceAccess,
    /// Write playbooks and start (or dry-run) them.
    PlaybooksManage,
    /// Approve or reject a playbook's disruptive step (blocking, disabling accounts).
    PlaybooksApprove,
    /// Edit emergency plans, schedule and record drills, set the reporting profile.
    PlansManage,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 29] = [
        Permission::DashboardRead,
        Permission::UsersRead,
        Permission::UsersManage,
        Permission::AuditRead,
        Permission::AuditExport,
        Permission::TenantsManage,
        Permission::AssetsRead,
        Permission::AssetsWrite,
        Permission::AssetsApprove,
        Permission::AssetRulesManage,
        Permission::EventsRead,
        Permission::EventsRawRead,
        Permission::IngestManage,
        Permission::AlertsRead,
        Permission::AlertsManage,
        Permission::RulesRead,
        Permission::RulesManage,
        Permission::IntelManage,
        Permission::FindingsRead,
        Permission::FindingsImport,
        Permission::WorkOrdersWork,
        Permission::WorkOrdersVerify,
        Permission::RiskManage,
        Permission::IncidentsRead,
        Permission::IncidentsManage,
        Permission::EvidenceAccess,
        Permission::PlaybooksManage,
        Permission::PlaybooksApprove,
        Permission::PlansManage,
    ];

    /// The token scope a request needs to use this permission.
    pub fn required_scope(self) -> Scope {
        match self {
            Permission::DashboardRead
            | Permission::UsersRead
            | Permission::AuditRead
            | Permission::AuditExport
            | Permission::AssetsRead
            | Permission::EventsRead
            | Permission::EventsRawRead
            | Permission::AlertsRead
            | Permission::RulesRead
            | Permission::FindingsRead
            | Permission::IncidentsRead => Scope::Read,
            Permission::AssetsWrite
            | Permission::AssetsApprove
            | Permission::AlertsManage
            | Permission::FindingsImport
            | Permission::WorkOrdersWork
            | Permission::WorkOrdersVerify
            | Permission::RiskManage
            | Permission::IncidentsManage
            | Permission::EvidenceAccess
            | Permission::PlaybooksManage
            | Permission::PlaybooksApprove
            | Permission::PlansManage => Scope::Write,
            Permission::UsersManage
            | Permission::TenantsManage
            | Permission::AssetRulesManage
            | Permission::IngestManage
            | Permission::RulesManage
            | Permission::IntelManage => Scope::Admin,
        }
    }
}

/// What an API token may be used for. Scopes nest: `admin` includes `write`, which includes `read`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read-only requests.
    Read,
    /// Read, and changes to operational data.
    Write,
    /// Everything the user's roles allow, including identity and credential management.
    Admin,
}

impl Scope {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            _ => Err(format!(
                "unknown scope `{s}` (expected read, write or admin)"
            )),
        }
    }
}

/// The scopes a credential carries; the highest one decides, since scopes nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeSet(Scope);

impl ScopeSet {
    /// A console session or login token: everything the user's roles allow.
    pub const FULL: ScopeSet = ScopeSet(Scope::Admin);

    /// The set from a list of scopes; `None` when the list is empty.
    pub fn from_scopes(scopes: &[Scope]) -> Option<ScopeSet> {
        scopes.iter().max().copied().map(ScopeSet)
    }

    /// True when a request with these scopes may use `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        self.0 >= scope
    }

    /// The highest scope held.
    pub fn highest(self) -> Scope {
        self.0
    }
}

/// True when any of `roles` grants `permission`.
pub fn roles_grant(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.permissions().contains(&permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("unknown role"));
    }

    #[test]
    fn scopes_nest() {
        let read = ScopeSet::from_scopes(&[Scope::Read]).unwrap();
        assert!(read.allows(Scope::Read));
        assert!(!read.allows(Scope::Write));
        let admin = ScopeSet::from_scopes(&[Scope::Read, Scope::Admin]).unwrap();
        assert!(admin.allows(Scope::Write));
        assert!(ScopeSet::from_scopes(&[]).is_none());
    }

    #[test]
    fn only_admin_manages_users_and_auditor_reads_audit() {
        for r in Role::ALL {
            assert_eq!(roles_grant(&[r], Permission::UsersManage), r == Role::Admin);
            assert_eq!(
                roles_grant(&[r], Permission::AuditRead),
                matches!(r, Role::Admin | Role::Auditor)
            );
            assert!(roles_grant(&[r], Permission::DashboardRead));
        }
    }
}
