//! Importing and exporting the asset ledger as CSV or JSON (I.1 item 7). The formats live in
//! `yunshou_identify::transfer`; this module adds the HTTP surface and the all-or-none rule:
//! a file with invalid rows writes nothing unless `skip_invalid` is given.

use crate::api::assets::AssetFilter;
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_identify::transfer::{self, CsvWriter, Format, JsonWriter, Parsed, RowError};
use yunshou_model::{Actor, Permission};
use yunshou_store::{AssetQuery, AssetSort, Page, Store, TenantScope};

/// Largest import file. The global body limit (64 KiB) is for forms and JSON requests; a
/// 100,000-row CSV is about 30 MB, so this route reads its body itself up to this size.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Assets read per page while exporting: large enough to keep the number of queries low, small
/// enough that one page of records stays a few MB.
const EXPORT_PAGE: i64 = 5000;

/// Parameters of `POST /api/v1/assets/import`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// `csv` or `json`; otherwise taken from `Content-Type` (`text/csv`, `application/json`),
    /// otherwise guessed from the content.
    pub format: Option<String>,
    /// Import the valid rows and report the invalid ones instead of refusing the file.
    pub skip_invalid: Option<bool>,
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Assets created.
    pub created: usize,
    /// Problems of the rows that were skipped (only with `skip_invalid`).
    pub skipped: Vec<RowError>,
}

/// A problem document listing every invalid row (422).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowsProblem {
    /// `urn:yunshou:problem:invalid-rows`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// 422.
    pub status: u16,
    /// How many rows are invalid; nothing was imported.
    pub detail: String,
    /// Every problem: row, field, reason.
    pub errors: Vec<RowError>,
}

fn rows_problem(parsed: &Parsed) -> Response {
    let rows = parsed.invalid_rows().len();
    let problem = RowsProblem {
        kind: "urn:yunshou:problem:invalid-rows".into(),
        title: "Unprocessable Entity".into(),
        status: 422,
        detail: format!(
            "{rows} invalid row(s); nothing was imported. Fix them, or send skip_invalid=true to import the {} valid row(s) / {rows} 行有误，未导入任何资产",
            parsed.rows.len()
        ),
        errors: parsed.errors.clone(),
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&problem).expect("problem serialises"),
    )
        .into_response()
}

/// The format chosen by the `format` parameter, else the content type, else the content.
fn import_format(param: Option<&str>, headers: &HeaderMap, data: &[u8]) -> ApiResult<Format> {
    if let Some(f) = param.filter(|f| !f.is_empty() && *f != "auto") {
        return Format::parse(f).ok_or_else(|| {
            ApiError::bad_request(format!("format: must be csv or json, got `{f}`"))
        });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(if content_type.starts_with("text/csv") {
        Format::Csv
    } else if content_type.starts_with("application/json") {
        Format::Json
    } else {
        Format::sniff(data)
    })
}

/// Writes the valid rows of a parsed file in one transaction, or nothing when rows are invalid
/// and `skip_invalid` is false (`Ok(None)`: the caller reports `parsed.errors`).
pub async fn import_parsed(
    store: &Store,
    scope: &TenantScope,
    parsed: Parsed,
    skip_invalid: bool,
    source: &str,
    actor: &Actor,
    progress: &(dyn Fn(usize) + Send + Sync),
) -> yunshou_store::Result<Option<ImportReport>> {
    if !parsed.errors.is_empty() && !skip_invalid {
        return Ok(None);
    }
    let entries: Vec<_> = parsed
        .rows
        .into_iter()
        .map(|r| (r.fields, r.lifecycle))
        .collect();
    let created = entries.len();
    // An empty import changes nothing, so it writes nothing (not even an audit record).
    if created > 0 {
        store
            .import_assets_with_progress(scope, entries, source, actor, progress)
            .await?;
    }
    Ok(Some(ImportReport {
        created,
        skipped: parsed.errors,
    }))
}

/// Import assets from a CSV or JSON file (the request body; see `docs/asset-import.md` for
/// the CSV columns). All or none: with any invalid row the answer is 422 listing every
/// `{row, field, reason}` and nothing is written, unless `skip_invalid=true`, which imports
/// the valid rows and lists the skipped ones. A file that cannot be read as a whole (unknown
/// column, not UTF-8, not a JSON array) is 400.
#[utoipa::path(post, path = "/api/v1/assets/import", tag = "assets", params(ImportParams),
    request_body(content = String, description = "The file: CSV (text/csv) or a JSON array of assets (application/json)", content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = RowsProblem)))]
