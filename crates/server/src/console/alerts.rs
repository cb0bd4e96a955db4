//! Detection alerts in the console (MO.2.a, MO.3.c): the list with filters, an alert with its
//! triggering events, lifecycle, assignment, comments and suppression; suppressions and
//! alert webhooks. Every action goes through the API's permission checks.

use super::asset_control::Empty;
use super::Paged;
use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::alerts::{self as api, AlertQuery, NewSuppression};
use crate::api::event_searches::text_at;
use crate::error::ApiError;
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yunshou_model::Permission;
use yunshou_store::alerts::{
    Alert, AlertComment, AlertState, AlertUpdate, Entities, Resolution, Severity, TriggerEvent,
};
use yunshou_store::detection_settings::{AlertWebhook, Suppression};

/// Alerts per page.
const PAGE_SIZE: i64 = 50;

/// A time typed into the console — RFC 3339, `datetime-local` (`2026-05-01T08:00`) or a date
/// — as RFC 3339 (UTC); anything else is passed on for the API to refuse by name.
pub fn console_time(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if yunshou_store::parse_time(s).is_some() {
        return Some(s.to_string());
    }
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().to_rfc3339());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Some(t.and_utc().to_rfc3339());
        }
    }
    Some(s.to_string())
}

/// The label key of a severity.
fn sev_key(s: &Severity) -> String {
    format!("sev.{}", s.as_str())
}

/// Shared display helpers for alert pages.
pub trait AlertView {
    /// The layout.
    fn layout(&self) -> &Layout;

    /// A severity's label.
    fn sev(&self, s: &Severity) -> &'static str {
        self.layout().t.get(&sev_key(s))
    }

    /// A state's label.
    fn state(&self, s: &AlertState) -> &'static str {
        self.layout().t.get(&format!("det.state.{}", s.as_str()))
    }

    /// A stored time, shortened.
    fn time(&self, t: &str) -> String {
        short_time(t)
    }

    /// `source → destination`, when either is known.
    fn flow(&self, e: &Entities) -> String {
        match (&e.source_ip, &e.destination_ip) {
            (Some(s), Some(d)) => format!("{s} → {d}"),
            (Some(s), None) => format!("{s} →"),
            (None, Some(d)) => format!("→ {d}"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AlertsForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    offset: Option<i64>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    l: Layout,
    f: AlertsForm,
    alerts: Vec<Alert>,
    total: i64,
    offset: i64,
    error: Option<String>,
}

impl AlertView for AlertsPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl super::Paged for AlertsPage {
    fn offset(&self) -> i64 {
        self.offset
    }
    fn total(&self) -> i64 {
        self.total
    }
    fn page_size(&self) -> i64 {
        PAGE_SIZE
    }
    fn page_link(&self, offset: i64) -> String {
        let f = &self.f;
        let offset = offset.max(0).to_string();
        let pairs = [
            ("status", f.status.as_str()),
            ("severity", &f.severity),
            ("rule", &f.rule),
            ("entity", &f.entity),
            ("from", &f.from),
            ("to", &f.to),
            ("assignee", &f.assignee),
            ("offset", &offset),
        ];
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/alerts?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

/// `GET /alerts`: alerts with filters; open ones by default.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
    Query(mut f): Query<AlertsForm>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AlertsRead)?.clone();
    let offset = f.offset.unwrap_or(0).max(0);
    if f.status.is_empty() && f.offset.is_none() && f.severity.is_empty() {
        f.status = "open".into();
    }
    let q = AlertQuery {
        status: Some(f.status.clone()).filter(|s| s != "all"),
        severity: Some(f.severity.clone()),
        rule: Some(f.rule.clone()),
        entity: Some(f.entity.clone()),
        from: console_time(&f.from),
        to: console_time(&f.to),
        assignee: Some(f.assignee.clone()),
        limit: Some(PAGE_SIZE),
        offset: Some(offset),
    };
    let mut error = None;
    let (alerts, total) = match q.filter().and_then(|filter| Ok((filter, q.page()?))) {
        Ok((filter, pg)) => state.store.alerts(&scope, &filter, pg).await?,
        Err(e) => {
            error = Some(e.detail);
            (vec![], 0)
        }
    };
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        AlertsPage {
            l,
            f,
            alerts,
            total,
            offset,
            error,
        }
        .render()?,
    ))
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    l: Layout,
    alert: Alert,
    events: Vec<TriggerEvent>,
    comments: Vec<AlertComment>,
    can_manage: bool,
    /// May open an incident from it.
    can_incident: bool,
    /// (kind, value) of every entity, for the suppression form.
    entity_values: Vec<(&'static str, String)>,
    expires_default: String,
}

impl AlertView for AlertPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl AlertPage {
    fn pretty(&self, e: &TriggerEvent) -> String {
        serde_json::to_string_pretty(&e.event).unwrap_or_default()
    }
    /// Event-search pivots for an event: (field, value, link).
    fn pivots(&self, e: &TriggerEvent) -> Vec<(&'static str, String, String)> {
        [
            "source.ip",
            "destination.ip",
            "host.name",
            "host.hostname",
            "user.name",
        ]
        .into_iter()
        .filter_map(|field| {
            let v = text_at(&e.event, field);
            if v.is_empty() {
                return None;
            }
            let q = format!("{field}:\"{}\"", v.replace('"', "\\\""));
            let link = format!(
                "/events?{}",
                serde_urlencoded::to_string([("q", q.as_str()), ("hours", "720")])
                    .unwrap_or_default()
            );
            Some((field, v, link))
        })
        .collect()
    }
    fn may_become(&self, to: &str) -> bool {
        AlertState::parse(to).is_some_and(|to| self.alert.status.may_become(to))
    }
    fn resolution(&self, r: &Resolution) -> &'static str {
        self.l.t.get(&format!("det.resolution.{}", r.as_str()))
    }
    fn first_entity_kind(&self) -> &str {
        self.entity_values.first().map(|e| e.0).unwrap_or("host")
    }
    fn first_entity_value(&self) -> &str {
        self.entity_values
            .first()
            .map(|e| e.1.as_str())
            .unwrap_or("")
    }
}

