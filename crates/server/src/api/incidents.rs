//! Incidents (R.1, R.2): create (by hand, through the API, from alerts), list, read, patch
//! with the seven-phase state machine (409 for a skipped phase, 422 naming missing records),
//! links, observables, tasks, notices, improvement items, the response report and archive,
//! and the response metrics.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{check_id, ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::i18n::Lang;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_model::Permission;
use yunshou_respond::classification::Level;
use yunshou_respond::metrics::GroupMetrics;
use yunshou_respond::phases::Phase;
use yunshou_store::incident_parts::{IncidentDetail, NewLink};
use yunshou_store::incidents::{
    Incident, IncidentFilter, IncidentPatch, IncidentStatus, NewIncident, NewObservable,
};
use yunshou_store::response_plans::{ImprovementItem, NewImprovementItem};

/// Filters of `GET /api/v1/incidents`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// open | closed | archived.
    pub status: Option<IncidentStatus>,
    /// A phase.
    pub phase: Option<Phase>,
    /// I | II | III | IV.
    pub level: Option<Level>,
    /// Class code (NA, MP, DS …).
    pub category: Option<String>,
    /// Text in the title or description.
    pub q: Option<String>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "respond", params(IncidentQuery),
    responses((status = 200, body = ListOf<Incident>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> ApiResult<Json<ListOf<Incident>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page()?;
    let filter = IncidentFilter {
        status: q.status,
        phase: q.phase,
        level: q.level,
        category: q.category.clone(),
        text: q.q.clone(),
    };
    let (items, total) = state.store.incidents(scope, &filter, page).await?;
    Ok(Json(ListOf { items, total }))
}

/// Open an incident: by hand, or from one or many alerts (`alert_ids`; their assets and
/// addresses become links and observables, and they move to investigating).
#[utoipa::path(post, path = "/api/v1/incidents", tag = "respond", request_body = NewIncident,
    responses((status = 201, body = Incident), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(new): ApiJson<NewIncident>,
) -> ApiResult<(StatusCode, Json<Incident>)> {
    let scope = p.require(Permission::IncidentsManage)?;
    let source = if new.alert_ids.is_empty() {
        "api"
    } else {
        "alert"
    };
    let inc = state
        .store
        .create_incident(scope, &new, source, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(inc)))
}

/// An incident with its phases, links, observables, tasks, timeline, notices, improvement
/// items and what its current phase still lacks.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, body = IncidentDetail), (status = 404, body = Problem)))]
pub async fn get_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<IncidentDetail>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.incident_detail(scope, &id).await?))
}

/// Change an incident: fields, phase records (`records`), and one phase forward (`phase`)
/// or `status: closed` after a decision not to respond. A phase other than the next one is
/// 409; leaving a phase without its required records is 422, naming them. All or nothing.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "respond", params(("id" = String, Path)),
    request_body = IncidentPatch,
    responses((status = 200, body = Incident), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(patch): ApiJson<IncidentPatch>,
) -> ApiResult<Json<Incident>> {
    let scope = p.require(Permission::IncidentsManage)?;
    Ok(Json(
        state
            .store
            .update_incident(scope, &id, &patch, &p.actor())
            .await?,
    ))
}

/// Link an alert, asset, finding or event.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/links", tag = "respond", params(("id" = String, Path)),
    request_body = NewLink, responses((status = 204, description = "Linked"), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn add_link(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(link): ApiJson<NewLink>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::IncidentsManage)?;
    state
        .store
        .link_to_incident(scope, &id, &link, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record observables (IPs, domains, URLs, hashes, accounts, e-mail addresses).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/observables", tag = "respond", params(("id" = String, Path)),
    request_body = Vec<NewObservable>, responses((status = 204, description = "Recorded"), (status = 400, body = Problem),
        (status = 404, body = Problem)))]
pub async fn add_observables(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(list): ApiJson<Vec<NewObservable>>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::IncidentsManage)?;
    state
        .store
        .add_observables(scope, &id, &list, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A task to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// The phase it belongs to.
    pub phase: Phase,
    /// What to do.
    pub title: String,
    /// Who does it.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Add a task.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/tasks", tag = "respond", params(("id" = String, Path)),
    request_body = NewTask, responses((status = 201, body = String), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn add_task(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(t): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<String>)> {
    let scope = p.require(Permission::IncidentsManage)?;
    let task = state
        .store
        .add_incident_task(
            scope,
            &id,
            t.phase,
            &t.title,
            t.owner.as_deref(),
            &p.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// A task's state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDone {
    /// Done or not.
    pub done: bool,
}

/// Mark a task done (or not).
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/tasks/{task_id}", tag = "respond",
    params(("id" = String, Path), ("task_id" = String, Path)), request_body = TaskDone,
    responses((status = 204, description = "Changed"), (status = 404, body = Problem)))]
pub async fn patch_task(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, task_id)): Path<(String, String)>,
    ApiJson(t): ApiJson<TaskDone>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::IncidentsManage)?;
    check_id(&id, "id")?;
    check_id(&task_id, "task_id")?;
    state
        .store
        .set_task_done(scope, &id, &task_id, t.done, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a notice was given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    /// How, to whom, reference.
    pub note: String,
}

