//! Work orders (I.3.c): list, detail, actions (one or in bulk, all or none), comments,
//! attachments, the SLA dashboard's numbers.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use yunshou_model::work_order::WorkOrderState;
use yunshou_model::Permission;
use yunshou_store::work_orders::{
    Attachment, SlaStats, WorkOrder, WorkOrderChange, WorkOrderDetail, WorkOrderFilter,
    MAX_ATTACHMENT_BYTES,
};

/// Filters of `GET /api/v1/work-orders`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderQuery {
    /// States, comma-separated: `notified`, `accepted`, `fixing`, `retest`, `closed`;
    /// `open` means all but closed.
    pub state: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Only overdue (`true`) or only not overdue (`false`).
    pub overdue: Option<bool>,
    /// At least this risk level, 1–5.
    pub risk_level: Option<u8>,
    /// On this asset (id).
    pub asset: Option<String>,
    /// Text in the title or asset name.
    pub q: Option<String>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

impl WorkOrderQuery {
    /// The store filter, validated.
    pub fn filter(&self) -> ApiResult<WorkOrderFilter> {
        let mut state = vec![];
        for s in self.state.iter().flat_map(|s| s.split(',')).map(str::trim) {
            match s {
                "" => {}
                "open" => state.extend(WorkOrderState::ALL.into_iter().filter(|s| s.is_open())),
                other => state.push(WorkOrderState::parse(other).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "state: {other}? (notified, accepted, fixing, retest, closed, open)"
                    ))
                })?),
            }
        }
        if self.risk_level.is_some_and(|l| !(1..=5).contains(&l)) {
            return Err(ApiError::bad_request("risk_level: 1–5"));
        }
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(WorkOrderFilter {
            state,
            assignee: text(&self.assignee),
            overdue: self.overdue,
            min_risk_level: self.risk_level,
            asset_id: text(&self.asset),
            text: text(&self.q),
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

/// Work orders, most urgent first (open before closed, then by due date).
#[utoipa::path(get, path = "/api/v1/work-orders", tag = "findings", params(WorkOrderQuery),
    responses((status = 200, body = ListOf<WorkOrder>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_work_orders(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<WorkOrderQuery>,
) -> ApiResult<Json<ListOf<WorkOrder>>> {
    let scope = p.require(Permission::FindingsRead)?;
    let (items, total) = state
        .store
        .work_orders(scope, &q.filter()?, q.page()?)
        .await?;
    Ok(Json(ListOf { items, total }))
}

/// One work order with its finding, full history and attachments.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}", tag = "findings", params(("id" = String, Path)),
    responses((status = 200, body = WorkOrderDetail), (status = 404, body = Problem)))]
pub async fn get_work_order(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<WorkOrderDetail>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.work_order(scope, &id).await?))
}

/// Checks the permission a change needs: verdicts and assignment need `WorkOrdersVerify`,
/// the fixer's steps `WorkOrdersWork`.
fn permission_for(change: &WorkOrderChange) -> Permission {
    if change.assignee.is_some() || change.action.is_some_and(|a| a.is_verdict()) {
        Permission::WorkOrdersVerify
    } else {
        Permission::WorkOrdersWork
    }
}

/// Applies a change to several orders, all or none; shared with the console.
pub async fn change_orders(
    state: &AppState,
    p: &Principal,
    ids: &[String],
    change: &WorkOrderChange,
) -> ApiResult<Vec<WorkOrder>> {
    let scope = p.require(permission_for(change))?;
    if let Some(bad) = ids.iter().find(|i| !yunshou_model::ids::is_valid_id(i)) {
        return Err(ApiError::bad_request(format!("ids: `{bad}` is not an id")));
    }
    state
        .store
        .change_work_orders(scope, ids, change, &p.actor())
        .await
        .map_err(|errors| {
            let conflict = errors.iter().any(|(_, e)| {
                matches!(
                    e,
                    yunshou_store::Error::Conflict(_) | yunshou_store::Error::NotFound
                )
            });
            let text = errors
                .iter()
                .map(|(id, e)| match (id.is_empty(), e) {
                    (true, e) => e.to_string(),
                    (false, yunshou_store::Error::NotFound) => format!("{id}: not found"),
                    (false, e) => format!("{id}: {e}"),
                })
                .collect::<Vec<_>>()
                .join("\n");
            let status = if errors.len() == 1 && errors[0].0.is_empty() {
                StatusCode::BAD_REQUEST
            } else if ids.len() == 1 && matches!(errors[0].1, yunshou_store::Error::NotFound) {
                StatusCode::NOT_FOUND
            } else if conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            ApiError::new(status, text)
        })
}