fn entity_values(e: &Entities) -> Vec<(&'static str, String)> {
    let mut out = vec![];
    for (kind, v) in [
        ("source_ip", &e.source_ip),
        ("host", &e.host),
        ("user", &e.user),
        ("destination_ip", &e.destination_ip),
    ] {
        if let Some(v) = v {
            out.push((kind, v.clone()));
        }
    }
    out.extend(e.assets.iter().map(|a| ("asset", a.id.clone())));
    out
}

/// `GET /alerts/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AlertsRead)?.clone();
    let d = state.store.alert(&scope, &id).await?;
    let can_manage = l.p.can(Permission::AlertsManage);
    let can_incident = l.p.can(Permission::IncidentsManage);
    let expires_default = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    let entity_values = entity_values(&d.alert.entities);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        AlertPage {
            l,
            alert: d.alert,
            events: d.events,
            comments: d.comments,
            can_manage,
            can_incident,
            entity_values,
            expires_default,
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    resolution: String,
}

/// `POST /alerts/{id}/status`: acknowledge, investigate, close (with a resolution), reopen.
pub async fn set_status(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<StatusForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/alerts/{id}");
    let status = AlertState::parse(&f.form.status)
        .ok_or_else(|| ConsoleError::Back(back.clone(), format!("status: {}?", f.form.status)))?;
    let resolution = match f.form.resolution.as_str() {
        "" => None,
        r => Some(
            Resolution::parse(r)
                .ok_or_else(|| ConsoleError::Back(back.clone(), format!("resolution: {r}?")))?,
        ),
    };
    let update = AlertUpdate {
        status: Some(status),
        resolution: resolution.filter(|_| status == AlertState::Closed),
        assignee: None,
    };
    api::update(&state, &f.layout.p, &id, &update)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("det.updated")))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
}

/// `POST /alerts/{id}/assign`: assigns (or, empty, unassigns) the alert.
pub async fn assign(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<AssignForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/alerts/{id}");
    let update = AlertUpdate {
        assignee: Some(f.form.assignee.trim().to_string()),
        ..Default::default()
    };
    api::update(&state, &f.layout.p, &id, &update)
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("det.assigned")))
}

#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

/// `POST /alerts/{id}/comments`.
pub async fn comment(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<CommentForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/alerts/{id}");
    // The same permission as `POST /api/v1/alerts/{id}/comments`.
    let scope = f.layout.p.require(Permission::AlertsManage)?;
    state
        .store
        .comment_alert(scope, &id, &f.form.body, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("det.commented")))
}

#[derive(Deserialize)]
pub struct SuppressForm {
    entity: String,
    value: String,
    reason: String,
    /// A date (the suppression ends at its end, UTC) or an RFC 3339 time.
    expires: String,
}

