//! Imported rule sets in the console (MO.2.a): upload a directory of Sigma rules (or
//! several files) as a named set for this tenant, see what it loaded — or every reason it
//! was refused — and remove sets. Imports go through `api::rule_sets::import_rule_set`.

use super::asset_control::Empty;
use super::{done, page, short_time, Console, ConsoleError, ConsoleForm, Layout};
use crate::api::rule_sets::{import_rule_set, read_upload, remove_set, RuleSetImport};
use crate::extract::IdPath;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use yunshou_model::Permission;
use yunshou_store::rule_sets::RuleSet;

#[derive(Template)]
#[template(path = "rule_sets.html")]
struct RuleSetsPage {
    l: Layout,
    sets: Vec<RuleSet>,
    can_manage: bool,
    name: String,
    result: Option<RuleSetImport>,
    /// Why an upload was refused, one reason a line.
    problems: Vec<String>,
}

impl RuleSetsPage {
    fn time(&self, t: &str) -> String {
        short_time(t)
    }
}

async fn show(
    state: &AppState,
    l: Layout,
    name: String,
    result: Option<RuleSetImport>,
    problems: Vec<String>,
) -> Result<Response, ConsoleError> {
    let scope = l.p.require(Permission::RulesRead)?.clone();
    let sets = state.store.rule_sets(&scope).await?;
    let can_manage = l.p.can(Permission::RulesManage);
    let flash = l.flash.is_some();
    Ok(page(
        flash,
        RuleSetsPage {
            l,
            sets,
            can_manage,
            name,
            result,
            problems,
        }
        .render()?,
    ))
}

/// `GET /rules/sets`.
pub async fn list(
    State(state): State<AppState>,
    Console(l): Console,
) -> Result<Response, ConsoleError> {
    show(&state, l, String::new(), None, vec![]).await
}

/// `POST /rules/sets` (multipart: `_csrf` first, then `name` and `file` parts): imports a
/// set and shows what it loaded, or every reason it was refused.
pub async fn upload(
    State(state): State<AppState>,
    Console(l): Console,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    l.p.require(Permission::RulesManage)?;
    let (mut csrf_ok, mut seen_csrf, mut name) = (false, false, String::new());
    let csrf = l.csrf().to_string();
    let files = read_upload(&mut form, |field, text| {
        match field {
            "_csrf" => {
                seen_csrf = true;
                csrf_ok = !csrf.is_empty() && text == csrf;
            }
            "name" => name = text,
            _ => {}
        }
        // The token comes first; nothing else is read without it.
        seen_csrf && csrf_ok
    })
    .await;
    if !csrf_ok {
        return Err(ConsoleError::csrf_refused());
    }
    let outcome = match files {
        Ok(files) => import_rule_set(&state, &l.p, &name, files).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(r) => show(&state, l, String::new(), Some(r), vec![]).await,
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let problems = e.detail.lines().map(str::to_string).collect();
            show(&state, l, name, None, problems).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /rules/sets/{id}/delete`: removes a set.
pub async fn delete(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    f: ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    remove_set(&state, &f.layout.p, &id)
        .await
        .map_err(ConsoleError::back("/rules/sets"))?;
    Ok(done("/rules/sets", f.layout.t.get("rset.removed")))
}
