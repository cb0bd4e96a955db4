//! Browsing, exporting and verifying the audit trail.

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, IdPath, ListOf};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_model::{AuditRecord, Permission};
use yunshou_store::{AuditFilter, Page, TenantScope};

/// Filters of the audit trail.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Actor name contains this.
    pub actor: Option<String>,
    /// Action starts with this, e.g. `auth.` or `user.create`.
    pub action: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// From this time (RFC 3339, or a date `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Until this time, exclusive (RFC 3339, or a date `YYYY-MM-DD`).
    pub to: Option<String>,
    /// Page size, 1–1000 (default 50).
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Export format: `csv` or `json` (export only).
    pub format: Option<String>,
}

fn parse_bound(field: &str, v: &str) -> ApiResult<String> {
    if let Some(t) = yunshou_store::parse_time(v) {
        return Ok(yunshou_store::time_text(t));
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| yunshou_store::time_text(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{field}: expected RFC 3339 time or YYYY-MM-DD, got `{v}`"
            ))
        })
}

impl AuditQuery {
    /// The validated filter and page.
    pub fn filter(&self) -> ApiResult<(AuditFilter, Page)> {
        let nonempty = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if let Some(o) = nonempty(&self.outcome) {
            if o != "success" && o != "failure" {
                return Err(ApiError::bad_request(
                    "outcome: must be `success` or `failure`",
                ));
            }
        }
        let too_long = [&self.actor, &self.action]
            .iter()
            .any(|v| v.as_ref().is_some_and(|s| s.len() > 200));
        if too_long {
            return Err(ApiError::bad_request(
                "actor/action: at most 200 characters",
            ));
        }
        let filter = AuditFilter {
            actor: nonempty(&self.actor),
            action: nonempty(&self.action),
            outcome: nonempty(&self.outcome),
            from: nonempty(&self.from)
                .map(|v| parse_bound("from", &v))
                .transpose()?,
            to: nonempty(&self.to)
                .map(|v| parse_bound("to", &v))
                .transpose()?,
        };
        let page = crate::extract::PageQuery {
            limit: self.limit,
            offset: self.offset,
        }
        .page()?;
        Ok((filter, page))
    }
}

/// The tenant's audit records, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = ListOf<AuditRecord>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_audit(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<ListOf<AuditRecord>>> {
    let scope = p.require(Permission::AuditRead)?;
    let (filter, page) = q.filter()?;
    let (items, total) = state.store.audit_list(scope, &filter, page).await?;
    Ok(Json(ListOf { items, total }))
}

/// One audit record of the tenant.
#[utoipa::path(get, path = "/api/v1/audit/{id}", tag = "audit", params(("id" = String, Path)),
    responses((status = 200, body = AuditRecord), (status = 404, body = Problem)))]
pub async fn get_audit(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<AuditRecord>> {
    let scope = p.require(Permission::AuditRead)?;
    Ok(Json(state.store.audit_get(scope, &id).await?))
}

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array.
    Json,
}

/// Streams the tenant's matching records, oldest first, and records the export itself.
pub async fn export_response(
    state: &AppState,
    p: &Principal,
    q: &AuditQuery,
) -> ApiResult<Response> {
    let scope = p.require(Permission::AuditExport)?.clone();
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => ExportFormat::Csv,
        "json" => ExportFormat::Json,
        other => {
            return Err(ApiError::bad_request(format!(
                "format: must be `csv` or `json`, got `{other}`"
            )))
        }
    };
    let (filter, _) = q.filter()?;
    let mut entry = p
        .actor()
        .entry(Some(scope.tenant_id()), "audit.export", "audit_log", None);
    entry.after = Some(serde_json::json!({
        "format": if format == ExportFormat::Csv { "csv" } else { "json" },
        "actor": filter.actor, "action": filter.action, "outcome": filter.outcome, "from": filter.from, "to": filter.to,
    }));
    state.store.audit(entry).await?;
    let (content_type, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Json => ("application/json", "json"),
    };
    let body = Body::from_stream(export_stream(state.clone(), scope, filter, format));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"yunshou-audit.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

const CSV_HEADER: [&str; 15] = [
    "seq",
    "id",
    "at",
    "tenant_id",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "source_ip",
    "outcome",
    "prev_hash",
    "hash",
];

/// Neutralises spreadsheet formulas: a cell starting with `=`, `+`, `-` or `@` gets a quote.
pub(crate) fn csv_cell(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

fn encode_page(
    records: &[AuditRecord],
    format: ExportFormat,
    first: bool,
) -> Result<bytes::Bytes, std::io::Error> {
    match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if first {
                w.write_record(CSV_HEADER)?;
            }
            for r in records {
                let o = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or(""));
                w.write_record([
                    r.seq.to_string(),
                    r.id.clone(),
                    r.at.clone(),
                    o(&r.tenant_id),
                    o(&r.actor_id),
                    csv_cell(&r.actor_name),
                    csv_cell(&r.action),
                    csv_cell(&r.object_type),
                    o(&r.object_id),
                    o(&r.before),
                    o(&r.after),
                    o(&r.source_ip),
                    r.outcome.clone(),
                    r.prev_hash.clone(),
                    r.hash.clone(),
                ])?;
            }
            Ok(w.into_inner().map_err(|e| e.into_error())?.into())
        }
        ExportFormat::Json => {
            let mut out = Vec::new();
            for (i, r) in records.iter().enumerate() {
                out.push(if first && i == 0 { b'[' } else { b',' });
                serde_json::to_writer(&mut out, r)?;
            }
            Ok(out.into())
        }
    }
}

fn export_stream(
    state: AppState,
    scope: TenantScope,
    filter: AuditFilter,
    format: ExportFormat,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    const PAGE: i64 = 500;
    // (after_seq, first page?, finished?)
    futures_util::stream::unfold((0i64, true, false), move |(after, first, done)| {
        let (state, scope, filter) = (state.clone(), scope.clone(), filter.clone());
        async move {
            if done {
                return None;
            }
            let page = match state
                .store
                .audit_export_page(&scope, &filter, after, PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e.to_string())),
                        (after, first, true),
                    ))
                }
            };
            let last = page.len() < PAGE as usize;
            let next_after = page.last().map(|r| r.seq).unwrap_or(after);
            let mut chunk = match encode_page(&page, format, first) {
                Ok(c) => c.to_vec(),
                Err(e) => return Some((Err(e), (after, first, true))),
            };
            if format == ExportFormat::Json && last {
                chunk.extend_from_slice(if first && page.is_empty() {
                    b"[]"
                } else {
                    b"]"
                });
            }
            Some((
                Ok(chunk.into()),
                (next_after, first && page.is_empty() && !last, last),
            ))
        }
    })
}

/// Export the tenant's audit trail as CSV or JSON (oldest first).
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "CSV or JSON file", content_type = "text/csv"), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn export_audit(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    export_response(&state, &p, &q).await
}

/// The verdict on the whole chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// True when every row and the anchor agree.
    pub intact: bool,
    /// Rows checked.
    pub rows: i64,
    /// The first bad row's `seq`.
    pub first_bad_seq: Option<i64>,
    /// Why it is bad.
    pub reason: Option<String>,
}

/// Check the SM3 hash chain of the whole audit trail.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyResponse), (status = 403, body = Problem)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<VerifyResponse>> {
    p.require(Permission::AuditRead)?;
    let report = state.store.audit_verify().await?;
    Ok(Json(VerifyResponse {
        intact: report.is_intact(),
        rows: report.rows,
        first_bad_seq: report.first_bad.as_ref().map(|b| b.0),
        reason: report.first_bad.map(|b| b.1),
    }))
}
