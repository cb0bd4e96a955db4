//! Detection alerts (MO.2.a, MO.3.c): list with filters, detail, lifecycle and assignment,
//! comments; suppressions and alert webhooks.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use yunshou_model::Permission;
use yunshou_store::alerts::{
    Alert, AlertComment, AlertDetail, AlertFilter, AlertState, AlertUpdate, Severity,
};
use yunshou_store::detection_settings::{AlertWebhook, Suppression};

/// Filters of `GET /api/v1/alerts`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// States, comma-separated: `new,acknowledged,investigating,closed`; `open` means all
    /// but closed.
    pub status: Option<String>,
    /// At least this severity: `informational`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// Rule id.
    pub rule: Option<String>,
    /// Text in the entities: host, user, address, asset name, indicator.
    pub entity: Option<String>,
    /// Last seen at or after (RFC 3339).
    pub from: Option<String>,
    /// Last seen before (RFC 3339).
    pub to: Option<String>,
    /// Assignee (user name).
    pub assignee: Option<String>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

fn time_param(name: &str, v: &Option<String>) -> ApiResult<Option<String>> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => yunshou_store::parse_time(s)
            .map(|t| Some(yunshou_store::time_text(t)))
            .ok_or_else(|| ApiError::bad_request(format!("{name}: an RFC 3339 time"))),
    }
}

impl AlertQuery {
    /// The store filter, validated.
    pub fn filter(&self) -> ApiResult<AlertFilter> {
        let mut status = vec![];
        for s in self.status.iter().flat_map(|s| s.split(',')).map(str::trim) {
            match s {
                "" => {}
                "open" => status.extend([
                    AlertState::New,
                    AlertState::Acknowledged,
                    AlertState::Investigating,
                ]),
                other => status.push(AlertState::parse(other).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "status: {other}? (new, acknowledged, investigating, closed, open)"
                    ))
                })?),
            }
        }
        let min_severity = match self.severity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                ApiError::bad_request("severity: informational, low, medium, high or critical")
            })?),
        };
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(AlertFilter {
            status,
            min_severity,
            rule_id: text(&self.rule),
            entity: text(&self.entity),
            from: time_param("from", &self.from)?,
            to: time_param("to", &self.to)?,
            assignee: text(&self.assignee),
        })
    }

    /// The page.
    pub fn page(&self) -> ApiResult<yunshou_store::Page> {
        PageQuery {
            limit: self.limit,
            offset: self.offset,
        }
        .page()
    }
}

/// Alerts, most recently seen first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = ListOf<Alert>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<ListOf<Alert>>> {
    let scope = p.require(Permission::AlertsRead)?;
    let (items, total) = state.store.alerts(scope, &q.filter()?, q.page()?).await?;
    Ok(Json(ListOf { items, total }))
}

/// One alert with its triggering events and comments.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = AlertDetail), (status = 404, body = Problem)))]
pub async fn get_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<AlertDetail>> {
    let scope = p.require(Permission::AlertsRead)?;
    Ok(Json(state.store.alert(scope, &id).await?))
}

/// Moves an alert along its lifecycle or assigns it; shared with the console.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: &str,
    update: &AlertUpdate,
) -> ApiResult<Alert> {
    let scope = p.require(Permission::AlertsManage)?;
    Ok(state
        .store
        .update_alert(scope, id, update, &p.actor())
        .await?)
}

/// Change an alert's status (new → acknowledged → investigating → closed with a resolution;
/// a closed alert may be reopened) or assignee.
#[utoipa::path(patch, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)), request_body = AlertUpdate,
    responses((status = 200, body = Alert), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn patch_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<AlertUpdate>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(update(&state, &p, &id, &req).await?))
}

/// A comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Text (1–4000 characters).
    pub body: String,
}

/// Comment on an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/comments", tag = "alerts", params(("id" = String, Path)), request_body = NewComment,
    responses((status = 201, body = AlertComment), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn comment_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<AlertComment>)> {
    let scope = p.require(Permission::AlertsManage)?;
    let c = state
        .store
        .comment_alert(scope, &id, &req.body, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// A suppression to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuppression {
    /// The rule, or none for every rule.
    pub rule_id: Option<String>,
    /// `host`, `user`, `source_ip`, `destination_ip`, `ip` or `asset`.
    pub entity: String,
    /// The value.
    pub value: String,
    /// Why (required; audited).
    pub reason: String,
    /// Until when (RFC 3339), at most 90 days ahead.
    pub expires_at: String,
}

/// Adds a suppression; shared with the console.
pub async fn suppress(
    state: &AppState,
    p: &Principal,
    req: &NewSuppression,
) -> ApiResult<Suppression> {
    let scope = p.require(Permission::AlertsManage)?;
    let until = yunshou_store::parse_time(&req.expires_at)
        .ok_or_else(|| ApiError::bad_request("expires_at: an RFC 3339 time"))?;
    Ok(state
        .store
        .add_suppression(
            scope,
            req.rule_id.as_deref(),
            &req.entity,
            &req.value,
            &req.reason,
            until,
            &p.actor(),
        )
        .await?)
}

/// Suppressions (expired ones too), with how many detections each dropped.
#[utoipa::path(get, path = "/api/v1/alerts/suppressions", tag = "alerts",
    responses((status = 200, body = Vec<Suppression>), (status = 403, body = Problem)))]
pub async fn list_suppressions(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<Suppression>>> {
    let scope = p.require(Permission::AlertsRead)?;
    Ok(Json(state.store.suppressions(scope).await?))
}

/// Suppress a rule (or every rule) for an entity until a time.
#[utoipa::path(post, path = "/api/v1/alerts/suppressions", tag = "alerts", request_body = NewSuppression,
    responses((status = 201, body = Suppression), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_suppression(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<NewSuppression>,
) -> ApiResult<(StatusCode, Json<Suppression>)> {
    Ok((StatusCode::CREATED, Json(suppress(&state, &p, &req).await?)))
}

/// End a suppression now.
#[utoipa::path(delete, path = "/api/v1/alerts/suppressions/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 204, description = "Ended"), (status = 404, body = Problem)))]
pub async fn end_suppression(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::AlertsManage)?;
    state.store.end_suppression(scope, &id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where new alerts are posted (JSON, topic `alert.new`).
    pub url: String,
    /// Only alerts at least this severe (default `medium`).
    pub min_severity: Option<Severity>,
}

/// Alert webhooks.
#[utoipa::path(get, path = "/api/v1/alerts/webhooks", tag = "alerts",
    responses((status = 200, body = Vec<AlertWebhook>), (status = 403, body = Problem)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<AlertWebhook>>> {
    let scope = p.require(Permission::RulesManage)?;
    Ok(Json(state.store.alert_webhooks(scope).await?))
}

/// Post new alerts to a URL.
#[utoipa::path(post, path = "/api/v1/alerts/webhooks", tag = "alerts", request_body = NewWebhook,
    responses((status = 201, body = AlertWebhook), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<AlertWebhook>)> {
    let scope = p.require(Permission::RulesManage)?;
    let hook = state
        .store
        .add_alert_webhook(
            scope,
            &req.url,
            req.min_severity.unwrap_or(Severity::Medium),
            &p.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(hook)))
}

/// Remove an alert webhook.
#[utoipa::path(delete, path = "/api/v1/alerts/webhooks/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::RulesManage)?;
    state
        .store
        .delete_alert_webhook(scope, &id, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
