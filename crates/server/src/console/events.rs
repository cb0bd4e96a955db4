//! Event search in the console (MO.2.a, MO.4.d): query box and time range, a histogram,
//! the top values of common fields, and the events with their normalised fields. The
//! original text is shown only on request, which needs its own permission and is audited.

use super::svg::{stacked_bars, Bar};
use super::{page, short_time, Console, ConsoleError, Layout};
use crate::api::events::{count_events, search_events, SearchQuery};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yunshou_eventstore::{Bucket, SearchHit};
use yunshou_model::Permission;

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
    error: Option<String>,
}

impl EventsPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
    fn field(&self, h: &SearchHit, path: &str) -> String {
        let mut v = &h.event;
        for p in path.split('.') {
            match v.get(p) {
                Some(x) => v = x,
                None => return String::new(),
            }
        }
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    fn pretty(&self, h: &SearchHit) -> String {
        serde_json::to_string_pretty(&h.event).unwrap_or_default()
    }
    fn pivot(&self, field: &str, value: &str) -> String {
        let clause = format!("{field}:\"{}\"", value.replace('"', "\\\""));
        let q = if self.q.trim().is_empty() {
            clause
        } else {
            format!("({}) AND {clause}", self.q)
        };
        format!(
            "/events?{}",
            serde_urlencoded::to_string([("q", q.as_str()), ("hours", &self.hours.to_string())])
                .unwrap_or_default()
        )
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
            error,
        }
        .render()?,
    ))
}
