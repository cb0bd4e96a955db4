//! Event search in the console (MO.2.a, MO.4.d): query box and time range, a histogram,
//! the top values of common fields, and the events with their normalised fields. The
//! original text is shown only on request, which needs its own permission and is audited.

use super::asset_control::Empty;
use super::svg::{stacked_bars, Bar};
use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::event_searches::{self as api, ExportQuery, NewSavedSearch};
use crate::api::events::{count_events, search_events, SearchQuery};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yunshou_eventstore::{Bucket, SearchHit};
use yunshou_model::Permission;
use yunshou_store::{SavedKind, SavedQuery};

/// Fields whose top values the sidebar shows.
const SIDEBAR: [&str; 6] = [
    "event.dataset",
    "host.hostname",
    "source.ip",
    "user.name",
    "event.outcome",
    "event.action",
];

#[derive(Deserialize, Default)]
pub struct EventsForm {
    #[serde(default)]
    q: String,
    /// Hours back from now: 1, 24 (default), 168, 720.
    #[serde(default)]
    hours: Option<i64>,
    #[serde(default)]
    raw: Option<String>,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    l: Layout,
    q: String,
    hours: i64,
    raw: bool,
    can_raw: bool,
    hits: Vec<SearchHit>,
    total: u64,
    histogram: String,
    sidebar: Vec<(&'static str, Vec<Bucket>)>,
    saved: Vec<SavedQuery>,
    error: Option<String>,
}

impl EventsPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
    fn field(&self, h: &SearchHit, path: &str) -> String {
        api::text_at(&h.event, path)
    }
    fn pretty(&self, h: &SearchHit) -> String {
        serde_json::to_string_pretty(&h.event).unwrap_or_default()
    }
    fn mine(&self, q: &SavedQuery) -> bool {
        q.user_id == self.l.p.user.id
    }
    /// This page again with `q` and the time range, plus `extra` pairs.
    fn link(&self, path: &str, q: &str, extra: &[(&str, &str)]) -> String {
        let hours = self.hours.to_string();
        let mut pairs = vec![("q", q), ("hours", hours.as_str())];
        pairs.extend_from_slice(extra);
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
    fn search_link(&self, q: &str) -> String {
        self.link("/events", q, &[])
    }
    fn export_link(&self, format: &str, raw: bool) -> String {
        let mut extra = vec![("format", format)];
        if raw {
            extra.push(("raw", "1"));
        }
        self.link("/events/export", &self.q, &extra)
    }
    fn pivot(&self, field: &str, value: &str) -> String {
        let clause = format!("{field}:\"{}\"", value.replace('"', "\\\""));
        let q = if self.q.trim().is_empty() {
            clause
        } else {
            format!("({}) AND {clause}", self.q)
        };
        self.link("/events", &q, &[])
    }
}

/// `GET /events`.
pub async fn search_page(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<EventsForm>,
) -> Result<Response, ConsoleError> {
    l.p.require(Permission::EventsRead)?;
    let hours = f
        .hours
        .filter(|h| [1, 24, 168, 720].contains(h))
        .unwrap_or(24);
    let raw = f.raw.is_some() && l.p.can(Permission::EventsRawRead);
    let from = (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339();
    let query = SearchQuery {
        q: Some(f.q.clone()),
        from: Some(from.clone()),
        limit: Some(50),
        raw: Some(raw),
        ..Default::default()
    };
    let mut error = None;
    let (hits, total) = match search_events(&state, &l.p, &query).await {
        Ok(p) => (p.items, p.total),
        Err(e) => {
            error = Some(e.detail);
            (vec![], 0)
        }
    };
    let mut histogram = String::new();
    let mut sidebar = Vec::new();
    if error.is_none() {
        let interval = if hours <= 24 { 3600 } else { 86_400 };
        let hist = count_events(
            &state,
            &l.p,
            &SearchQuery {
                q: Some(f.q.clone()),
                from: Some(from.clone()),
                interval: Some(interval),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_default();
        let bars: Vec<Bar> = hist
            .iter()
            .map(|b| Bar {
                label: b
                    .key
                    .get(if interval == 3600 { 11..13 } else { 5..10 })
                    .unwrap_or("")
                    .to_string(),
                good: b.count as i64,
                bad: 0,
            })
            .collect();
        histogram = stacked_bars(l.t.get("events.histogram"), &bars);
        for field in SIDEBAR {
            let top = count_events(
                &state,
                &l.p,
                &SearchQuery {
                    q: Some(f.q.clone()),
                    from: Some(from.clone()),
                    field: Some(field.into()),
                    size: Some(5),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_default();
            if !top.is_empty() {
                sidebar.push((field, top));
            }
        }
    }
    let can_raw = l.p.can(Permission::EventsRawRead);
    let scope = l.p.require(Permission::EventsRead)?.clone();
    let saved = state
        .store
        .saved_queries(&scope, SavedKind::Events, &l.p.user.id)
        .await?;
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        EventsPage {
            l,
            q: f.q,
            hours,
            raw,
            can_raw,
            hits,
            total,
            histogram,
            sidebar,
            saved,
            error,
        }
        .render()?,
    ))
}

fn hours_back(hours: Option<i64>) -> String {
    let hours = hours
        .filter(|h| [1, 24, 168, 720].contains(h))
        .unwrap_or(24);
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339()
}

#[derive(Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    hours: Option<i64>,
    format: String,
    #[serde(default)]
    raw: Option<String>,
}

/// `GET /events/export`: the page's search and time range as a file (audited).
pub async fn export(
    State(state): State<AppState>,
    Console(l): Console,
    Query(f): Query<ExportForm>,
) -> Result<Response, ConsoleError> {
    let q = ExportQuery {
        q: Some(f.q),
        from: Some(hours_back(f.hours)),
        format: Some(f.format),
        raw: Some(f.raw.is_some()),
        ..Default::default()
    };
    api::export_response(&state, &l.p, &q)
        .await
        .map_err(ConsoleError::back("/events"))
}

#[derive(Deserialize)]
pub struct SaveSearchForm {
    name: String,
    q: String,
    #[serde(default)]
    hours: Option<i64>,
    #[serde(default)]
    shared: Option<String>,
}

/// `POST /events/searches`: saves the page's search.
pub async fn save_search(
    State(state): State<AppState>,
    f: ConsoleForm<SaveSearchForm>,
) -> Result<Response, ConsoleError> {
    let back = format!(
        "/events?{}",
        serde_urlencoded::to_string([
            ("q", f.form.q.as_str()),
            ("hours", &f.form.hours.unwrap_or(24).to_string()),
        ])
        .unwrap_or_default()
    );
    api::save_search(
        &state,
        &f.layout.p,
        NewSavedSearch {
            name: f.form.name.clone(),
            query: f.form.q.clone(),
            shared: f.form.shared.is_some(),
        },
    )
    .await
    .map_err(ConsoleError::back(&back))?;
    Ok(done(&back, f.layout.t.get("query.saved")))
}

/// `POST /events/searches/{id}/delete`.
pub async fn delete_search(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    api::remove_search(&state, &f.layout.p, &id)
        .await
        .map_err(ConsoleError::back("/events"))?;
    Ok(done("/events", f.layout.t.get("query.deleted")))
}
