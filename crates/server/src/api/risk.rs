//! Threats and risk (I.2, I.3.b–c): the threat catalog with computed frequency, the risk
//! register with treatment, the heat map, the trend, and the periodic analysis report.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_model::Permission;
use yunshou_store::risks::{HeatMap, Risk, RiskFields, TrendPoint};
use yunshou_store::threats::{Threat, ThreatFields};

/// The threat catalog, highest frequency first.
#[utoipa::path(get, path = "/api/v1/threats", tag = "risk",
    responses((status = 200, body = Vec<Threat>), (status = 403, body = Problem)))]
pub async fn list_threats(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<Threat>>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.threats(scope).await?))
}

/// Add a threat; its frequency is computed from the tenant's alerts at once.
#[utoipa::path(post, path = "/api/v1/threats", tag = "risk", request_body = ThreatFields,
    responses((status = 201, body = Threat), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn create_threat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(fields): ApiJson<ThreatFields>,
) -> ApiResult<(StatusCode, Json<Threat>)> {
    let scope = p.require(Permission::RiskManage)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_threat(scope, fields, &p.actor()).await?),
    ))
}

/// One threat.
#[utoipa::path(get, path = "/api/v1/threats/{id}", tag = "risk", params(("id" = String, Path)),
    responses((status = 200, body = Threat), (status = 404, body = Problem)))]
pub async fn get_threat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Threat>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.threat(scope, &id).await?))
}

/// Replace a threat's fields; its frequency and its risks are recomputed.
#[utoipa::path(put, path = "/api/v1/threats/{id}", tag = "risk", params(("id" = String, Path)), request_body = ThreatFields,
    responses((status = 200, body = Threat), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn put_threat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(fields): ApiJson<ThreatFields>,
) -> ApiResult<Json<Threat>> {
    let scope = p.require(Permission::RiskManage)?;
    Ok(Json(
        state
            .store
            .update_threat(scope, &id, fields, &p.actor())
            .await?,
    ))
}

/// Remove a threat no risk refers to.
#[utoipa::path(delete, path = "/api/v1/threats/{id}", tag = "risk", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_threat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::RiskManage)?;
    state.store.delete_threat(scope, &id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a refresh changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refreshed {
    /// Threats whose frequency level changed.
    pub changed: usize,
}

/// Recompute every threat's frequency from the last half-year of alerts, then reassess
/// the open risks.
#[utoipa::path(post, path = "/api/v1/threats/refresh", tag = "risk",
    responses((status = 200, body = Refreshed), (status = 403, body = Problem)))]
pub async fn refresh_threats(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Refreshed>> {
    let scope = p.require(Permission::RiskManage)?;
    let changed = state.store.refresh_threats(scope, &p.actor()).await?;
    Ok(Json(Refreshed { changed }))
}

/// Register filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RiskQuery {
    /// Include closed risks.
    #[serde(default)]
    pub closed: bool,
}

/// The risk register, highest level first.
#[utoipa::path(get, path = "/api/v1/risks", tag = "risk", params(RiskQuery),
    responses((status = 200, body = Vec<Risk>), (status = 403, body = Problem)))]
pub async fn list_risks(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<RiskQuery>,
) -> ApiResult<Json<Vec<Risk>>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.risks(scope, q.closed).await?))
}

/// Add a risk (asset × threat × vulnerability); it is assessed at once.
#[utoipa::path(post, path = "/api/v1/risks", tag = "risk", request_body = RiskFields,
    responses((status = 201, body = Risk), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_risk(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(fields): ApiJson<RiskFields>,
) -> ApiResult<(StatusCode, Json<Risk>)> {
    let scope = p.require(Permission::RiskManage)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_risk(scope, fields, &p.actor()).await?),
    ))
}

/// One risk with its assessment steps.
#[utoipa::path(get, path = "/api/v1/risks/{id}", tag = "risk", params(("id" = String, Path)),
    responses((status = 200, body = Risk), (status = 404, body = Problem)))]
