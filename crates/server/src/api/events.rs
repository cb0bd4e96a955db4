//! Event intake over HTTP (MO.1.a, P.3.a), search and counts (MO.2.a, MO.4.d), ingest tokens
//! and retention.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};
use yunshou_eventstore::{Aggregation, Bucket, SearchPage};
use yunshou_ingest::{RawRecord, WalError};
use yunshou_model::Permission;
use yunshou_store::{IngestToken, Retention};

/// Largest ingest request body.
pub const INGEST_BODY_LIMIT: usize = 16 << 20;

/// Most records in one ingest request.
pub const MAX_RECORDS: usize = 50_000;

pub(crate) fn pipeline(state: &AppState) -> ApiResult<&yunshou_ingest::Pipeline> {
    state.pipeline.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the event pipeline is not running",
        )
    })
}

/// What an ingest request stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Records accepted (durable on disk).
    pub accepted: usize,
    /// Their sequence numbers, first and last.
    pub first_seq: u64,
    /// Last.
    pub last_seq: u64,
}

/// Options of an ingest request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IngestQuery {
    /// Parser for text lines (`auto` by default).
    pub format: Option<String>,
}

fn in_cidr(ip: std::net::IpAddr, cidr: &str) -> bool {
    match yunshou_eventstore::query::cidr(cidr) {
        Some((lo, hi)) => {
            let v6 = match ip {
                std::net::IpAddr::V4(a) => a.to_ipv6_mapped(),
                std::net::IpAddr::V6(a) => a,
            };
            lo <= v6 && v6 <= hi
        }
        None => cidr.parse::<std::net::IpAddr>().is_ok_and(|a| a == ip),
    }
}

/// Splits a body into records: NDJSON (one JSON value per line) or a JSON array. A string is a
/// raw line; an object is a JSON event. The error names the line or element.
pub fn records(body: &[u8]) -> Result<Vec<(String, bool)>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body: not UTF-8 ({e})"))?;
    let one = |v: serde_json::Value, at: String| -> Result<(String, bool), String> {
        match v {
            serde_json::Value::String(s) => Ok((s, false)),
            serde_json::Value::Object(_) => Ok((v.to_string(), true)),
            _ => Err(format!(
                "{at}: expected a string (a log line) or an object (an event)"
            )),
        }
    };
    let trimmed = text.trim_start();
    let mut out = Vec::new();
    if trimmed.starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|e| format!("body: {e}"))?;
        for (i, v) in items.into_iter().enumerate() {
            out.push(one(v, format!("[{i}]"))?);
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            out.push(one(v, format!("line {}", i + 1))?);
        }
    }
    if out.len() > MAX_RECORDS {
        return Err(format!("body: at most {MAX_RECORDS} records per request"));
    }
    Ok(out)
}

/// Send events. Authenticate with an ingest token (`Authorization: Bearer ysi_…`), which
/// binds them to its tenant and may restrict sender addresses. The body is NDJSON or a JSON
/// array of log lines (strings) or events (objects). Answers once every record is durable;
/// 503 with `Retry-After` when the pipeline is saturated — nothing of the request is stored.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "events", params(IngestQuery), request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 202, body = Accepted), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn ingest(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiQuery(q): ApiQuery<IngestQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|s| s.starts_with("ysi_"))
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "an ingest token is required"))?;
    let grant =
        state.store.ingest_grant(secret).await?.ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "the ingest token is not valid")
        })?;
    if !grant.allowed_sources.is_empty()
        && !grant.allowed_sources.iter().any(|c| in_cidr(peer.ip(), c))
    {
        return Err(ApiError::forbidden(format!(
            "source {} is not allowed to use this ingest token",
            peer.ip()
        )));
    }
    let format = q.format.unwrap_or_else(|| "auto".into());
    yunshou_ingest::normalise::check_format(&format).map_err(ApiError::bad_request)?;
    let items = records(&body).map_err(ApiError::bad_request)?;
    if items.is_empty() {
        return Err(ApiError::bad_request("body: no records"));
    }
    let now = Utc::now().timestamp_micros();
    let batch: Vec<RawRecord> = items
        .into_iter()
        .map(|(line, json)| RawRecord {
            tenant: grant.tenant_id.clone(),
            source: "http".into(),
            format: if json { "json".into() } else { format.clone() },
            peer: Some(peer.ip().to_string()),
            received_us: now,
            line,
        })
        .collect();
    let n = batch.len();
    match pipeline(&state)?.submit(batch).await {
        Ok((first_seq, last_seq)) => Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                accepted: n,
                first_seq,
                last_seq,
            }),
        )
            .into_response()),
        Err(WalError::Busy) => {
            let mut r = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the pipeline is saturated; nothing of this request was stored, send it again",
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Ok(r)
        }
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            e.to_string(),
        )),
    }
}

