//! Saved event searches and event export (MO.2.a, MO.4.d): what an analyst keeps coming back
//! to, and the evidence they hand on. Exports stream (memory stays small however many events
//! match), are capped, and are recorded in the audit trail with the query that produced them;
//! the original text goes out only with `events_raw_read`.

use super::audit::csv_cell;
use super::events::{pipeline, SearchQuery};
use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use yunshou_eventstore::SearchHit;
use yunshou_model::Permission;
use yunshou_store::{SavedKind, SavedQuery};

/// Most events one export carries.
pub const EXPORT_MAX: usize = 100_000;

/// An event search to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedSearch {
    /// Name.
    pub name: String,
    /// The search, e.g. `event.outcome:failure AND source.ip:10.0.0.0/8`.
    pub query: String,
    /// Visible to the whole tenant.
    #[serde(default)]
    pub shared: bool,
}

/// Saves a search; shared with the console. The search must parse. A saved search holds no
/// event data, so whoever may search may save and share one; deleting a shared one is for
/// its author or the tenant's administrators.
pub async fn save_search(
    state: &AppState,
    p: &Principal,
    req: NewSavedSearch,
) -> ApiResult<SavedQuery> {
    let scope = p.require(Permission::EventsRead)?;
    if req.query.len() > 2000 {
        return Err(ApiError::bad_request("query: at most 2000 characters"));
    }
    yunshou_eventstore::query::parse(&req.query)
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    Ok(state
        .store
        .save_query(
            scope,
            SavedKind::Events,
            &req.name,
            &req.query,
            req.shared,
            &p.actor(),
        )
        .await?)
}

/// Saved event searches: the caller's own and the tenant's shared ones.
#[utoipa::path(get, path = "/api/v1/events/searches", tag = "events",
    responses((status = 200, body = Vec<SavedQuery>), (status = 403, body = Problem)))]
