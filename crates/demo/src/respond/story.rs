//! What the incident stories work with, and the steps they share.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use yunshou_model::asset::Asset;
use yunshou_model::Actor;
use yunshou_respond::classification::{GradingInputs, Importance, Loss, SocialHarm};
use yunshou_respond::phases::Phase;
use yunshou_store::alerts::Alert;
use yunshou_store::findings::Finding;
use yunshou_store::incidents::{Incident, IncidentPatch, NewIncident};
use yunshou_store::{Store, TenantScope};

use super::orgs::Org;

/// What the incident stories work with.
pub(super) struct Story<'a> {
    pub(super) store: &'a Store,
    pub(super) scope: TenantScope,
    pub(super) org: &'static Org,
    pub(super) responder: Actor,
    pub(super) analyst: Actor,
    pub(super) alerts: Vec<Alert>,
    pub(super) used: HashSet<String>,
    pub(super) ledger: Vec<Asset>,
    pub(super) findings: Vec<Finding>,
    pub(super) now: DateTime<Utc>,
}

/// A records patch from a JSON object.
pub(super) fn records(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The grading inputs of an incident of ordinary social harm.
pub(super) fn grading(importance: Importance, loss: Loss) -> GradingInputs {
    GradingInputs {
        importance,
        loss,
        social_harm: SocialHarm::Ordinary,
    }
}

/// The host's name and first address, else a stand-in application server.
pub(super) fn name_and_ip(host: Option<&Asset>) -> (String, String) {
    host.map(|h| (h.fields.name.clone(), h.fields.ips[0].clone()))
        .unwrap_or_else(|| ("app-server".into(), "10.20.11.23".into()))
}

/// The host the alert names, else the asset's name, else `fallback`.
pub(super) fn named_host(
    found: Option<&(Alert, usize)>,
    host: Option<&Asset>,
    fallback: &str,
) -> String {
    found
        .and_then(|(a, _)| a.entities.host.clone())
        .or_else(|| host.map(|h| h.fields.name.clone()))
        .unwrap_or_else(|| fallback.into())
}

/// `alert` for an incident made from an alert, `manual` for one made by hand.
pub(super) fn incident_source(found: Option<&(Alert, usize)>) -> &'static str {
    if found.is_some() {
        "alert"
    } else {
        "manual"
    }
}

/// The assets of an incident made by hand (one made from an alert takes the alert's).
pub(super) fn assets_by_hand(found: Option<&(Alert, usize)>, host: Option<&Asset>) -> Vec<String> {
    if found.is_none() {
        host.iter().map(|h| h.id.clone()).collect()
    } else {
        vec![]
    }
}

