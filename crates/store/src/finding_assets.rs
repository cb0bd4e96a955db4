//! The assets a report's targets are, during an import.
//!
//! The import's writes go through a queue ([`crate::tx_queue`]) while the import reads on a
//! second connection, which sees the ledger as it was when the import began (the import
//! holds SQLite's write lock, so nothing else commits meanwhile). What the import itself
//! adds — assets it discovers — is kept here in memory and consulted beside the stored
//! ledger, in the order a lookup inside the transaction would give.

use crate::assets::AssetRows;
use crate::assets::{from_row as asset_from_row, COLUMNS as ASSET_COLUMNS};
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::net::IpAddr;
use yunshou_identify::assessment::AssetExposure;
use yunshou_model::asset::{ip_key, Asset, AssetFields, Fingerprint, Lifecycle};
use yunshou_model::finding::Target;
use yunshou_model::Actor;

/// What an import needs of an asset.
#[derive(Clone)]
pub(crate) struct AssetInfo {
    pub id: String,
    pub name: String,
    pub exposure: AssetExposure,
    pub owner: Option<String>,
}

impl AssetInfo {
    fn of(asset: &Asset) -> AssetInfo {
        AssetInfo {
            id: asset.id.clone(),
            name: asset.fields.name.clone(),
            exposure: AssetExposure {
                value: asset.value,
                internet_facing: asset.internet_facing,
            },
            owner: asset.fields.owner.clone(),
        }
    }
}

/// One way a target names its asset.
enum Name<'t> {
    Ip(IpAddr),
    /// A host name, lower-cased: an asset's name or one of its domains.
    Host(String),
    /// A container image or repository: an asset's name or one of its applications.
    Named(&'t str),
    /// A CPE, lower-cased, found in an asset's searchable text.
    Cpe(String),
}

/// How `t` names its asset, most specific first: address, then host name, then image or
/// repository. A CPE names a product, not a host: it identifies the asset only when the
/// report gives nothing else (many hosts run the same product).
fn names(t: &Target) -> Vec<Name<'_>> {
    let mut names = vec![];
    if let Some(ip) = t.ip.as_deref().and_then(|ip| ip.trim().parse().ok()) {
        names.push(Name::Ip(ip));
    }
    if let Some(h) = &t.hostname {
        names.push(Name::Host(h.trim().to_lowercase()));
    }
    for name in [&t.image, &t.repository].into_iter().flatten() {
        names.push(Name::Named(name.trim()));
    }
    if names.is_empty() && t.ip.is_none() {
        names.extend(t.cpe.iter().map(|c| Name::Cpe(c.to_lowercase())));
    }
    names
}

