//! The evidence forms of an incident's page: upload (multipart, spooled, then taken into
//! the vault and hashed), an event search captured as evidence, and a transfer recorded in
//! the custody log.

use super::incidents::{back, Fields};
use super::{done, Console, ConsoleError, ConsoleForm};
use crate::extract::IdPath;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::io::{Seek, Write};
use yunshou_model::Permission;
use yunshou_store::evidence_vault::EvidenceIntake;

fn bad(detail: impl Into<String>) -> ConsoleError {
    ConsoleError::Page(StatusCode::BAD_REQUEST, detail.into())
}

/// Largest evidence upload form: the vault's largest item and room for the other fields.
pub const EVIDENCE_FORM_LIMIT: usize =
    yunshou_store::evidence_vault::MAX_EVIDENCE_BYTES as usize + 1024 * 1024;

/// `POST /incidents/{id}/evidence` (multipart: `_csrf` first, then the fields, `file`): the
/// file is spooled to a temporary file, then taken into the vault, hashed.
pub async fn upload_evidence(
    State(state): State<AppState>,
    Console(l): Console,
    IdPath(id): IdPath,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::EvidenceAccess)?.clone();
    l.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let mut csrf_ok = false;
    let (mut kind, mut source, mut description) = (String::new(), String::new(), String::new());
    let mut file: Option<(String, String, std::fs::File)> = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("form: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        // The token comes before anything else is read.
        if !csrf_ok && name != "_csrf" {
            break;
        }
        let text_field = |t: Result<String, _>| t.map_err(|e| bad(format!("form: {e}")));
        match name.as_str() {
            "_csrf" => {
                let sent = text_field(field.text().await)?;
                csrf_ok = !l.csrf().is_empty() && sent == l.csrf();
                if !csrf_ok {
                    break;
                }
            }
            "kind" => kind = text_field(field.text().await)?,
            "source" => source = text_field(field.text().await)?,
            "description" => description = text_field(field.text().await)?,
            "file" => {
                let file_name = field.file_name().unwrap_or("").to_string();
                let media = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let mut tmp = tempfile::tempfile().map_err(|e| {
                    ConsoleError::Page(StatusCode::INTERNAL_SERVER_ERROR, format!("spool: {e}"))
                })?;
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    ConsoleError::Page(StatusCode::PAYLOAD_TOO_LARGE, format!("file: {e}"))
                })? {
                    tmp.write_all(&chunk).map_err(|e| {
                        ConsoleError::Page(StatusCode::INTERNAL_SERVER_ERROR, format!("spool: {e}"))
                    })?;
                }
                tmp.rewind().map_err(|e| {
                    ConsoleError::Page(StatusCode::INTERNAL_SERVER_ERROR, format!("spool: {e}"))
                })?;
                file = Some((file_name, media, tmp));
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(ConsoleError::csrf_refused());
    }
    let Some((name, media_type, tmp)) = file.filter(|(n, _, _)| !n.is_empty()) else {
        return Err(ConsoleError::Back(to, "file: choose a file".into()));
    };
    if !["file", "pcap", "screenshot"].contains(&kind.as_str()) {
        return Err(ConsoleError::Back(
            to,
            "kind: one of file, pcap, screenshot".into(),
        ));
    }
    let intake = EvidenceIntake {
        kind,
        name,
        media_type,
        source: source.trim().to_string(),
        description: description.trim().to_string(),
    };
    state
        .store
        .take_evidence(&scope, &id, intake, Box::new(tmp), &l.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, l.t.get("inc.evidence_taken")))
}

/// `POST /incidents/{id}/evidence/search`: the events an event search finds, kept as a
/// JSON-lines item (`q`, `from`, `to` as RFC 3339 or `YYYY-MM-DD`, `description`).
pub async fn capture_search(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let time = |v: &str, end: bool| {
        if v.len() == 10 {
            format!("{v}T{}Z", if end { "23:59:59" } else { "00:00:00" })
        } else {
            v.to_string()
        }
    };
    let capture = crate::api::evidence::SearchCapture {
        q: fields.get("q").trim().to_string(),
        from: time(fields.get("from").trim(), false),
        to: time(fields.get("to").trim(), true),
        limit: None,
        description: fields.get("description").trim().to_string(),
    };
    crate::api::evidence::capture_search_evidence(&state, &f.layout.p, &id, &capture)
        .await
        .map_err(|e| ConsoleError::Back(to.clone(), e.detail))?;
    Ok(done(&to, f.layout.t.get("inc.evidence_taken")))
}

/// `POST /incidents/{id}/evidence/transfer`: a hand-over (to whom, how) entered in the
/// custody log, for one item or the whole set.
pub async fn record_transfer(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let scope = f.layout.p.require(Permission::EvidenceAccess)?;
    f.layout.p.require(Permission::IncidentsManage)?;
    let to = format!("/incidents/{id}");
    let fields = Fields(&f.form);
    let detail = fields.get("detail").trim();
    if detail.is_empty() {
        return Err(ConsoleError::Back(to, "detail: to whom and how".into()));
    }
    let item = Some(fields.get("evidence_id").trim()).filter(|e| !e.is_empty());
    if let Some(e) = item {
        state
            .store
            .evidence_item(scope, &id, e)
            .await
            .map_err(back(&to))?;
    }
    state
        .store
        .record_custody(scope, &id, "transfer", item, detail, &f.layout.p.actor())
        .await
        .map_err(back(&to))?;
    Ok(done(&to, f.layout.t.get("inc.saved")))
}
