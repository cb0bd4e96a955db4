//! What happened to the demo ledger: how its assets relate, a month of internet exposure
//! being brought down, the changes that raised change alerts (one approved, one waiting for
//! approval), and the queries the team saved.

use anyhow::{Context, Result};
use std::collections::HashMap;
use yunshou_model::asset::{Asset, Exposure, Port};
use yunshou_model::relation::RelationKind;
use yunshou_model::Actor;
use yunshou_store::{
    AlertFilter, AlertStatus, ChangeOutcome, Decision, ExposurePoint, Page, SavedKind, Store,
    TenantScope,
};

/// The ledger's parts by business system and role (`zwfw` → `web` → assets).
fn by_role(assets: &[Asset]) -> HashMap<(String, String), Vec<&Asset>> {
    let mut map: HashMap<(String, String), Vec<&Asset>> = HashMap::new();
    for a in assets {
        let mut parts = a.fields.name.split('-');
        if let (Some(system), Some(role), Some(_)) = (parts.next(), parts.next(), parts.next()) {
            map.entry((system.to_string(), role.to_string()))
                .or_default()
                .push(a);
        }
    }
    map
}

/// Relates the parts of each business system: domain → public IP → load balancer → web →
/// application servers → database, cache, queue, storage; every part belongs to its system.
pub async fn relate(
    store: &Store,
    scope: &TenantScope,
    assets: &[Asset],
    actor: &Actor,
) -> Result<usize> {
    let parts = by_role(assets);
    let systems: Vec<&Asset> = assets
        .iter()
        .filter(|a| {
            a.fields.kind == "application" && a.fields.applications.first() == Some(&a.fields.name)
        })
        .collect();
    let mut shorts: Vec<&String> = parts.keys().map(|(s, _)| s).collect();
    shorts.sort();
    shorts.dedup();
    let link =
        |from: &Asset, to: &Asset, kind: RelationKind| (from.id.clone(), to.id.clone(), kind);
    let mut links = Vec::new();
    for short in shorts {
        let role = |r: &str| {
            parts
                .get(&(short.clone(), r.to_string()))
                .cloned()
                .unwrap_or_default()
        };
        let (domain, eip, slb, web, app) = (
            role("domain"),
            role("eip"),
            role("slb"),
            role("web"),
            role("app"),
        );
        let backends: Vec<&Asset> = ["db", "redis", "mq", "oss"]
            .iter()
            .flat_map(|r| role(r))
            .collect();
        let front = if slb.is_empty() { &web } else { &slb };
        for (d, e) in domain.iter().zip(eip.iter()) {
            links.push(link(d, e, RelationKind::ConnectsTo));
        }
        for e in &eip {
            for f in front.iter().take(2) {
                links.push(link(e, f, RelationKind::ConnectsTo));
            }
        }
        if !slb.is_empty() {
            for (i, w) in web.iter().enumerate() {
                links.push(link(slb[i % slb.len()], w, RelationKind::ConnectsTo));
            }
        }
        for (i, w) in web.iter().enumerate() {
            if let Some(a) = app.get(i % app.len().max(1)) {
                links.push(link(w, a, RelationKind::ConnectsTo));
            }
        }
        for (i, a) in app.iter().enumerate() {
            for b in backends.iter().skip(i % 2).step_by(2) {
                links.push(link(a, b, RelationKind::DependsOn));
            }
        }
        let system = web
            .first()
            .or(app.first())
            .and_then(|a| a.fields.business_system.as_deref())
            .and_then(|name| systems.iter().find(|s| s.fields.name == name));
        if let Some(system) = system {
            for part in web.iter().chain(&app).chain(&backends).chain(&slb) {
                links.push(link(part, system, RelationKind::PartOf));
            }
        }
    }
    for (from, to, kind) in &links {
        store
            .add_relation(scope, from, to, *kind, None, actor)
            .await?;
    }
    Ok(links.len())
}

