//! Threat intelligence in the pipeline (MO.1.b): each tenant's imported feeds as one
//! in-memory indicator set, rebuilt from the stored feed files at start and after every
//! import or removal; every event's addresses, domains, URLs and hashes are matched and hits
//! are attached as ECS `threat.enrichments` (which the intel rules of the rule pack alert on).

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use yunshou_intel::{IndicatorSet, IndicatorSetBuilder};
use yunshou_store::Store;

/// Every tenant's indicators.
#[derive(Default)]
pub struct IntelBook {
    /// Fx-hashed: looked up for every event, by tenant ids the platform makes.
    by_tenant: RwLock<rustc_hash::FxHashMap<String, Arc<IndicatorSet>>>,
}

/// Parses a format name (`stix`, `misp-json`, `misp-csv`, `csv`).
pub fn format_of(name: &str) -> Option<yunshou_intel::Format> {
    use yunshou_intel::Format;
    [Format::Stix, Format::MispJson, Format::MispCsv, Format::Csv]
        .into_iter()
        .find(|f| format_name(*f) == name)
}

/// A format's name.
pub fn format_name(f: yunshou_intel::Format) -> &'static str {
    use yunshou_intel::Format;
    match f {
        Format::Stix => "stix",
        Format::MispJson => "misp-json",
        Format::MispCsv => "misp-csv",
        Format::Csv => "csv",
    }
}

impl IntelBook {
    /// Rebuilds every tenant's set from the stored feeds. A feed that no longer parses is
    /// logged and left out (it parsed when it was imported).
    pub async fn rebuild(&self, store: &Store) -> anyhow::Result<()> {
        let feeds = store.all_intel_feed_contents().await?;
        let table = tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            let mut builders: HashMap<String, IndicatorSetBuilder> = HashMap::new();
            for f in feeds {
                let Some(format) = format_of(&f.format) else {
                    tracing::warn!(feed = f.name, format = f.format, "unknown intel format");
                    continue;
                };
                match yunshou_intel::import(&f.content, format, &f.name, now) {
                    Ok(report) => {
                        let b = builders.entry(f.tenant_id.clone()).or_default();
                        for ind in &report.indicators {
                            // Importers hand out normalised indicators; a refusal here would
                            // be a bug, so it is logged rather than hidden.
                            if let Err(e) = b.insert(ind) {
                                tracing::warn!(feed = f.name, error = e, "indicator refused");
                            }
                        }
                    }
                    Err(e) => tracing::warn!(feed = f.name, error = %e, "stored intel feed no longer parses"),
                }
            }
            builders
                .into_iter()
                .map(|(t, b)| (t, Arc::new(b.build())))
                .collect::<rustc_hash::FxHashMap<_, _>>()
        })
        .await?;
        *self.by_tenant.write().expect("intel table") = table;
        Ok(())
    }

    /// Indicators loaded for a tenant.
    pub fn count(&self, tenant: &str) -> usize {
        self.by_tenant
            .read()
            .expect("intel table")
            .get(tenant)
            .map_or(0, |s| s.len())
    }

    /// Matches an event of `tenant`, adding `threat.enrichments` for each hit; returns the
    /// feeds that hit (one entry per hit).
    pub fn enrich(&self, tenant: &str, event: &mut Value, now: DateTime<Utc>) -> Vec<String> {
        let set = {
            let table = self.by_tenant.read().expect("intel table");
            match table.get(tenant) {
                Some(s) => s.clone(),
                None => return vec![],
            }
        };
        let added = set.enrich_event(event, now);
        if added == 0 {
            return vec![];
        }
        // `get` rather than `pointer`, which allocates to unescape each segment.
        let list = event
            .get("threat")
            .and_then(|t| t.get("enrichments"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let feeds = list[list.len().saturating_sub(added)..]
            .iter()
            .filter_map(|e| e.get("indicator")?.get("provider")?.as_str())
            .map(str::to_string)
            .collect();
        feeds
    }
}