/// A time window, last 24 hours by default.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The search (see docs/api.md); empty matches everything.
    pub q: Option<String>,
    /// From (inclusive), RFC 3339 or a date.
    pub from: Option<String>,
    /// To (exclusive).
    pub to: Option<String>,
    /// Page size 1–1000 (default 50).
    pub limit: Option<usize>,
    /// Items to skip (at most 10 000).
    pub offset: Option<usize>,
    /// Include each event's original text (needs `events_raw_read`; audited).
    pub raw: Option<bool>,
    /// For counts: the field to count values of (top `size`).
    pub field: Option<String>,
    /// For counts: how many values (1–1000, default 10).
    pub size: Option<u32>,
    /// For counts: histogram interval in seconds (60–86400).
    pub interval: Option<u64>,
}

impl SearchQuery {
    /// The window.
    pub fn window(&self) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        let t = |name: &str, v: &Option<String>| -> ApiResult<Option<DateTime<Utc>>> {
            v.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    yunshou_eventstore::parse_time(s).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name}: `{s}` is not an RFC 3339 time or a date"
                        ))
                    })
                })
                .transpose()
        };
        let to = t("to", &self.to)?.unwrap_or_else(|| Utc::now() + Duration::seconds(1));
        let from = t("from", &self.from)?.unwrap_or(to - Duration::hours(24));
        if from >= to {
            return Err(ApiError::bad_request("from: must be before to"));
        }
        Ok((from, to))
    }
}

pub(crate) fn event_error(e: yunshou_eventstore::Error) -> ApiError {
    match e {
        yunshou_eventstore::Error::Query(q) => ApiError::bad_request(q.to_string()),
        yunshou_eventstore::Error::Invalid(m) => ApiError::bad_request(m),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

/// Searches events; shared with the console. Originals are removed unless `raw` is asked
/// for, which needs its own permission and is audited.
pub async fn search_events(
    state: &AppState,
    p: &crate::auth::Principal,
    q: &SearchQuery,
) -> ApiResult<SearchPage> {
    let scope = p.require(Permission::EventsRead)?;
    let raw = q.raw.unwrap_or(false);
    if raw {
        p.require(Permission::EventsRawRead)?;
    }
    let (from, to) = q.window()?;
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset > 10_000 {
        return Err(ApiError::bad_request(
            "limit: 1–1000; offset: at most 10000",
        ));
    }
    let text = q.q.clone().unwrap_or_default();
    let store = pipeline(state)?.store().clone();
    let tenant = scope.tenant_id().to_string();
    let qtext = text.clone();
    let mut page =
        tokio::task::spawn_blocking(move || store.search(&tenant, &qtext, from, to, limit, offset))
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(event_error)?;
    if raw {
        let mut entry = p
            .actor()
            .entry(Some(scope.tenant_id()), "events.read_raw", "events", None);
        entry.after = Some(
            serde_json::json!({"q": text, "from": from.to_rfc3339(), "to": to.to_rfc3339(), "returned": page.items.len()}),
        );
        state.store.audit(entry).await?;
    } else {
        for h in &mut page.items {
            if let Some(ev) = h.event.get_mut("event").and_then(|e| e.as_object_mut()) {
                ev.remove("original");
            }
        }
    }
    Ok(page)
}

/// Search events, newest first, with the exact number that match.
#[utoipa::path(get, path = "/api/v1/events/search", tag = "events", params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchPage>> {
    Ok(Json(search_events(&state, &p, &q).await?))
}

/// Counts; shared with the console.
pub async fn count_events(
    state: &AppState,
    p: &crate::auth::Principal,
    q: &SearchQuery,
) -> ApiResult<Vec<Bucket>> {
    let scope = p.require(Permission::EventsRead)?;
    let (from, to) = q.window()?;
    let agg = match (&q.field, q.interval) {
        (Some(field), None) => {
            let size = q.size.unwrap_or(10);
            if !(1..=1000).contains(&size) {
                return Err(ApiError::bad_request("size: 1–1000"));
            }
            Aggregation::Terms {
                field: field.clone(),
                size,
            }
        }
        (None, Some(seconds)) if (60..=86_400).contains(&seconds) => {
            Aggregation::Histogram { seconds }
        }
        (None, Some(_)) => return Err(ApiError::bad_request("interval: 60–86400 seconds")),
        _ => return Err(ApiError::bad_request("field or interval: give exactly one")),
    };
    let store = pipeline(state)?.store().clone();
    let tenant = scope.tenant_id().to_string();
    let text = q.q.clone().unwrap_or_default();
    tokio::task::spawn_blocking(move || store.aggregate(&tenant, &text, from, to, &agg))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(event_error)
}

/// Count matching events by the values of a field (`field`, top `size`) or per time
/// interval (`interval` seconds).
#[utoipa::path(get, path = "/api/v1/events/aggregate", tag = "events", params(SearchQuery),
    responses((status = 200, body = Vec<Bucket>), (status = 400, body = Problem)))]