pub async fn import_assets(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    // Check the permission before reading up to 64 MB from someone who may not import.
    let scope = p.require(Permission::AssetsWrite)?;
    let data = axum::body::to_bytes(body, IMPORT_LIMIT)
        .await
        .map_err(|e| {
            if format!("{e:?} {e}").contains("length limit") {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "body: the file is larger than {} MiB; split it / 文件过大，请拆分",
                        IMPORT_LIMIT >> 20
                    ),
                )
            } else {
                ApiError::bad_request(format!("body: could not be read: {e}"))
            }
        })?;
    let format = import_format(q.format.as_deref(), &headers, &data)?;
    // Parsing 100,000 rows takes a moment of CPU; keep it off the async workers.
    let parsed = tokio::task::spawn_blocking(move || transfer::parse(format, &data))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let skip_invalid = q.skip_invalid.unwrap_or(false);
    if !parsed.errors.is_empty() && !skip_invalid {
        return Ok(rows_problem(&parsed));
    }
    let source = format!("api:{}", format.as_str());
    let report = import_parsed(
        &state.store,
        scope,
        parsed,
        skip_invalid,
        &source,
        &p.actor(),
        &|_| {},
    )
    .await?
    .expect("errors were handled above");
    Ok(Json(report).into_response())
}

/// The export's format, store query and order from the list's filters (`format` is `csv`,
/// the default, or `json`).
pub fn export_params(f: &AssetFilter) -> ApiResult<(Format, AssetQuery, AssetSort)> {
    let format = match f.format.as_deref().unwrap_or("csv") {
        "" => Format::Csv,
        x => Format::parse(x).ok_or_else(|| {
            ApiError::bad_request(format!("format: must be csv or json, got `{x}`"))
        })?,
    };
    Ok((format, f.query()?, f.sort()?))
}

/// Writes the tenant's matching assets as a file and records the export in the audit trail
/// (`asset.export`, with the format, filter and count). Returns the file and the count.
pub async fn export_assets(
    store: &Store,
    scope: &TenantScope,
    query: &AssetQuery,
    sort: AssetSort,
    format: Format,
    actor: &Actor,
) -> yunshou_store::Result<(Vec<u8>, usize)> {
    enum Out {
        Csv(Box<CsvWriter<Vec<u8>>>),
        Json(JsonWriter<Vec<u8>>),
    }
    let io = |e: std::io::Error| yunshou_store::Error::Corrupt(format!("export: {e}"));
    let mut out = match format {
        Format::Csv => Out::Csv(Box::new(CsvWriter::new(Vec::new()).map_err(io)?)),
        Format::Json => Out::Json(JsonWriter::new(Vec::new()).map_err(io)?),
    };
    let mut count = 0usize;
    loop {
        let page = Page {
            limit: EXPORT_PAGE,
            offset: count as i64,
        };
        let (items, _) = store.list_assets(scope, query, sort, page).await?;
        for a in &items {
            match &mut out {
                Out::Csv(w) => w.write(&a.fields, a.lifecycle),
                Out::Json(w) => w.write(&a.fields, a.lifecycle),
            }
            .map_err(io)?;
        }
        count += items.len();
        if (items.len() as i64) < EXPORT_PAGE {
            break;
        }
    }
    let data = match out {
        Out::Csv(w) => w.finish(),
        Out::Json(w) => w.finish(),
    }
    .map_err(io)?;
    let mut entry = actor.entry(Some(scope.tenant_id()), "asset.export", "asset", None);
    entry.after = Some(serde_json::json!({
        "format": format.as_str(),
        "count": count,
        "filter": format!("{query:?}"),
    }));
    store.audit(entry).await?;
    Ok((data, count))
}

/// Export the tenant's assets matching the list's filters as CSV (the import columns, so the
/// file imports again) or JSON. Recorded in the audit trail as `asset.export`.
#[utoipa::path(get, path = "/api/v1/assets/export", tag = "assets", params(AssetFilter),
    responses((status = 200, description = "The file, as an attachment", content_type = "text/csv"),
        (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AssetFilter>,
) -> ApiResult<Response> {
    let scope = p.require(Permission::AssetsRead)?;
    let (format, query, sort) = export_params(&q)?;
    let (data, _) = export_assets(&state.store, scope, &query, sort, format, &p.actor()).await?;
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Json => "application/json",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"yunshou-assets.{}\"",
                    format.as_str()
                ),
            ),
        ],
        data,
    )
        .into_response())
}