/// Record that a report owed to the authorities was made.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notices/{notice_id}/reported", tag = "respond",
    params(("id" = String, Path), ("notice_id" = String, Path)), request_body = Reported,
    responses((status = 204, description = "Recorded"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn notice_reported(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, notice_id)): Path<(String, String)>,
    ApiJson(r): ApiJson<Reported>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::IncidentsManage)?;
    check_id(&id, "id")?;
    check_id(&notice_id, "notice_id")?;
    state
        .store
        .mark_notice_reported(scope, &id, &notice_id, &r.note, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Raise an improvement item from the post-incident review.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/improvements", tag = "respond", params(("id" = String, Path)),
    request_body = NewImprovementItem,
    responses((status = 201, body = ImprovementItem), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn add_improvement(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(new): ApiJson<NewImprovementItem>,
) -> ApiResult<(StatusCode, Json<ImprovementItem>)> {
    let scope = p.require(Permission::IncidentsManage)?;
    let item = state
        .store
        .add_improvement_item(scope, "incident", &id, &new, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// Parameters of the report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// html (default) or pdf.
    pub format: Option<String>,
    /// zh (default) or en.
    pub lang: Option<String>,
}

/// The response report as it stands now (HTML or PDF with Chinese text embedded).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/report", tag = "respond", params(("id" = String, Path), ReportQuery),
    responses((status = 200, description = "The report", content_type = "text/html"), (status = 404, body = Problem),
        (status = 503, body = Problem, description = "No CJK font installed for the PDF")))]
pub async fn report(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let scope = p.require(Permission::IncidentsRead)?;
    let format = q.format.as_deref().unwrap_or("html");
    if !matches!(format, "html" | "pdf") {
        return Err(ApiError::bad_request("format: html or pdf"));
    }
    let lang = Lang::from_code(q.lang.as_deref());
    let tenant = p.access.tenant.display_name.clone();
    let doc = crate::respond::report::build(&state.store, scope, &tenant, &id, lang).await?;
    let mut entry = p.actor().entry(
        Some(scope.tenant_id()),
        "incident.report",
        "incident",
        Some(&id),
    );
    entry.after = Some(serde_json::json!({ "format": format }));
    state.store.audit(entry).await?;
    if format == "html" {
        let body = crate::respond::report::html(&doc, lang);
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response());
    }
    let responder = state.respond.clone();
    let pdf = tokio::task::spawn_blocking(move || crate::respond::report::pdf(&doc, &responder))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok(pdf_response(pdf, &format!("incident-{id}.pdf")))
}

fn pdf_response(pdf: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        pdf,
    )
        .into_response()
}

/// Archive the incident (from optimisation with lessons and every improvement item closed,
/// or a closed one): its report is rendered in HTML and PDF and frozen with it, and it
/// becomes read-only.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/archive", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, body = Incident), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn archive(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Incident>> {
    let scope = p.require(Permission::IncidentsManage)?;
    let tenant = p.access.tenant.display_name.clone();
    crate::respond::report::archive(
        &state.store,
        &state.respond,
        scope,
        &tenant,
        &id,
        &p.actor(),
    )
    .await
    .map(Json)
    .map_err(|e| match e {
        crate::respond::report::ArchiveError::Store(e) => e.into(),
        crate::respond::report::ArchiveError::Pdf(m) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, m)
        }
    })
}

/// The report frozen when the incident was archived (`html` or `pdf`), with its digests in
/// `X-Content-SHA256` and `X-Content-SM3`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/archive/{format}", tag = "respond",
    params(("id" = String, Path), ("format" = String, Path)),
    responses((status = 200, description = "The archived report"), (status = 404, body = Problem)))]
pub async fn archived_report(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, format)): Path<(String, String)>,
) -> ApiResult<Response> {
    let scope = p.require(Permission::IncidentsRead)?;
    check_id(&id, "id")?;
    let content_type = match format.as_str() {
        "html" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        _ => return Err(ApiError::bad_request("format: html or pdf")),
    };
    let (bytes, sha256, sm3) = state.store.archived_report(scope, &id, &format).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::HeaderName::from_static("x-content-sha256"), sha256),
            (header::HeaderName::from_static("x-content-sm3"), sm3),
        ],
        bytes,
    )
        .into_response())
}

/// Response metrics: per level and per category.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseMetrics {
    /// Per level I–IV (and `unrated`).
    pub by_level: Vec<GroupMetrics>,
    /// Per class code (and `unclassified`).
    pub by_category: Vec<GroupMetrics>,
}

/// Computes the tenant's response metrics; shared with the console.
pub async fn metrics_of(
    store: &yunshou_store::Store,
    scope: &yunshou_store::TenantScope,
) -> yunshou_store::Result<ResponseMetrics> {
    let rows = store.incident_durations(scope).await?;
    let by_level_items: Vec<(String, _)> = rows
        .iter()
        .map(|(l, _, d)| (l.clone().unwrap_or_else(|| "unrated".into()), *d))
        .collect();
    let by_cat_items: Vec<(String, _)> = rows
        .iter()
        .map(|(_, c, d)| (c.clone().unwrap_or_else(|| "unclassified".into()), *d))
        .collect();
    let cats: Vec<&str> = yunshou_respond::classification::CATEGORIES
        .iter()
        .map(|c| c.code)
        .chain(["unclassified"])
        .collect();
    Ok(ResponseMetrics {
        by_level: yunshou_respond::metrics::summarise(
            &["I", "II", "III", "IV", "unrated"],
            &by_level_items,
        ),
        by_category: yunshou_respond::metrics::summarise(&cats, &by_cat_items),
    })
}

/// Time to detect, acknowledge, contain and recover (minutes), per level and category.
#[utoipa::path(get, path = "/api/v1/incidents/metrics", tag = "respond",
    responses((status = 200, body = ResponseMetrics), (status = 403, body = Problem)))]
pub async fn metrics(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ResponseMetrics>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(metrics_of(&state.store, scope).await?))
}
