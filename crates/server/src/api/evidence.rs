//! The evidence vault (R.1.e, R.2.a): multipart upload (digests at intake), an event
//! search captured as evidence, download, the custody log, and the SM2-signed export
//! package that `yunshou evidence verify` checks offline. Every view, download and export
//! enters the incident's hash-chained custody log.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{check_id, ApiJson, IdPath};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::io::{Seek, Write};
use utoipa::ToSchema;
use yunshou_model::Permission;
use yunshou_store::evidence_vault::{EvidenceIntake, EvidenceItem};

/// Largest upload through the API (bigger captures: copy into the vault with the CLI).
pub const EVIDENCE_BODY_LIMIT: usize = 1024 * 1024 * 1024;

fn media_type_for(name: &str, given: Option<&str>) -> String {
    if let Some(g) = given.filter(|g| !g.is_empty() && *g != "application/octet-stream") {
        return g.to_string();
    }
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    match ext {
        "pcap" | "pcapng" | "cap" => "application/vnd.tcpdump.pcap",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" | "jsonl" => "application/json",
        "txt" | "log" => "text/plain",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// Upload evidence (multipart: `kind` file|pcap|screenshot, `source`, `description`, then
/// `file`). The file is spooled, then taken into the vault while SHA-256 and SM3 are
/// computed; the intake is the custody log's next entry.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence", tag = "respond", params(("id" = String, Path)),
    request_body(content = String, description = "multipart/form-data: kind, source, description, file", content_type = "multipart/form-data"),
    responses((status = 201, body = EvidenceItem), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    mut form: Multipart,
) -> ApiResult<(StatusCode, Json<EvidenceItem>)> {
    let scope = p.require(Permission::EvidenceAccess)?;
    let mut kind = "file".to_string();
    let mut source = String::new();
    let mut description = String::new();
    let mut file = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("multipart: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "kind" | "source" | "description" => {
                let v = field
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
                match name.as_str() {
                    "kind" => kind = v,
                    "source" => source = v,
                    _ => description = v,
                }
            }
            "file" => {
                let fname = field.file_name().unwrap_or("").to_string();
                let ctype = field.content_type().map(str::to_string);
                let mut spool = tempfile::tempfile().map_err(ApiError::internal)?;
                let mut size = 0usize;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("file: {e}")))?
                {
                    size += chunk.len();
                    if size > EVIDENCE_BODY_LIMIT {
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "file: larger than 1 GiB",
                        ));
                    }
                    spool.write_all(&chunk).map_err(ApiError::internal)?;
                }
                spool.rewind().map_err(ApiError::internal)?;
                file = Some((spool, fname, ctype));
            }
            other => return Err(ApiError::bad_request(format!("unknown field `{other}`"))),
        }
    }
    let (spool, name, ctype) = file.ok_or_else(|| ApiError::bad_request("file: missing"))?;
    if !["file", "pcap", "screenshot"].contains(&kind.as_str()) {
        return Err(ApiError::bad_request("kind: file, pcap or screenshot"));
    }
    let name = name.rsplit(['/', '\\']).next().unwrap_or("").to_string();
    if name.is_empty() {
        return Err(ApiError::bad_request("file: give the part a file name"));
    }
    let intake = EvidenceIntake {
        media_type: media_type_for(&name, ctype.as_deref()),
        kind,
        name,
        source,
        description,
    };
    let item = state
        .store
        .take_evidence(scope, &id, intake, Box::new(spool), &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// An event search to keep as evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchCapture {
    /// The search (the event search language).
    pub q: String,
    /// From (RFC 3339).
    pub from: String,
    /// To (RFC 3339).
    pub to: String,
    /// At most this many events (1–10,000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// What it shows.
    #[serde(default)]
    pub description: String,
}

/// Capture an event search as evidence: the matching events as JSON lines, the query and
/// its time range as the item's source.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence/search", tag = "respond", params(("id" = String, Path)),
    request_body = SearchCapture,
    responses((status = 201, body = EvidenceItem), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn capture_search(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(c): ApiJson<SearchCapture>,
) -> ApiResult<(StatusCode, Json<EvidenceItem>)> {
    let item = capture_search_evidence(&state, &p, &id, &c).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// Runs the search and takes its events into the vault; shared with the console.
pub async fn capture_search_evidence(
    state: &AppState,
    p: &crate::auth::Principal,
    id: &str,
    c: &SearchCapture,
) -> ApiResult<EvidenceItem> {
    let scope = p.require(Permission::EvidenceAccess)?;
    p.require(Permission::EventsRead)?;
    p.require(Permission::IncidentsManage)?;
    if c.q.trim().is_empty() {
        return Err(ApiError::bad_request("q: the search"));
    }
    let limit = c.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_request("limit: 1–10,000"));
    }
    let parse = |field: &str, s: &str| {
        yunshou_eventstore::parse_time(s)
            .ok_or_else(|| ApiError::bad_request(format!("{field}: not an RFC 3339 time")))
    };
    let (from, to) = (parse("from", &c.from)?, parse("to", &c.to)?);
    let pipeline = state.pipeline.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no event store on this server",
        )
    })?;
    let events = pipeline.store().clone();
    let tenant = scope.tenant_id().to_string();
    let q = c.q.clone();
    let page = tokio::task::spawn_blocking(move || events.search(&tenant, &q, from, to, limit, 0))
        .await
        .map_err(ApiError::internal)?
        .map_err(crate::api::events::event_error)?;
    let mut lines = Vec::new();
    for hit in &page.items {
        serde_json::to_writer(&mut lines, hit).map_err(ApiError::internal)?;
        lines.push(b'\n');
    }
    if lines.is_empty() {
        return Err(ApiError::bad_request("the search matched no events"));
    }
    let intake = EvidenceIntake {
        kind: "search".into(),
        name: format!(
            "search-{}.jsonl",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ),
        media_type: "application/x-ndjson".into(),
        source: format!(
            "search: {} [{} — {}] ({} of {} events)",
            c.q,
            c.from,
            c.to,
            page.items.len(),
            page.total
        ),
        description: c.description.clone(),
    };
    Ok(state
        .store
        .take_evidence(
            scope,
            id,
            intake,
            Box::new(std::io::Cursor::new(lines)),
            &p.actor(),
        )
        .await?)
}

