//! The audit viewer: filter, page, export, verify.

use super::{page, short_time, Console, ConsoleError, Layout};
use crate::api::audit::{export_response, AuditQuery};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use yunshou_model::{AuditRecord, Permission};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    records: Vec<AuditRecord>,
    total: i64,
    q: AuditQuery,
    offset: i64,
    limit: i64,
    verify: Option<yunshou_store::VerifyReport>,
    can_export: bool,
    query_string: String,
}

impl AuditPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
    fn opt<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
    fn change(&self, r: &AuditRecord) -> String {
        match (&r.before, &r.after) {
            (None, None) => String::new(),
            (b, a) => format!(
                "{} → {}",
                b.as_deref().unwrap_or("–"),
                a.as_deref().unwrap_or("–")
            ),
        }
    }
    fn page_link(&self, offset: i64) -> String {
        let sep = if self.query_string.is_empty() {
            ""
        } else {
            "&"
        };
        format!("/audit?{}{sep}offset={offset}", self.query_string)
    }
    fn has_next(&self) -> bool {
        self.offset + self.limit < self.total
    }
    fn prev_offset(&self) -> i64 {
        (self.offset - self.limit).max(0)
    }
    fn next_offset(&self) -> i64 {
        self.offset + self.limit
    }
}

fn filter_query(q: &AuditQuery) -> String {
    let pairs: Vec<(&str, &str)> = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("outcome", &q.outcome),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().filter(|s| !s.is_empty()).map(|v| (k, v)))
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// `GET /audit`.
pub async fn page_handler(
    State(state): State<AppState>,
    Console(l): Console,
    Query(v): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::AuditRead)?.clone();
    let get = |k: &str| v.get(k).cloned().filter(|s| !s.is_empty());
    let q = AuditQuery {
        actor: get("actor"),
        action: get("action"),
        outcome: get("outcome"),
        from: get("from"),
        to: get("to"),
        limit: Some(50),
        offset: get("offset").and_then(|o| o.parse().ok()),
        format: None,
    };
    let (filter, page_req) = q.filter().map_err(ConsoleError::back("/audit"))?;
    let (records, total) = state.store.audit_list(&scope, &filter, page_req).await?;
    let verify = if v.contains_key("verify") {
        Some(state.store.audit_verify().await?)
    } else {
        None
    };
    let can_export = l.p.can(Permission::AuditExport);
    let flash = l.flash.is_some();
    let query_string = filter_query(&q);
    let html = AuditPage {
        l,
        records,
        total,
        offset: page_req.offset,
        limit: page_req.limit,
        q,
        verify,
        can_export,
        query_string,
    }
    .render()?;
    Ok(page(flash, html))
}

pub use page_handler as page_route;

/// `GET /audit/export?format=csv|json&…filters`.
pub async fn export(
    State(state): State<AppState>,
    Console(l): Console,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    export_response(&state, &l.p, &q)
        .await
        .map_err(ConsoleError::back("/audit"))
}