/// A month of exposure history: the internet-facing surface shrank as a least-exposure review
/// closed ports, so the trend ends at today's (real) count.
pub async fn exposure_history(store: &Store, scope: &TenantScope, actor: &Actor) -> Result<()> {
    let today = store.exposure_trend(scope, 1).await?;
    let now = today
        .last()
        .context("the import recorded today's exposure")?;
    for days_ago in (1..30i64).rev() {
        let day = (chrono::Utc::now() - chrono::Duration::days(days_ago))
            .format("%Y-%m-%d")
            .to_string();
        // Two steps down: the review's first and second rounds, three and two weeks ago.
        let extra = match days_ago {
            21.. => 9,
            14..=20 => 4,
            _ => 0,
        };
        store
            .record_past_exposure(
                scope,
                &ExposurePoint {
                    day,
                    internet_assets: now.internet_assets + extra / 2,
                    internet_ports: now.internet_ports + extra,
                },
                actor,
            )
            .await?;
    }
    Ok(())
}

/// Changes that raised change alerts: a web server's fingerprint after an nginx upgrade, and
/// two requests to expose an admin port — one approved by the tenant admin, one waiting.
pub async fn changes(
    store: &Store,
    scope: &TenantScope,
    assets: &[Asset],
    owner: &Actor,
    admin: &Actor,
) -> Result<()> {
    let webs: Vec<&Asset> = assets
        .iter()
        .filter(|a| a.fields.name.contains("-web-") && a.lifecycle.in_use())
        .take(3)
        .collect();
    let [upgraded, approved, waiting] = webs[..] else {
        anyhow::bail!("the demo ledger has three web servers in service");
    };
    let mut f = upgraded.fields.clone();
    f.fingerprint.cpe = vec!["cpe:2.3:a:f5:nginx:1.26.2:*:*:*:*:*:*:*".into()];
    f.fingerprint.banners = vec!["nginx/1.26.2".into()];
    store
        .update_asset(scope, &upgraded.id, f, None, owner)
        .await?;
    for a in [approved, waiting] {
        let mut f = a.fields.clone();
        f.ports.push(Port {
            port: 8443,
            protocol: "tcp".into(),
            service: Some("https-admin".into()),
            exposure: Exposure::Internet,
        });
        match store.update_asset(scope, &a.id, f, None, owner).await? {
            ChangeOutcome::Held { .. } => {}
            ChangeOutcome::Applied { .. } => {
                anyhow::bail!("the port rule holds new internet ports")
            }
        }
    }
    let (pending, _) = store
        .change_alerts(
            scope,
            &AlertFilter {
                status: Some(AlertStatus::Pending),
                asset_id: Some(approved.id.clone()),
            },
            Page::default(),
        )
        .await?;
    let alert = pending.first().context("a held change raised an alert")?;
    store
        .decide_change_alert(
            scope,
            &alert.id,
            Decision::Approve,
            Some("临时开放运维端口用于等保测评，已限制源地址，测评结束后关闭"),
            admin,
        )
        .await?;
    Ok(())
}

/// Ledger queries and event searches the team keeps coming back to.
pub async fn saved_queries(store: &Store, scope: &TenantScope, owner: &Actor) -> Result<()> {
    for (kind, name, query) in [
        (
            SavedKind::Assets,
            "互联网暴露的管理端口",
            "exposure=internet&port=8443",
        ),
        (
            SavedKind::Assets,
            "在用数据库",
            "kind=database&state=in_service",
        ),
        (
            SavedKind::Assets,
            "nginx 资产",
            "middleware=nginx&sort=priority",
        ),
        (
            SavedKind::Events,
            "SSH 登录失败",
            "event.dataset:linux.auth AND event.outcome:failure",
        ),
        (
            SavedKind::Events,
            "外部来源的 Web 5xx",
            "event.category:web AND http.response.status_code:>=500 AND NOT source.ip:10.0.0.0/8",
        ),
        (SavedKind::Events, "sudo 提权", "process.name:sudo"),
    ] {
        store
            .save_query(scope, kind, name, query, true, owner)
            .await?;
    }
    Ok(())
}
