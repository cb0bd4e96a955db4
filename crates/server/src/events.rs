//! The event pipeline inside the server: enrichment from the asset ledger, and the daily
//! work of sealing finished days and applying each tenant's retention.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use yunshou_ingest::{Enricher, Pipeline};
use yunshou_store::{AddressedAsset, Store};

/// Addresses of the ledger's assets, per tenant, refreshed from the store every minute.
#[derive(Default)]
pub struct AssetEnricher {
    by_tenant: RwLock<HashMap<String, HashMap<IpAddr, AddressedAsset>>>,
}

impl AssetEnricher {
    /// Reloads the table from the store.
    pub async fn refresh(&self, store: &Store) -> yunshou_store::Result<()> {
        let mut table: HashMap<String, HashMap<IpAddr, AddressedAsset>> = HashMap::new();
        for a in store.asset_addresses().await? {
            table
                .entry(a.tenant_id.clone())
                .or_default()
                .insert(a.ip, a);
        }
        *self.by_tenant.write().expect("enrichment table") = table;
        Ok(())
    }

    /// Refreshes forever.
    pub async fn refresh_forever(self: Arc<Self>, store: Arc<Store>) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh(&store).await {
                tracing::warn!(error = %e, "refreshing the asset enrichment table failed");
            }
        }
    }
}

impl Enricher for AssetEnricher {
    /// Adds `asset` (id, name, value, owner, business system) beside `source`, `destination`
    /// and `host` when their address belongs to an asset of the tenant.
    fn enrich(&self, tenant: &str, doc: &mut serde_json::Map<String, serde_json::Value>) {
        let table = self.by_tenant.read().expect("enrichment table");
        let Some(assets) = table.get(tenant) else {
            return;
        };
        for side in ["source", "destination", "host"] {
            let Some(obj) = doc.get_mut(side).and_then(|v| v.as_object_mut()) else {
                continue;
            };
            let ip = obj.get("ip").and_then(|v| {
                v.as_str().or_else(|| {
                    v.as_array()
                        .and_then(|a| a.first())
                        .and_then(|x| x.as_str())
                })
            });
            let Some(a) = ip
                .and_then(|s| s.parse::<IpAddr>().ok())
                .and_then(|ip| assets.get(&ip))
            else {
                continue;
            };
            obj.insert(
                "asset".into(),
                serde_json::json!({
                    "id": a.asset_id,
                    "name": a.name,
                    "value": a.value,
                    "owner": a.owner,
                    "business_system": a.business_system,
                }),
            );
        }
    }
}

/// Once an hour: seals every tenant's finished days and removes days past the tenant's
/// retention, auditing each removal; refreshes the database's planner statistics.
pub async fn seal_and_retain_forever(store: Arc<Store>, pipeline: Pipeline) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = seal_and_retain(&store, &pipeline).await {
            tracing::warn!(error = %e, "sealing or retention failed");
        }
        if let Err(e) = store.analyze().await {
            tracing::warn!(error = %e, "refreshing planner statistics failed");
        }
    }
}

/// One round of sealing and retention.
pub async fn seal_and_retain(store: &Store, pipeline: &Pipeline) -> anyhow::Result<()> {
    let events = pipeline.store().clone();
    let today = chrono::Utc::now().date_naive();
    for tenant in events.tenants()? {
        let retention = store.retention_of(&tenant).await?;
        let ev = events.clone();
        let t = tenant.clone();
        let cutoff = today - chrono::Duration::days(retention.days);
        let (sealed, retired) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            // A day is sealed an hour after it ends, so stragglers still land in it.
            let seal_before = (chrono::Utc::now() - chrono::Duration::hours(1)).date_naive();
            let sealed = ev.seal_before(&t, seal_before)?;
            let retired = ev.retire_before(&t, cutoff)?;
            Ok((sealed, retired))
        })
        .await??;
        if !sealed.is_empty() {
            tracing::info!(tenant, days = sealed.len(), "sealed event partitions");
        }
        if !retired.is_empty() {
            let mut entry = yunshou_model::Actor {
                user_id: None,
                name: "system:retention".into(),
                source_ip: None,
            }
            .entry(Some(&tenant), "events.retire", "tenant", Some(&tenant));
            entry.after = Some(serde_json::json!({
                "days": retired.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "retention_days": retention.days,
            }));
            store.audit(entry).await?;
        }
    }
    Ok(())
}
