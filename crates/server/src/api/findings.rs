//! Findings (I.3): import scanner reports and manual findings, list and group them, the
//! import history; the tenant's risk and SLA settings.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use crate::vuln_import::{self, ImportError};
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use std::io::{Seek, Write};
use utoipa::IntoParams;
use yunshou_model::finding::Severity;
use yunshou_model::Permission;
use yunshou_store::finding_import::ImportSummary;
use yunshou_store::findings::{
    Finding, FindingFilter, FindingGroup, FindingGrouping, FindingStatus,
};
use yunshou_store::vuln_settings::VulnSettings;

/// Largest report accepted over HTTP.
pub const REPORT_BODY_LIMIT: usize = 1 << 30;

/// Parameters of `POST /api/v1/findings/import`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// The format (`auto`, the default, recognises it from the name and content):
    /// `openvas-xml`, `openvas-csv`, `nessus`, `qualys-xml`, `nexpose-xml`, `nmap-xml`,
    /// `masscan-json`, `trivy-json`, `nuclei-json`, `sarif`, `wazuh-json`, `template-csv`.
    pub format: Option<String>,
    /// The report's file name (kept with the import; helps recognise the format).
    pub file_name: Option<String>,
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> ApiError {
        match e {
            ImportError::Store(e) => e.into(),
            ImportError::Io(e) => ApiError::bad_request(format!("file: {e}")),
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        }
    }
}

/// Spools an upload to an anonymous temporary file, so a slow client never holds the
/// store's writer while the import runs.
pub async fn spool(body: Body) -> ApiResult<std::fs::File> {
    let mut file = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("file: {e}")))?;
        size += chunk.len();
        if size > REPORT_BODY_LIMIT {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file: larger than 1 GiB",
            ));
        }
        file.write_all(&chunk).map_err(ApiError::internal)?;
    }
    if size == 0 {
        return Err(ApiError::bad_request("file: empty"));
    }
    file.rewind().map_err(ApiError::internal)?;
    Ok(file)
}

/// Imports a spooled report; shared with the console.
pub async fn import_file(
    state: &AppState,
    p: &Principal,
    format: Option<&str>,
    file_name: &str,
    file: std::fs::File,
) -> ApiResult<ImportSummary> {
    let scope = p.require(Permission::FindingsImport)?;
    let file_name = file_name.trim();
    let file_name = if file_name.is_empty() {
        "report"
    } else {
        file_name
    };
    if file_name.chars().count() > 255 || file_name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "file_name: at most 255 printable characters",
        ));
    }
    let (format, input) = {
        let name = file_name.to_string();
        let format = format.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            vuln_import::resolve_format(format.as_deref(), &name, Box::new(file))
        })
        .await
        .map_err(ApiError::internal)??
    };
    Ok(vuln_import::import_report(
        &state.store,
        scope,
        format,
        file_name,
        input,
        &p.actor(),
        &|_| {},
    )
    .await?)
}

