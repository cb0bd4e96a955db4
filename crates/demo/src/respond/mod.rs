//! The demo's respond story (R.1, R.2): each organisation has told the platform who it is for
//! reporting duties, keeps an emergency plan for every GB/T 20986-2023 class (the network
//! attack plan in its second version, after a drill showed blocking needed an approval step),
//! has drilled that plan three weeks ago and scheduled a ransomware drill for next month, and
//! has the three example playbooks enabled.
//!
//! Once the day of logs has raised alerts, its responder works five incidents — from the
//! alerts where one fits, by hand on the ledger's hosts otherwise: one just taken on (in
//! diagnosis), an SSH brute force being contained, a ransomware infection or data leak in
//! recovery, a false alarm closed at diagnosis, and last month's compromised operations account
//! taken all the way through optimisation, ready to be archived with its report. Evidence
//! (an `auth.log` excerpt, a saved search, a packet capture) sits in the vault with its chain
//! of custody. Everything goes through the same store calls the console uses.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use yunshou_model::Actor;
use yunshou_store::alerts::AlertFilter;
use yunshou_store::findings::FindingFilter;
use yunshou_store::incidents::IncidentFilter;
use yunshou_store::{Page, Store};

use orgs::{org, Org};
use story::Story;

mod archivable;
mod evidence;
mod ongoing;
mod orgs;
mod plans;
mod story;

/// The plans' roles (as `yunshou_respond::plans::template` names them).
const LEADER: &str = "应急领导小组组长";
const TECH: &str = "技术处置组";
const LIAISON: &str = "联络报告员";
const OWNER: &str = "业务系统负责人";

/// The address that broke into an operations account last month (it is on the CNCERT feed
/// the demo imports).
const PAST_ATTACKER: &str = "45.155.205.233";
/// The brute-forcer of the demo's day of logs, when no alert names one.
const TODAY_ATTACKER: &str = "198.51.100.23";

/// The acting user, when the account exists.
async fn actor(store: &Store, username: &str, ip: &str) -> anyhow::Result<Option<Actor>> {
    Ok(store.user_by_username(username).await?.map(|u| Actor {
        user_id: Some(u.id.clone()),
        name: u.username.clone(),
        source_ip: Some(ip.into()),
    }))
}

/// The organisation's administrator, else the platform's.
async fn admin_actor(store: &Store, org: &Org) -> anyhow::Result<Actor> {
    if let Some(a) = actor(store, &format!("{}.admin", org.prefix), "10.20.3.5").await? {
        return Ok(a);
    }
    tracing::warn!(
        "demo: {}.admin missing; acting as the platform administrator",
        org.prefix
    );
    actor(store, "admin", "10.10.1.5")
        .await?
        .context("no administrator account: bootstrap first")
}

/// The first `limit` items of a listing.
fn first(limit: i64) -> Page {
    Page { limit, offset: 0 }
}

/// A day, as plans and improvement items write it.
fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Seeds an organisation's response setting: operator kind, emergency plans for every class
/// (the network-attack plan in two versions), a drill held three weeks ago with its
/// improvement items, a ransomware drill scheduled next month, and the example playbooks,
/// enabled. Does nothing if the organisation already has plans.
pub async fn seed_response(store: &Store, tenant_name: &str) -> anyhow::Result<()> {
    let (_, scope) = store.operator_scope(tenant_name).await?;
    let org = org(tenant_name);
    let admin = admin_actor(store, org).await?;
    if !store.current_plans(&scope).await?.is_empty() {
        tracing::info!("demo: {tenant_name} already has emergency plans; response not seeded");
        return Ok(());
    }
    store.set_operator_kind(&scope, org.kind, &admin).await?;

    let (na_v1, mp) = plans::save_plans(store, &scope, org, &admin).await?;
    // The drill three weeks ago on the first version, which led to the second.
    let now = Utc::now();
    plans::drill_and_revise(store, &scope, org, &na_v1, now, &admin).await?;
    plans::schedule_tabletop(store, &scope, mp, now, &admin).await?;
    plans::enable_playbooks(store, &scope, &admin).await?;
    Ok(())
}

/// Creates and works the organisation's incidents as its responder would, once the day of
/// logs has raised alerts (incidents are made from fitting alerts, by hand otherwise): one in
/// diagnosis, one in containment, one in recovery, a false alarm closed at diagnosis, and one
/// through optimisation with every record the archive needs. Returns the ids of the incidents
/// ready to be archived. Does nothing (and returns none) if the organisation already has
/// incidents.
pub async fn incidents(
    store: &Store,
    tenant_name: &str,
    responder: &str,
) -> anyhow::Result<Vec<String>> {
    let (_, scope) = store.operator_scope(tenant_name).await?;
    let (_, existing) = store
        .incidents(&scope, &IncidentFilter::default(), first(1))
        .await?;
    if existing > 0 {
        tracing::info!("demo: {tenant_name} already has incidents; none added");
        return Ok(Vec::new());
    }
    let org = org(tenant_name);
    let responder = actor(store, responder, "10.20.3.21")
        .await?
        .with_context(|| format!("demo responder {responder}"))?;
    let analyst = match actor(store, &format!("{}.analyst", org.prefix), "10.20.3.17").await? {
        Some(a) => a,
        None => {
            tracing::warn!(
                "demo: {}.analyst missing; the responder views evidence",
                org.prefix
            );
            responder.clone()
        }
    };
    let (alerts, _) = store
        .alerts(&scope, &AlertFilter::default(), first(1000))
        .await?;
    let (ledger, _) = store
        .list_assets(&scope, &Default::default(), Default::default(), first(1000))
        .await?;
    let (findings, _) = store
        .findings(&scope, &FindingFilter::default(), first(500))
        .await?;
    let mut s = Story {
        store,
        scope,
        org,
        responder,
        analyst,
        alerts,
        used: HashSet::new(),
        ledger,
        findings,
        now: Utc::now(),
    };
    let archivable = s.compromised_account().await?;
    s.in_recovery().await?;
    s.brute_force_contained().await?;
    s.false_alarm().await?;
    s.just_taken_on().await?;
    Ok(vec![archivable])
}

#[cfg(test)]
mod tests;