/// The first stored asset `name` names: live before disposed, oldest first. Every lookup
/// is an index search (the ledger may hold many thousands), except by CPE.
async fn stored(conn: &mut AnyConnection, tenant: &str, name: &Name<'_>) -> Result<Option<Asset>> {
    let order = "ORDER BY (a.lifecycle = 'disposed'), a.created_at LIMIT 1";
    let row = match name {
        Name::Ip(ip) => {
            sqlx::query(&format!(
                "SELECT {ASSET_COLUMNS} FROM asset_ips i JOIN assets a ON a.id = i.asset_id WHERE i.tenant_id = $1 AND i.ip_key = $2 {order}"
            ))
            .bind(tenant)
            .bind(ip_key(*ip))
            .fetch_optional(&mut *conn)
            .await?
        }
        Name::Host(h) => {
            sqlx::query(&format!(
                "SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id IN \
                 (SELECT n.id FROM assets n INDEXED BY assets_tenant_lower_name WHERE n.tenant_id = $1 AND LOWER(n.name) = $2 \
                  UNION SELECT x.asset_id FROM asset_terms x WHERE x.tenant_id = $1 AND x.field = 'domain' AND x.term = $2) {order}"
            ))
            .bind(tenant)
            .bind(h)
            .fetch_optional(&mut *conn)
            .await?
        }
        Name::Named(n) => {
            sqlx::query(&format!(
                "SELECT {ASSET_COLUMNS} FROM assets a WHERE a.id IN \
                 (SELECT n.id FROM assets n WHERE n.tenant_id = $1 AND n.name = $2 \
                  UNION SELECT x.asset_id FROM asset_terms x WHERE x.tenant_id = $1 AND x.field = 'application' AND x.term = $3) {order}"
            ))
            .bind(tenant)
            .bind(*n)
            .bind(n.to_lowercase())
            .fetch_optional(&mut *conn)
            .await?
        }
        Name::Cpe(cpe) => {
            sqlx::query(&format!(
                "SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = $1 AND a.search_text LIKE $2 ESCAPE '\\' {order}"
            ))
            .bind(tenant)
            .bind(format!("%{}%", crate::alerts::like_escape(cpe)))
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    row.map(|r| asset_from_row(&r)).transpose()
}

/// The assets this import discovered, by every name a lookup could find them by.
#[derive(Default)]
pub(crate) struct Discovered {
    by_name: HashMap<String, AssetInfo>,
    /// CPEs (lower-cased) of each discovered asset: found by substring, as stored ones are.
    cpes: Vec<(String, AssetInfo)>,
}

impl Discovered {
    fn add(&mut self, asset: &Asset) {
        let info = AssetInfo::of(asset);
        let f = &asset.fields;
        let mut keys: Vec<String> = f
            .ips
            .iter()
            .filter_map(|ip| ip.trim().parse().ok())
            .map(|ip| format!("ip:{}", ip_key(ip)))
            .collect();
        keys.push(format!("host:{}", f.name.to_lowercase()));
        keys.extend(
            f.domains
                .iter()
                .map(|d| format!("host:{}", d.to_lowercase())),
        );
        keys.push(format!("named:{}", f.name));
        for key in keys {
            // The first discovered keeps a name, as the oldest stored asset does.
            self.by_name.entry(key).or_insert_with(|| info.clone());
        }
        self.cpes.extend(
            f.fingerprint
                .cpe
                .iter()
                .map(|c| (c.to_lowercase(), info.clone())),
        );
    }

    fn get(&self, name: &Name<'_>) -> Option<&AssetInfo> {
        let key = match name {
            Name::Ip(ip) => format!("ip:{}", ip_key(*ip)),
            Name::Host(h) => format!("host:{h}"),
            Name::Named(n) => format!("named:{n}"),
            Name::Cpe(cpe) => {
                return self
                    .cpes
                    .iter()
                    .find(|(c, _)| c.contains(cpe.as_str()))
                    .map(|(_, info)| info)
            }
        };
        self.by_name.get(&key)
    }
}

/// The asset `t` is, stored before the import (read on `conn`) or discovered by it: for
/// each of the target's names in turn, a live stored asset, then a discovered one (always
/// live, and newer than any stored), then a disposed stored one.
pub(crate) async fn find(
    conn: &mut AnyConnection,
    tenant: &str,
    discovered: &Discovered,
    t: &Target,
) -> Result<Option<AssetInfo>> {
    for name in names(t) {
        let stored = stored(conn, tenant, &name).await?;
        if let Some(a) = stored
            .as_ref()
            .filter(|a| a.lifecycle != Lifecycle::Disposed)
        {
            return Ok(Some(AssetInfo::of(a)));
        }
        if let Some(info) = discovered.get(&name) {
            return Ok(Some(info.clone()));
        }
        if let Some(a) = stored {
            return Ok(Some(AssetInfo::of(&a)));
        }
    }
    Ok(None)
}

/// Adds an unknown target to the ledger: onboarding, no owner — discovered, not yet
/// managed — with what the report knew of it. Its rows join `pending`, written with the
/// import's next batch.
pub(crate) fn discover(
    discovered: &mut Discovered,
    pending: &mut AssetRows,
    tenant: &str,
    t: &Target,
    format: &str,
    actor: &Actor,
) -> Result<AssetInfo> {
    let name = t
        .hostname
        .clone()
        .or_else(|| t.ip.clone())
        .or_else(|| t.image.clone())
        .or_else(|| t.repository.clone())
        .unwrap_or_default();
    let kind = if t.image.is_some() && t.ip.is_none() {
        "container"
    } else if t.repository.is_some() && t.ip.is_none() {
        "application"
    } else {
        "host"
    };
    let mut fields = AssetFields {
        name: name.chars().take(200).collect(),
        kind: kind.into(),
        // Reports carry addresses no host can have (`192.168.1.1001`); keep the target by
        // name rather than refuse the report.
        ips: t
            .ip
            .iter()
            .filter(|ip| ip.trim().parse::<IpAddr>().is_ok())
            .cloned()
            .collect(),
        domains: t
            .hostname
            .iter()
            .filter(|h| h.contains('.'))
            .cloned()
            .collect(),
        os: t.os.clone().map(|o| o.chars().take(200).collect()),
        fingerprint: Fingerprint {
            cpe: t.cpe.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    if fields.validate().is_err() {
        // Keep what identifies it; drop what the ledger cannot take.
        fields.domains.clear();
        fields.fingerprint.cpe.clear();
        fields.os = None;
        fields.validate().map_err(|e| {
            Error::Invalid(format!(
                "target `{name}` cannot be added to the ledger: {e}"
            ))
        })?;
    }
    let scope = TenantScope::new(tenant);
    let asset = crate::assets::new_asset(&scope, fields, Lifecycle::Onboarding, &crate::now_text());
    discovered.add(&asset);
    let discoverer = Actor {
        name: format!("{} ({format})", actor.name),
        ..actor.clone()
    };
    pending.push_new(&asset, &discoverer, "discover");
    Ok(AssetInfo::of(&asset))
}
