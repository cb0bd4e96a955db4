//! Threat-intelligence feeds (MO.1.b): import STIX 2.1, MISP JSON/CSV or plain CSV; list
//! with indicator and hit counts; remove. A feed that cannot be read is refused whole; bad
//! entries are reported one by one.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, IdPath};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_model::Permission;
use yunshou_store::detection_settings::IntelFeed;

/// Largest feed accepted (a million indicators in CSV fit).
pub const FEED_BODY_LIMIT: usize = 128 << 20;

/// Entries reported back at most.
const REJECTED_SHOWN: usize = 200;

/// Parameters of a feed import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// Feed name (replaces a feed of the same name).
    pub name: String,
    /// `stix`, `misp-json`, `misp-csv`, `csv` or `auto` (default).
    pub format: Option<String>,
}

/// An entry refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectedEntry {
    /// Line number or object id.
    pub location: String,
    /// Why.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedImport {
    /// The stored feed.
    pub feed: IntelFeed,
    /// Indicators loaded.
    pub indicators: usize,
    /// Entries refused (first 200 listed in `rejected`).
    pub rejected_count: usize,
    /// Refused entries.
    pub rejected: Vec<RejectedEntry>,
    /// Entries of kinds not matched (e.g. STIX `AND` patterns, e-mail attributes).
    pub unsupported: usize,
    /// Left out on purpose: revoked/deleted, not for detection, already expired.
    pub skipped: usize,
}

/// Imports a feed and reloads the tenant's indicators; shared with the console.
pub async fn import_feed(
    state: &AppState,
    p: &Principal,
    name: &str,
    format: Option<&str>,
    body: Bytes,
) -> ApiResult<FeedImport> {
    let scope = p.require(Permission::IntelManage)?;
    let format = match format.unwrap_or("auto") {
        "auto" | "" => yunshou_intel::detect_format(&body)
            .ok_or_else(|| ApiError::bad_request("file: empty"))?,
        other => crate::intel::format_of(other).ok_or_else(|| {
            ApiError::bad_request("format: stix, misp-json, misp-csv, csv or auto")
        })?,
    };
    let (data, feed_name) = (body.clone(), name.trim().to_string());
    let report = tokio::task::spawn_blocking(move || {
        yunshou_intel::import(&data, format, &feed_name, chrono::Utc::now())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::bad_request(format!("file: {e} (nothing imported)")))?;
    if report.indicators.is_empty() {
        let first = report
            .rejected
            .first()
            .map(|r| format!(" — {}: {}", r.location, r.reason))
            .unwrap_or_default();
        return Err(ApiError::bad_request(format!(
            "file: no usable indicators{first} (nothing imported)"
        )));
    }
    let feed = state
        .store
        .save_intel_feed(
            scope,
            name,
            crate::intel::format_name(format),
            &body,
            report.indicators.len() as i64,
            report.rejected.len() as i64,
            &p.actor(),
        )
        .await?;
    state
        .intel
        .rebuild(&state.store)
        .await
        .map_err(ApiError::internal)?;
    let s = &report.skipped;
    Ok(FeedImport {
        feed,
        indicators: report.indicators.len(),
        rejected_count: report.rejected.len(),
        rejected: report
            .rejected
            .iter()
            .take(REJECTED_SHOWN)
            .map(|r| RejectedEntry {
                location: r.location.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        unsupported: report.skipped_unsupported,
        skipped: s.revoked + s.not_for_detection + s.expired,
    })
}

/// Import a feed (the file is the request body).
#[utoipa::path(post, path = "/api/v1/intel/feeds", tag = "intel", params(FeedParams),
    request_body(content = String, description = "The feed file", content_type = "application/octet-stream"),
    responses((status = 201, body = FeedImport), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_feed(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(params): ApiQuery<FeedParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<FeedImport>)> {
    let out = import_feed(&state, &p, &params.name, params.format.as_deref(), body).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Feeds with indicator and hit counts.
#[utoipa::path(get, path = "/api/v1/intel/feeds", tag = "intel",
    responses((status = 200, body = Vec<IntelFeed>), (status = 403, body = Problem)))]
pub async fn list_feeds(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<IntelFeed>>> {
    let scope = p.require(Permission::AlertsRead)?;
    Ok(Json(state.store.intel_feeds(scope).await?))
}

/// Removes a feed and reloads the tenant's indicators; shared with the console.
pub async fn remove_feed(state: &AppState, p: &Principal, id: &str) -> ApiResult<()> {
    let scope = p.require(Permission::IntelManage)?;
    state.store.delete_intel_feed(scope, id, &p.actor()).await?;
    state
        .intel
        .rebuild(&state.store)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Remove a feed.
#[utoipa::path(delete, path = "/api/v1/intel/feeds/{id}", tag = "intel", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete_feed(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    remove_feed(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