pub async fn get_risk(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Risk>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.risk(scope, &id).await?))
}

/// Replace a risk's fields (treatment, owner, due date, residual level, status); it is
/// reassessed.
#[utoipa::path(put, path = "/api/v1/risks/{id}", tag = "risk", params(("id" = String, Path)), request_body = RiskFields,
    responses((status = 200, body = Risk), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn put_risk(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(fields): ApiJson<RiskFields>,
) -> ApiResult<Json<Risk>> {
    let scope = p.require(Permission::RiskManage)?;
    Ok(Json(
        state
            .store
            .update_risk(scope, &id, fields, &p.actor())
            .await?,
    ))
}

/// Open risks by likelihood × loss.
#[utoipa::path(get, path = "/api/v1/risks/heatmap", tag = "risk",
    responses((status = 200, body = HeatMap), (status = 403, body = Problem)))]
pub async fn heat_map(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<HeatMap>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.risk_heat_map(scope).await?))
}

/// Trend window.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// Days back (1–730, default 90).
    pub days: Option<u32>,
}

/// Open risks per level per day.
#[utoipa::path(get, path = "/api/v1/risks/trend", tag = "risk", params(TrendQuery),
    responses((status = 200, body = Vec<TrendPoint>), (status = 403, body = Problem)))]
pub async fn trend(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(
        state.store.risk_trend(scope, q.days.unwrap_or(90)).await?,
    ))
}

/// Reassess every open risk with the current inputs.
#[utoipa::path(post, path = "/api/v1/risks/reassess", tag = "risk",
    responses((status = 204, description = "Reassessed"), (status = 403, body = Problem)))]
pub async fn reassess(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::RiskManage)?;
    state.store.reassess_risks(scope, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `html` (default) or `csv`.
    pub format: Option<String>,
    /// Days the report covers (1–366, default 30).
    pub days: Option<u32>,
    /// `zh` (default) or `en`, for the HTML report.
    pub lang: Option<String>,
}

/// The periodic analysis report (I.3.c): findings and work orders over the period, SLA
/// performance, the risk register with treatments, the heat map and the trend — HTML to
/// read and print, or CSV (one row per risk) to process.
#[utoipa::path(get, path = "/api/v1/risks/report", tag = "risk", params(ReportQuery),
    responses((status = 200, description = "The report", content_type = "text/html"), (status = 400, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let lang = crate::i18n::Lang::from_code(q.lang.as_deref());
    report_response(
        &state,
        &p,
        q.format.as_deref().unwrap_or("html"),
        q.days.unwrap_or(30),
        lang,
    )
    .await
}

/// The report as a response, audited (`risk.report`); shared with the console.
pub async fn report_response(
    state: &AppState,
    p: &crate::auth::Principal,
    format: &str,
    days: u32,
    lang: crate::i18n::Lang,
) -> ApiResult<Response> {
    let scope = p.require(Permission::FindingsRead)?;
    if !(1..=366).contains(&days) {
        return Err(ApiError::bad_request("days: 1–366"));
    }
    if !matches!(format, "html" | "csv") {
        return Err(ApiError::bad_request("format: html or csv"));
    }
    let data = crate::risk_report::gather(&state.store, scope, &p.access.tenant.display_name, days)
        .await?;
    let body = if format == "csv" {
        crate::risk_report::csv(&data).map_err(ApiError::internal)?
    } else {
        crate::risk_report::html(&data, lang)
            .map_err(ApiError::internal)?
            .into_bytes()
    };
    let mut entry = p
        .actor()
        .entry(Some(scope.tenant_id()), "risk.report", "risk", None);
    entry.after = Some(serde_json::json!({ "format": format, "days": days }));
    state.store.audit(entry).await?;
    let stamp = chrono::Utc::now().format("%Y%m%d");
    let headers = if format == "csv" {
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"risk-register-{stamp}.csv\""),
            ),
        ]
    } else {
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, "inline".to_string()),
        ]
    };
    Ok((headers, body).into_response())
}