/// Move a work order on (`action` with `note`) and/or assign it. A step out of order, or
/// closing as fixed without a retest, is refused with 409 naming the state.
#[utoipa::path(patch, path = "/api/v1/work-orders/{id}", tag = "findings", params(("id" = String, Path)),
    request_body = WorkOrderChange,
    responses((status = 200, body = WorkOrder), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_work_order(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(change): ApiJson<WorkOrderChange>,
) -> ApiResult<Json<WorkOrder>> {
    let mut out = change_orders(&state, &p, &[id], &change).await?;
    out.pop().map(Json).ok_or_else(ApiError::not_found)
}

/// A bulk change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkChange {
    /// The orders (1–1000).
    pub ids: Vec<String>,
    /// The change applied to each.
    #[serde(flatten)]
    pub change: WorkOrderChange,
}

/// Apply one change to many orders in one transaction: if any is refused, none changes and
/// the answer lists each refusal, one a line.
#[utoipa::path(post, path = "/api/v1/work-orders/bulk", tag = "findings", request_body = BulkChange,
    responses((status = 200, body = Vec<WorkOrder>), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn bulk_change(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(bulk): ApiJson<serde_json::Value>,
) -> ApiResult<Json<Vec<WorkOrder>>> {
    // `flatten` cannot refuse unknown fields: split the object by hand.
    let mut obj = match bulk {
        serde_json::Value::Object(o) => o,
        _ => {
            return Err(ApiError::bad_request(
                "body: an object with ids and the change",
            ))
        }
    };
    let ids: Vec<String> = serde_json::from_value(obj.remove("ids").unwrap_or_default())
        .map_err(|_| ApiError::bad_request("ids: a list of work-order ids"))?;
    let change: WorkOrderChange = serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(change_orders(&state, &p, &ids, &change).await?))
}

/// A comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Text (up to 10,000 characters).
    pub body: String,
}

/// Comment on a work order.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/comments", tag = "findings", params(("id" = String, Path)),
    request_body = NewComment, responses((status = 204, description = "Added"), (status = 404, body = Problem)))]
pub async fn comment_work_order(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(c): ApiJson<NewComment>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::WorkOrdersWork)?;
    state
        .store
        .comment_work_order(scope, &id, &c.body, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parameters of an attachment upload.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttachParams {
    /// File name.
    pub name: String,
}

/// Attach a file (the request body; up to 20 MiB). SHA-256 and SM3 are taken at intake.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/attachments", tag = "findings", params(("id" = String, Path), AttachParams),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn attach(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<AttachParams>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let scope = p.require(Permission::WorkOrdersWork)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let att = state
        .store
        .attach_to_work_order(scope, &id, &params.name, content_type, &body, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(att)))
}

/// Serves an attachment as a download (never rendered inline: it is user content).
pub async fn attachment_response(
    state: &AppState,
    p: &Principal,
    id: &str,
    att_id: &str,
) -> ApiResult<Response> {
    let scope = p.require(Permission::FindingsRead)?;
    if !yunshou_model::ids::is_valid_id(id) || !yunshou_model::ids::is_valid_id(att_id) {
        return Err(ApiError::bad_request("id: not a valid identifier"));
    }
    let (att, data) = state.store.work_order_attachment(scope, id, att_id).await?;
    let ascii: String = att
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                    percent(&att.name)
                ),
            ),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff".into(),
            ),
        ],
        data,
    )
        .into_response())
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Download an attachment.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}/attachments/{attachment}", tag = "findings",
    params(("id" = String, Path), ("attachment" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = Problem)))]
pub async fn get_attachment(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, att)): Path<(String, String)>,
) -> ApiResult<Response> {
    attachment_response(&state, &p, &id, &att).await
}

/// The SLA dashboard's numbers: open orders by state and risk level, overdue, due soon,
/// closed and fixed on time in the last 30 days.
#[utoipa::path(get, path = "/api/v1/work-orders/sla", tag = "findings",
    responses((status = 200, body = SlaStats), (status = 403, body = Problem)))]
pub async fn sla(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<SlaStats>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.sla_stats(scope).await?))
}

/// Largest attachment body (the route's limit).
pub const ATTACHMENT_BODY_LIMIT: usize = MAX_ATTACHMENT_BYTES + 1024;