/// Import a scanner report or a manual-findings CSV (the file is the request body). The
/// whole file is imported in one transaction: a file that cannot be parsed is refused with
/// 422 naming where and why, and nothing of it is kept.
#[utoipa::path(post, path = "/api/v1/findings/import", tag = "findings", params(ImportParams),
    request_body(content = String, description = "The report file", content_type = "application/octet-stream"),
    responses((status = 201, body = ImportSummary), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn import_findings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportSummary>)> {
    p.require(Permission::FindingsImport)?;
    let file = spool(body).await?;
    let name = params.file_name.unwrap_or_default();
    let out = import_file(&state, &p, params.format.as_deref(), &name, file).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Filters of `GET /api/v1/findings`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Statuses, comma-separated: `open`, `not_seen`, `fixed`, `accepted`, `false_positive`;
    /// `active` means open and not_seen.
    pub status: Option<String>,
    /// At least this tool severity: `info`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// At least this risk level, 1–5.
    pub risk_level: Option<u8>,
    /// On this asset (id).
    pub asset: Option<String>,
    /// Has this CVE.
    pub cve: Option<String>,
    /// Reported by this source (`nessus`, `openvas`, `manual` …).
    pub source: Option<String>,
    /// On assets of this business system (empty: assets with none).
    pub business_system: Option<String>,
    /// Text in the title or asset name.
    pub q: Option<String>,
    /// Known-exploited only (`true`) or none of them (`false`).
    pub known_exploited: Option<bool>,
    /// Page size, 1–1000.
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl FindingQuery {
    /// The store filter, validated.
    pub fn filter(&self) -> ApiResult<FindingFilter> {
        let mut status = vec![];
        for s in self.status.iter().flat_map(|s| s.split(',')).map(str::trim) {
            match s {
                "" => {}
                "active" => status.extend([FindingStatus::Open, FindingStatus::NotSeen]),
                other => status.push(FindingStatus::parse(other).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "status: {other}? (open, not_seen, fixed, accepted, false_positive, active)"
                    ))
                })?),
            }
        }
        let min_severity = match self.severity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                ApiError::bad_request("severity: info, low, medium, high or critical")
            })?),
        };
        if self.risk_level.is_some_and(|l| !(1..=5).contains(&l)) {
            return Err(ApiError::bad_request("risk_level: 1–5"));
        }
        if let Some(a) = text(&self.asset) {
            if !yunshou_model::ids::is_valid_id(&a) {
                return Err(ApiError::bad_request("asset: an asset id"));
            }
        }
        Ok(FindingFilter {
            status,
            min_severity,
            min_risk_level: self.risk_level,
            asset_id: text(&self.asset),
            cve: text(&self.cve),
            source: text(&self.source),
            business_system: self.business_system.as_ref().map(|b| b.trim().to_string()),
            text: text(&self.q),
            known_exploited: self.known_exploited,
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

/// Findings, the prioritised queue first (highest risk, then most recently seen).
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", params(FindingQuery),
    responses((status = 200, body = ListOf<Finding>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_findings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<ListOf<Finding>>> {
    let scope = p.require(Permission::FindingsRead)?;
    let (items, total) = state.store.findings(scope, &q.filter()?, q.page()?).await?;
    Ok(Json(ListOf { items, total }))
}

/// Matching findings grouped by asset, CVE or business system, largest group first.
#[utoipa::path(get, path = "/api/v1/findings/groups", tag = "findings", params(("by" = String, Query, description = "asset, cve or business_system"), FindingQuery),
    responses((status = 200, body = Vec<FindingGroup>), (status = 400, body = Problem)))]
pub async fn finding_groups(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Json<Vec<FindingGroup>>> {
    let scope = p.require(Permission::FindingsRead)?;
    // `flatten` and `deny_unknown_fields` do not mix in serde: read `by` apart.
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    let by = pairs
        .iter()
        .position(|(k, _)| k == "by")
        .map(|i| pairs.remove(i).1)
        .ok_or_else(|| ApiError::bad_request("by: asset, cve or business_system"))?;
    let by = FindingGrouping::parse(&by)
        .ok_or_else(|| ApiError::bad_request("by: asset, cve or business_system"))?;
    let rest = serde_urlencoded::to_string(&pairs).map_err(ApiError::internal)?;
    let q: FindingQuery = serde_urlencoded::from_str(&rest)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    Ok(Json(
        state.store.finding_groups(scope, &q.filter()?, by).await?,
    ))
}

/// One finding with its risk assessment and work order.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings", params(("id" = String, Path)),
    responses((status = 200, body = Finding), (status = 404, body = Problem)))]
pub async fn get_finding(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Finding>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.finding(scope, &id).await?))
}

/// Past imports, newest first.
#[utoipa::path(get, path = "/api/v1/findings/imports", tag = "findings",
    responses((status = 200, body = Vec<yunshou_store::finding_import::ImportRecord>), (status = 403, body = Problem)))]
pub async fn list_imports(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<yunshou_store::finding_import::ImportRecord>>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.finding_imports(scope, 200).await?))
}

/// The tenant's risk method and tables, SLA days, work-order threshold and notices.
#[utoipa::path(get, path = "/api/v1/vuln/settings", tag = "findings",
    responses((status = 200, body = VulnSettings), (status = 403, body = Problem)))]
pub async fn get_settings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<VulnSettings>> {
    let scope = p.require(Permission::FindingsRead)?;
    Ok(Json(state.store.vuln_settings(scope).await?))
}

/// Replace the settings (every reason they are refused is listed, one a line).
#[utoipa::path(put, path = "/api/v1/vuln/settings", tag = "findings", request_body = VulnSettings,
    responses((status = 200, body = VulnSettings), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(settings): ApiJson<VulnSettings>,
) -> ApiResult<Json<VulnSettings>> {
    let scope = p.require(Permission::RiskManage)?;
    state
        .store
        .set_vuln_settings(scope, &settings, &p.actor())
        .await?;
    Ok(Json(settings))
}