impl Story<'_> {
    /// The first alert not yet used whose title or rule matches a keyword (lower case), with
    /// the keyword's index.
    pub(super) fn alert(&mut self, keywords: &[&str]) -> Option<(Alert, usize)> {
        for (k, word) in keywords.iter().enumerate() {
            let found = self.alerts.iter().find(|a| {
                !self.used.contains(&a.id)
                    && (a.title.to_lowercase().contains(word)
                        || a.rule_id.to_lowercase().contains(word))
            });
            if let Some(a) = found {
                self.used.insert(a.id.clone());
                return Some((a.clone(), k));
            }
        }
        None
    }

    /// The ledger asset of that name, else the first with an address whose name has `role`
    /// (`-app-`, `-db-`, `-web-`), else any with an address.
    pub(super) fn asset(&self, name: &str, role: &str) -> Option<Asset> {
        let addressed = |a: &&Asset| !a.fields.ips.is_empty();
        let found = self
            .ledger
            .iter()
            .filter(addressed)
            .find(|a| a.fields.name == name)
            .or_else(|| {
                self.ledger
                    .iter()
                    .filter(addressed)
                    .find(|a| a.fields.name.contains(role))
            })
            .or_else(|| self.ledger.iter().find(addressed))
            .cloned();
        if found.is_none() {
            tracing::warn!("demo: no asset with an address for {name}; incident without assets");
        }
        found
    }

    /// A finding whose title has a keyword (earlier keywords first), on `asset` when one
    /// there has it; else any finding on `asset`; else none.
    pub(super) fn finding(&self, keywords: &[&str], asset: Option<&Asset>) -> Option<Finding> {
        let on = |f: &&Finding| asset.is_some_and(|a| a.id == f.asset_id);
        let found = keywords
            .iter()
            .find_map(|k| {
                self.findings
                    .iter()
                    .filter(on)
                    .find(|f| f.title.contains(k))
            })
            .or_else(|| {
                keywords
                    .iter()
                    .find_map(|k| self.findings.iter().find(|f| f.title.contains(k)))
            })
            .or_else(|| self.findings.iter().find(on))
            .cloned();
        if found.is_none() {
            tracing::warn!(
                "demo: no finding fits ({}); incident not linked to one",
                keywords.join(", ")
            );
        }
        found
    }

    /// Creates the incident, `by` whom, from `source` (`alert` or `manual`).
    pub(super) async fn create(
        &self,
        new: NewIncident,
        source: &str,
        by: &Actor,
    ) -> anyhow::Result<Incident> {
        let title = new.title.clone();
        self.store
            .create_incident(&self.scope, &new, source, by)
            .await
            .with_context(|| format!("create incident {title}"))
    }

    /// Applies a patch to the incident, `by` whom.
    pub(super) async fn patch(
        &self,
        inc: &Incident,
        patch: IncidentPatch,
        by: &Actor,
    ) -> anyhow::Result<Incident> {
        self.store
            .update_incident(&self.scope, &inc.id, &patch, by)
            .await
            .with_context(|| format!("update {} {}", inc.label, inc.title))
    }

    /// Takes the incident on (owner) and moves it to diagnosis.
    pub(super) async fn take_on(&self, inc: &Incident) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                owner: Some(self.responder.name.clone()),
                phase: Some(Phase::Diagnosis),
                ..Default::default()
            },
            &self.responder,
        )
        .await
    }

    /// Classifies and grades, confirming the suggested level (the store raises the notices).
    pub(super) async fn classify(
        &self,
        inc: &Incident,
        category: &str,
        subcategory: &str,
        grading: GradingInputs,
    ) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                category: Some(category.into()),
                subcategory: Some(subcategory.into()),
                grading: Some(grading),
                level_confirmed: Some(true),
                ..Default::default()
            },
            &self.analyst,
        )
        .await
    }

    /// Takes the incident on and classifies it (see [`Self::take_on`], [`Self::classify`]).
    pub(super) async fn diagnose(
        &self,
        inc: &Incident,
        category: &str,
        subcategory: &str,
        grading: GradingInputs,
    ) -> anyhow::Result<Incident> {
        let inc = self.take_on(inc).await?;
        self.classify(&inc, category, subcategory, grading).await
    }

    /// Records the decision to activate the plan (why, and who was contacted) and moves to
    /// containment.
    pub(super) async fn activate(
        &self,
        inc: &Incident,
        reason: &str,
        contacted: Value,
    ) -> anyhow::Result<Incident> {
        self.advance(
            inc,
            json!({"activation": {
                "decision": "activate",
                "reason": reason,
                "contacted": contacted,
            }}),
            Phase::Containment,
        )
        .await
    }

    /// Records `recs` and moves one phase forward.
    pub(super) async fn advance(
        &self,
        inc: &Incident,
        recs: Value,
        to: Phase,
    ) -> anyhow::Result<Incident> {
        self.patch(
            inc,
            IncidentPatch {
                records: records(recs),
                phase: Some(to),
                ..Default::default()
            },
            &self.responder,
        )
        .await
    }

    /// Marks done the tasks of the phases before `before` (all when `None`).
    pub(super) async fn tasks_done(
        &self,
        inc: &Incident,
        before: Option<Phase>,
    ) -> anyhow::Result<()> {
        let detail = self.store.incident_detail(&self.scope, &inc.id).await?;
        for t in detail.tasks {
            if t.done_at.is_none() && before.is_none_or(|p| t.phase < p) {
                self.store
                    .set_task_done(&self.scope, &inc.id, &t.id, true, &self.responder)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records every notice of the incident as reported.
    pub(super) async fn notices_reported(
        &self,
        inc: &Incident,
        reference: &str,
    ) -> anyhow::Result<()> {
        let detail = self.store.incident_detail(&self.scope, &inc.id).await?;
        for n in detail.notices.iter().filter(|n| n.reported_at.is_none()) {
            let note = format!(
                "已通过网络安全信息报送平台向{}（{}）书面报告（{}），并电话告知值班员",
                n.recipient, self.org.cac, reference
            );
            self.store
                .mark_notice_reported(&self.scope, &inc.id, &n.id, &note, &self.responder)
                .await?;
        }
        Ok(())
    }
}