pub async fn list_searches(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<SavedQuery>>> {
    let scope = p.require(Permission::EventsRead)?;
    Ok(Json(
        state
            .store
            .saved_queries(scope, SavedKind::Events, &p.user.id)
            .await?,
    ))
}

/// Save an event search.
#[utoipa::path(post, path = "/api/v1/events/searches", tag = "events", request_body = NewSavedSearch,
    responses((status = 201, body = SavedQuery), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_search(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<NewSavedSearch>,
) -> ApiResult<(StatusCode, Json<SavedQuery>)> {
    Ok((
        StatusCode::CREATED,
        Json(save_search(&state, &p, req).await?),
    ))
}

/// Deletes a saved search; shared with the console.
pub async fn remove_search(state: &AppState, p: &Principal, id: &str) -> ApiResult<()> {
    let scope = p.require(Permission::EventsRead)?;
    let admin = p.access.allows(Permission::IngestManage);
    state
        .store
        .delete_saved_query(scope, SavedKind::Events, id, admin, &p.actor())
        .await?;
    Ok(())
}

/// Delete a saved event search: one's own, or (administrators) a shared one.
#[utoipa::path(delete, path = "/api/v1/events/searches/{id}", tag = "events", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete_search(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    remove_search(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// The search; empty matches everything.
    pub q: Option<String>,
    /// From (inclusive), RFC 3339 or a date; default 24 hours before `to`.
    pub from: Option<String>,
    /// To (exclusive); default now.
    pub to: Option<String>,
    /// `csv` (default) or `ndjson`.
    pub format: Option<String>,
    /// Include each event's original text (needs `events_raw_read`).
    pub raw: Option<bool>,
    /// At most this many events (1–100000, default 100000).
    pub max: Option<usize>,
}

/// CSV columns: the fields an analyst reads first; NDJSON carries whole events.
const CSV_COLUMNS: [&str; 12] = [
    "@timestamp",
    "event.dataset",
    "event.action",
    "event.outcome",
    "host.hostname",
    "host.name",
    "source.ip",
    "destination.ip",
    "destination.port",
    "user.name",
    "process.name",
    "message",
];

/// A field of an event as text (empty when absent; numbers and arrays as JSON).
pub(crate) fn text_at(event: &serde_json::Value, path: &str) -> String {
    let found = event
        .as_object()
        .and_then(|doc| yunshou_eventstore::schema::get_path(doc, path));
    match found {
        Some(serde_json::Value::String(s)) => s.clone(),
        None | Some(serde_json::Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn encode(hits: &[SearchHit], csv: bool, raw: bool) -> std::io::Result<Bytes> {
    if csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        for h in hits {
            let mut row: Vec<String> = CSV_COLUMNS
                .iter()
                .map(|c| csv_cell(&text_at(&h.event, c)))
                .collect();
            if raw {
                row.push(csv_cell(&text_at(&h.event, "event.original")));
            }
            w.write_record(&row)?;
        }
        Ok(w.into_inner().map_err(|e| e.into_error())?.into())
    } else {
        let mut out = Vec::new();
        for h in hits {
            serde_json::to_writer(&mut out, &h.event)?;
            out.push(b'\n');
        }
        Ok(out.into())
    }
}

/// Streams the export; shared with the console.
pub async fn export_response(
    state: &AppState,
    p: &Principal,
    q: &ExportQuery,
) -> ApiResult<Response> {
    let scope = p.require(Permission::EventsRead)?;
    let raw = q.raw.unwrap_or(false);
    if raw {
        p.require(Permission::EventsRawRead)?;
    }
    let csv = match q.format.as_deref().unwrap_or("csv") {
        "csv" => true,
        "ndjson" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "format: must be `csv` or `ndjson`, got `{other}`"
            )))
        }
    };
    let max = q.max.unwrap_or(EXPORT_MAX);
    if !(1..=EXPORT_MAX).contains(&max) {
        return Err(ApiError::bad_request(format!("max: 1–{EXPORT_MAX}")));
    }
    let (from, to) = SearchQuery {
        from: q.from.clone(),
        to: q.to.clone(),
        ..Default::default()
    }
    .window()?;
    let text = q.q.clone().unwrap_or_default();
    yunshou_eventstore::query::parse(&text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = pipeline(state)?.store().clone();
    let tenant = scope.tenant_id().to_string();
    let mut entry = p
        .actor()
        .entry(Some(scope.tenant_id()), "events.export", "events", None);
    entry.after = Some(serde_json::json!({
        "q": text, "from": from.to_rfc3339(), "to": to.to_rfc3339(),
        "format": if csv { "csv" } else { "ndjson" }, "raw": raw, "max": max,
    }));
    state.store.audit(entry).await?;

    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    if csv {
        let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
        if raw {
            header.push("event.original");
        }
        // Plain names: no quoting needed.
        let first = format!("{}\n", header.join(","));
        tx.send(Ok(first.into())).await.ok();
    }
    tokio::task::spawn_blocking(move || {
        const BATCH: usize = 256;
        let mut batch = Vec::with_capacity(BATCH);
        let flush = |batch: &mut Vec<SearchHit>| -> bool {
            let chunk = encode(batch, csv, raw);
            batch.clear();
            tx.blocking_send(chunk).is_ok()
        };
        let result = store.export(&tenant, &text, from, to, max, |mut hit| {
            if !raw {
                if let Some(ev) = hit.event.get_mut("event").and_then(|e| e.as_object_mut()) {
                    ev.remove("original");
                }
            }
            batch.push(hit);
            batch.len() < BATCH || flush(&mut batch)
        });
        match result {
            Ok(_) => {
                if !batch.is_empty() {
                    flush(&mut batch);
                }
            }
            Err(e) => {
                // The client sees a cut-off body; the log says why.
                tracing::warn!(error = %e, "event export failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let (content_type, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "ndjson")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"yunshou-events.{ext}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Export matching events as CSV or NDJSON (newest day first), at most 100 000; audited.
#[utoipa::path(get, path = "/api/v1/events/export", tag = "events", params(ExportQuery),
    responses((status = 200, description = "CSV or NDJSON file", content_type = "text/csv"), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    export_response(&state, &p, &q).await
}