/// A hand-over of evidence to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// One item, or none for the whole set.
    #[serde(default)]
    pub evidence_id: Option<String>,
    /// To whom, how, under which reference.
    pub detail: String,
}

/// Record a transfer (hand-over) of evidence in the custody log.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/custody", tag = "respond", params(("id" = String, Path)),
    request_body = Transfer,
    responses((status = 201, description = "The new custody entry"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(t): ApiJson<Transfer>,
) -> ApiResult<(StatusCode, Json<yunshou_evidence::custody::CustodyEntry>)> {
    let scope = p.require(Permission::EvidenceAccess)?;
    // A hand-over is a change: auditors see the custody log but do not add to it.
    p.require(Permission::IncidentsManage)?;
    if t.detail.trim().is_empty() {
        return Err(ApiError::bad_request("detail: to whom and how"));
    }
    if let Some(e) = &t.evidence_id {
        check_id(e, "evidence_id")?;
        state.store.evidence_item(scope, &id, e).await?;
    }
    let entry = state
        .store
        .record_custody(
            scope,
            &id,
            "transfer",
            t.evidence_id.as_deref(),
            t.detail.trim(),
            &p.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// The incident's evidence, in intake order (a view entered in the custody log).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, body = Vec<EvidenceItem>), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<EvidenceItem>>> {
    let scope = p.require(Permission::EvidenceAccess)?;
    let items = state.store.evidence(scope, &id).await?;
    state
        .store
        .record_custody(
            scope,
            &id,
            "view",
            None,
            &format!("evidence list ({} items)", items.len()),
            &p.actor(),
        )
        .await?;
    Ok(Json(items))
}

/// An item's bytes (the download enters the custody log), with its intake digests in
/// `X-Content-SHA256` and `X-Content-SM3`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence/{evidence_id}/content", tag = "respond",
    params(("id" = String, Path), ("evidence_id" = String, Path)),
    responses((status = 200, description = "The item's bytes"), (status = 404, body = Problem)))]
pub async fn download(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, evidence_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let scope = p.require(Permission::EvidenceAccess)?;
    check_id(&id, "id")?;
    check_id(&evidence_id, "evidence_id")?;
    let item = state.store.evidence_item(scope, &id, &evidence_id).await?;
    let file = state
        .store
        .open_evidence(scope, &item)
        .map_err(ApiError::internal)?;
    state
        .store
        .record_custody(
            scope,
            &id,
            "download",
            Some(&evidence_id),
            &item.name,
            &p.actor(),
        )
        .await?;
    let body = Body::from_stream(tokio_util_stream(file));
    let ascii_name: String = item
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
            (header::CONTENT_TYPE, item.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii_name}\""),
            ),
            (
                header::HeaderName::from_static("x-content-sha256"),
                item.sha256.clone(),
            ),
            (
                header::HeaderName::from_static("x-content-sm3"),
                item.sm3.clone(),
            ),
        ],
        body,
    )
        .into_response())
}

/// Streams a file in 64 KiB chunks read on the blocking pool.
fn tokio_util_stream(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(bytes::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}

/// The incident's chain of custody.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/custody", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, description = "The custody entries in order"), (status = 404, body = Problem)))]
pub async fn custody(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<yunshou_evidence::custody::CustodyEntry>>> {
    let scope = p.require(Permission::EvidenceAccess)?;
    Ok(Json(state.store.custody_log(scope, &id).await?))
}

/// The evidence package: a zip with `manifest.json` (items, digests, custody head),
/// the items, `custody.jsonl`, `signer.pub` and `manifest.sig` (SM2 by the platform's key).
/// `yunshou evidence verify PACKAGE` checks it offline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/evidence/export", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, description = "The package", content_type = "application/zip"), (status = 404, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Response> {
    let scope = p.require(Permission::EvidenceAccess)?;
    let mut out = tempfile::tempfile().map_err(ApiError::internal)?;
    let writer = out.try_clone().map_err(ApiError::internal)?;
    state
        .store
        .export_evidence_package(scope, &id, state.respond.key.clone(), writer, &p.actor())
        .await?;
    out.rewind().map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence-{id}.zip\""),
            ),
            (
                header::HeaderName::from_static("x-signer-public-key"),
                state.respond.key.public_key_hex(),
            ),
        ],
        Body::from_stream(tokio_util_stream(out)),
    )
        .into_response())
}