/// `POST /alerts/{id}/suppress`: suppresses this alert's rule for an entity.
pub async fn suppress(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<SuppressForm>,
) -> Result<Response, ConsoleError> {
    let back = format!("/alerts/{id}");
    let scope = f.layout.p.require(Permission::AlertsRead)?;
    let alert = state.store.alert(scope, &id).await?.alert;
    let expires = f.form.expires.trim();
    let expires_at = match chrono::NaiveDate::parse_from_str(expires, "%Y-%m-%d") {
        Ok(d) => d
            .and_hms_opt(23, 59, 59)
            .map(|t| t.and_utc().to_rfc3339())
            .unwrap_or_default(),
        Err(_) => console_time(expires).unwrap_or_default(),
    };
    api::suppress(
        &state,
        &f.layout.p,
        &NewSuppression {
            rule_id: Some(alert.rule_id),
            entity: f.form.entity.clone(),
            value: f.form.value.trim().to_string(),
            reason: f.form.reason.clone(),
            expires_at,
        },
    )
    .await
    .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("det.suppressed")))
}

#[derive(Template)]
#[template(path = "alert_settings.html")]
struct SettingsPage {
    l: Layout,
    suppressions: Vec<Suppression>,
    webhooks: Option<Vec<AlertWebhook>>,
    can_manage: bool,
    now: String,
}

impl AlertView for SettingsPage {
    fn layout(&self) -> &Layout {
        &self.l
    }
}

impl SettingsPage {
    fn active(&self, s: &Suppression) -> bool {
        s.expires_at > self.now
    }
    fn entity(&self, kind: &str) -> &'static str {
        self.l.t.get(&format!("det.entity.{kind}"))
    }
}

/// `GET /alerts/settings`: suppressions, and alert webhooks for those who manage rules.
pub async fn settings(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AlertsRead)?.clone();
    let suppressions = state.store.suppressions(&scope).await?;
    let webhooks = if l.p.can(Permission::RulesManage) {
        Some(state.store.alert_webhooks(&scope).await?)
    } else {
        None
    };
    let can_manage = l.p.can(Permission::AlertsManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        SettingsPage {
            l,
            suppressions,
            webhooks,
            can_manage,
            now: yunshou_store::time_text(chrono::Utc::now()),
        }
        .render()?,
    ))
}

/// `POST /alerts/suppressions/{id}/end`: ends a suppression now.
pub async fn end_suppression(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    // The same permission as `DELETE /api/v1/alerts/suppressions/{id}`.
    let scope = f.layout.p.require(Permission::AlertsManage)?;
    state
        .store
        .end_suppression(scope, &id, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/alerts/settings"))?;
    Ok(done(
        "/alerts/settings",
        f.layout.t.get("det.suppression_ended"),
    ))
}

#[derive(Deserialize)]
pub struct WebhookForm {
    url: String,
    #[serde(default)]
    min_severity: String,
}

/// `POST /alerts/webhooks`: posts new alerts to a URL.
pub async fn add_webhook(
    State(state): State<AppState>,
    f: ConsoleForm<WebhookForm>,
) -> Result<Response, ConsoleError> {
    let back = "/alerts/settings";
    // The same permission as `POST /api/v1/alerts/webhooks`.
    let scope = f.layout.p.require(Permission::RulesManage)?;
    let min = match f.form.min_severity.as_str() {
        "" => Severity::Medium,
        s => Severity::parse(s).ok_or_else(|| {
            ConsoleError::from(ApiError::bad_request(format!("min_severity: {s}?")))
        })?,
    };
    state
        .store
        .add_alert_webhook(scope, f.form.url.trim(), min, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back(back))?;
    Ok(done(back, f.layout.t.get("det.webhook_added")))
}

/// `POST /alerts/webhooks/{id}/delete`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::RulesManage)?;
    state
        .store
        .delete_alert_webhook(scope, &id, &f.layout.p.actor())
        .await
        .map_err(ConsoleError::back("/alerts/settings"))?;
    Ok(done(
        "/alerts/settings",
        f.layout.t.get("det.webhook_removed"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_times_become_rfc3339() {
        assert_eq!(console_time(""), None);
        assert_eq!(
            console_time("2026-05-01T08:30").as_deref(),
            Some("2026-05-01T08:30:00+00:00")
        );
        assert_eq!(
            console_time("2026-05-01").as_deref(),
            Some("2026-05-01T00:00:00+00:00")
        );
        assert_eq!(
            console_time("2026-05-01T08:30:00Z").as_deref(),
            Some("2026-05-01T08:30:00Z")
        );
        assert_eq!(console_time("yesterday").as_deref(), Some("yesterday"));
        // The vocabularies the templates offer.
        for s in ["informational", "low", "medium", "high", "critical"] {
            assert_eq!(Severity::parse(s).map(Severity::as_str), Some(s));
        }
        for s in ["new", "acknowledged", "investigating", "closed"] {
            assert_eq!(AlertState::parse(s).map(AlertState::as_str), Some(s));
        }
        for s in ["true_positive", "false_positive", "benign"] {
            assert_eq!(Resolution::parse(s).map(Resolution::as_str), Some(s));
        }
    }
}
