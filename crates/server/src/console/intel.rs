//! Threat-intelligence feeds in the console (MO.1.b): the tenant's feeds with indicator and
//! hit counts, an upload form (STIX 2.1, MISP JSON/CSV, CSV) that reports what was loaded and
//! what was refused, and removal. Imports go through `api::intel::import_feed`.

use super::asset_control::Empty;
use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::intel::{import_feed, remove_feed, FeedImport};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use yunshou_model::Permission;
use yunshou_store::detection_settings::IntelFeed;

/// Formats the upload form offers.
const FORMATS: [&str; 5] = ["auto", "stix", "misp-json", "misp-csv", "csv"];

#[derive(Template)]
#[template(path = "intel.html")]
struct IntelPage {
    l: Layout,
    feeds: Vec<IntelFeed>,
    can_manage: bool,
    name: String,
    feed_format: String,
    result: Option<FeedImport>,
    error: Option<String>,
}

impl IntelPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
    fn formats(&self) -> &'static [&'static str] {
        &FORMATS
    }
}

async fn show(
    state: &AppState,
    l: Layout,
    name: String,
    feed_format: String,
    result: Option<FeedImport>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    // The same permission as `GET /api/v1/intel/feeds`.
    let scope = l.p.require(Permission::AlertsRead)?.clone();
    let feeds = state.store.intel_feeds(&scope).await?;
    let can_manage = l.p.can(Permission::IntelManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        IntelPage {
            l,
            feeds,
            can_manage,
            name,
            feed_format,
            result,
            error,
        }
        .render()?,
    ))
}

/// `GET /intel`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    show(&state, l, String::new(), "auto".into(), None, None).await
}

fn bad(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::Page(StatusCode::BAD_REQUEST, detail.into())
}

/// `POST /intel` (multipart: `_csrf` first, then `name`, `format`, `file`): imports a feed
/// and shows what was loaded and refused.
pub async fn upload(
    State(state): State<AppState>,
    Console(l): Console,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    l.p.require(Permission::IntelManage)?;
    let (mut csrf_ok, mut name, mut format, mut file) = (false, String::new(), None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("form: {e}")))?
    {
        let field_name = field.name().unwrap_or("").to_string();
        // The token comes before anything is read into memory.
        if !csrf_ok && field_name != "_csrf" {
            break;
        }
        match field_name.as_str() {
            "_csrf" => {
                let sent = field.text().await.map_err(|e| bad(format!("form: {e}")))?;
                csrf_ok = !l.csrf().is_empty() && sent == l.csrf();
                if !csrf_ok {
                    break;
                }
            }
            "name" => name = field.text().await.map_err(|e| bad(format!("name: {e}")))?,
            "format" => {
                format = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| bad(format!("format: {e}")))?,
                )
            }
            "file" => {
                let bytes: Bytes = field.bytes().await.map_err(|e| {
                    ConsoleError::Page(StatusCode::PAYLOAD_TOO_LARGE, format!("file: {e}"))
                })?;
                file = Some(bytes);
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(ConsoleError::csrf_refused());
    }
    let format = format.unwrap_or_else(|| "auto".into());
    let outcome = match file.filter(|f| !f.is_empty()) {
        None => Err("file: choose a feed file".to_string()),
        Some(_) if name.trim().is_empty() => Err("name: give the feed a name".to_string()),
        Some(body) => match import_feed(&state, &l.p, &name, Some(&format), body).await {
            Ok(r) => Ok(r),
            Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
                Err(e.detail)
            }
            Err(e) => return Err(e.into()),
        },
    };
    match outcome {
        Ok(r) => show(&state, l, String::new(), "auto".into(), Some(r), None).await,
        Err(e) => show(&state, l, name, format, None, Some(e)).await,
    }
}

/// `POST /intel/{id}/delete`: removes a feed.
pub async fn delete(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    remove_feed(&state, &f.layout.p, &id)
        .await
        .map_err(ConsoleError::back("/intel"))?;
    Ok(done("/intel", f.layout.t.get("intel.removed")))
}