pub async fn aggregate(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<Bucket>>> {
    Ok(Json(count_events(&state, &p, &q).await?))
}

/// A new ingest token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIngestToken {
    /// Name (e.g. the sending system).
    pub name: String,
    /// Addresses or CIDR blocks allowed to send with it; empty or absent allows any.
    #[serde(default)]
    pub allowed_sources: Vec<String>,
}

/// A created ingest token with its secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedIngestToken {
    /// The token.
    #[serde(flatten)]
    pub token: IngestToken,
    /// The secret for `Authorization: Bearer`; it is not shown again.
    pub secret: String,
}

/// The tenant's ingest tokens.
#[utoipa::path(get, path = "/api/v1/ingest-tokens", tag = "events",
    responses((status = 200, body = Vec<IngestToken>), (status = 403, body = Problem)))]
pub async fn list_ingest_tokens(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<IngestToken>>> {
    let scope = p.require(Permission::IngestManage)?;
    Ok(Json(state.store.ingest_tokens(scope).await?))
}

/// Create an ingest token for the tenant.
#[utoipa::path(post, path = "/api/v1/ingest-tokens", tag = "events", request_body = NewIngestToken,
    responses((status = 201, body = CreatedIngestToken), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_ingest_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<NewIngestToken>,
) -> ApiResult<(StatusCode, Json<CreatedIngestToken>)> {
    let scope = p.require(Permission::IngestManage)?;
    for (i, s) in req.allowed_sources.iter().enumerate() {
        if yunshou_eventstore::query::cidr(s).is_none() && s.parse::<std::net::IpAddr>().is_err() {
            return Err(ApiError::bad_request(format!(
                "allowed_sources[{i}]: `{s}` is not an address or CIDR block"
            )));
        }
    }
    let (token, secret) = state
        .store
        .create_ingest_token(scope, &req.name, &req.allowed_sources, &p.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIngestToken { token, secret }),
    ))
}

/// Revoke an ingest token.
#[utoipa::path(delete, path = "/api/v1/ingest-tokens/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_ingest_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::IngestManage)?;
    state
        .store
        .revoke_ingest_token(scope, &id, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's event retention.
#[utoipa::path(get, path = "/api/v1/events/retention", tag = "events",
    responses((status = 200, body = Retention)))]
pub async fn get_retention(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Retention>> {
    let scope = p.require(Permission::EventsRead)?;
    Ok(Json(state.store.retention(scope).await?))
}

/// A retention change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRequest {
    /// Days to keep events (1–3650).
    pub days: i64,
    /// Required (with `reason`) for fewer than 180 days.
    #[serde(default)]
    pub override_minimum: bool,
    /// Why.
    pub reason: Option<String>,
}

/// Set the tenant's event retention; under 180 days needs `override_minimum` and a reason.
#[utoipa::path(put, path = "/api/v1/events/retention", tag = "events", request_body = RetentionRequest,
    responses((status = 200, body = Retention), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn set_retention(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<RetentionRequest>,
) -> ApiResult<Json<Retention>> {
    let scope = p.require(Permission::IngestManage)?;
    Ok(Json(
        state
            .store
            .set_retention(
                scope,
                req.days,
                req.override_minimum,
                req.reason.as_deref(),
                &p.actor(),
            )
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_records_and_errors_name_the_line() {
        let r = records(b"\"line one\"\n{\"message\":\"x\"}\n\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], ("line one".into(), false));
        assert!(r[1].1);
        assert_eq!(records(b"[\"a\", {\"b\": 1}]").unwrap().len(), 2);
        assert!(records(b"\"ok\"\nnot json")
            .unwrap_err()
            .starts_with("line 2"));
        assert!(records(b"[1]").unwrap_err().starts_with("[0]"));
    }

    #[test]
    fn sources_match_addresses_and_blocks() {
        let ip: std::net::IpAddr = "10.20.1.5".parse().unwrap();
        assert!(in_cidr(ip, "10.20.0.0/16"));
        assert!(in_cidr(ip, "10.20.1.5"));
        assert!(!in_cidr(ip, "10.30.0.0/16"));
    }
}
