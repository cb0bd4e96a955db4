//! Rule directories a tenant imports (MO.2.a): Sigma files uploaded as one named set,
//! compiled before anything is kept — a set with a document that does not load, or with an
//! id another loaded rule has, is refused whole with every reason — and then evaluated on
//! that tenant's events only.

use super::rules::detector;
use crate::auth::{ApiPrincipal, Principal};
use crate::detection::RuleBook;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::IdPath;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::collections::HashSet;
use utoipa::ToSchema;
use yunshou_model::Permission;
use yunshou_store::rule_sets::{RuleFile, RuleSet, RuleSetContent};

/// Largest upload of one set.
pub const SET_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Most files in one set.
pub const MAX_FILES: usize = 5_000;
/// Reasons listed when a set is refused.
const REASONS_SHOWN: usize = 20;

/// What an import loaded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleSetImport {
    /// The set as saved.
    pub set: RuleSet,
    /// Detection rules in it.
    pub rules: usize,
    /// Correlation rules in it.
    pub correlations: usize,
    /// Files left out because they are not YAML (`README.md`, licences …).
    pub skipped_files: Vec<String>,
}

/// An uploaded file's path, made relative and free of `..`; `None` when nothing is left.
fn clean_path(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn is_yaml(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".yml") || lower.ends_with(".yaml")
}

/// Compiles and saves a set, replacing the tenant's set of the same name; shared with the
/// console. `files` are (path as uploaded, content).
pub async fn import_rule_set(
    state: &AppState,
    p: &Principal,
    name: &str,
    files: Vec<(String, Vec<u8>)>,
) -> ApiResult<RuleSetImport> {
    let scope = p.require(Permission::RulesManage)?;
    let d = detector(state)?.clone();
    if files.len() > MAX_FILES {
        return Err(ApiError::bad_request(format!(
            "files: at most {MAX_FILES} in one set"
        )));
    }
    let mut kept = vec![];
    let mut skipped_files = vec![];
    let mut problems = vec![];
    for (raw, bytes) in files {
        let Some(path) = clean_path(&raw) else {
            problems.push(format!("{raw:?}: not a file name"));
            continue;
        };
        if !is_yaml(&path) {
            skipped_files.push(path);
            continue;
        }
        match String::from_utf8(bytes) {
            Ok(text) => kept.push(RuleFile { path, text }),
            Err(_) => problems.push(format!("{path}: not UTF-8 text")),
        }
    }
    // The set is named after its directory unless a name is given.
    let name = match name.trim() {
        "" => kept
            .first()
            .and_then(|f| f.path.split('/').next().filter(|_| f.path.contains('/')))
            .unwrap_or_default()
            .to_string(),
        n => n.to_string(),
    };
    if name.is_empty() {
        problems.push("name: give the set a name (or upload a directory)".into());
    }
    if kept.is_empty() {
        problems.push("files: no .yml or .yaml file".into());
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    // Compiled together with the tenant's other sets, as the detector will.
    let mut sets: Vec<RuleSetContent> = state
        .store
        .rule_set_contents(Some(scope.tenant_id()))
        .await?
        .into_iter()
        .filter(|s| s.name != name)
        .collect();
    let new_set = RuleSetContent {
        tenant_id: scope.tenant_id().to_string(),
        name: name.clone(),
        files: kept.clone(),
    };
    sets.push(new_set.clone());
    let shared = d.book().clone();
    let (rules, correlations, problems) = tokio::task::spawn_blocking(move || {
        let mut problems: Vec<String> = vec![];
        let book = RuleBook::from_sets(&sets, &shared);
        for e in book.errors() {
            let file = e.file.display().to_string();
            problems.push(if file.is_empty() {
                e.reason.clone()
            } else {
                format!("{file}#{}: {}", e.document, e.reason)
            });
        }
        // The set's own counts need its documents read, not compiled again.
        let mut mine = yunshou_detect::sigma::Loaded::default();
        for f in &new_set.files {
            yunshou_detect::sigma::load_text(std::path::Path::new(&f.path), &f.text, &mut mine);
        }
        let mut seen = HashSet::new();
        let engine = &book.engine;
        let ids = engine
            .rules()
            .iter()
            .map(|r| (r.rule.id.clone(), r.rule.file.display().to_string()))
            .chain((0..engine.correlation_count()).map(|i| {
                let c = engine.correlation(i);
                (c.id.clone(), format!("correlation {}", c.title))
            }));
        for (id, file) in ids {
            if shared.by_id.contains_key(&id) {
                problems.push(format!("{file}: id {id} is already a loaded rule's"));
            } else if !seen.insert(id.clone()) {
                problems.push(format!("{file}: id {id} appears twice"));
            }
        }
        let (rules, correlations) = (mine.rules.len(), mine.correlations.len());
        if rules + correlations == 0 && problems.is_empty() {
            problems.push("files: no Sigma rule in them".into());
        }
        (rules, correlations, problems)
    })
    .await
    .map_err(ApiError::internal)?;
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let set = state
        .store
        .save_rule_set(
            scope,
            &name,
            &kept,
            (rules + correlations) as i64,
            &p.actor(),
        )
        .await?;
    d.reload_rule_sets(Some(scope.tenant_id()))
        .await
        .map_err(ApiError::internal)?;
    Ok(RuleSetImport {
        set,
        rules,
        correlations,
        skipped_files,
    })
}

/// A set refused whole, with (the first of) its reasons, one a line.
fn refused(problems: Vec<String>) -> ApiError {
    let mut detail = format!("the set was not imported ({} problems):", problems.len());
    for p in problems.iter().take(REASONS_SHOWN) {
        detail.push('\n');
        detail.push_str(p);
    }
    if problems.len() > REASONS_SHOWN {
        detail.push_str(&format!("\n… and {} more", problems.len() - REASONS_SHOWN));
    }
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

/// Reads a multipart upload: an optional `name` field and `file` parts named by their path.
pub async fn read_upload(
    form: &mut Multipart,
    mut on_text: impl FnMut(&str, String) -> bool,
) -> ApiResult<Vec<(String, Vec<u8>)>> {
    let mut files = vec![];
    let mut total = 0usize;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("form: {e}")))?
    {
        let field_name = field.name().unwrap_or("").to_string();
        if field_name == "file" || field_name == "files" {
            let path = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("file {path}: {e}"))
            })?;
            // A form's file input left empty still sends a part, without a name.
            if path.is_empty() && bytes.is_empty() {
                continue;
            }
            total += bytes.len();
            if total > SET_BODY_LIMIT {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("files: at most {} MiB in one set", SET_BODY_LIMIT >> 20),
                ));
            }
            files.push((path, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| ApiError::bad_request(format!("{field_name}: {e}")))?;
            if !on_text(&field_name, text) {
                break;
            }
        }
    }
    Ok(files)
}

/// Import a directory of Sigma rules as a named set for this tenant (multipart: `name`,
/// then `file` parts whose file names are their paths); refused whole (422, every reason)
/// when a document does not load or an id is taken.
#[utoipa::path(post, path = "/api/v1/rules/sets", tag = "rules",
    request_body(content = String, description = "multipart/form-data: name, file…", content_type = "multipart/form-data"),
    responses((status = 201, body = RuleSetImport), (status = 400, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_set(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    mut form: Multipart,
) -> ApiResult<(StatusCode, Json<RuleSetImport>)> {
    p.require(Permission::RulesManage)?;
    let mut name = String::new();
    let files = read_upload(&mut form, |field, text| {
        if field == "name" {
            name = text;
        }
        true
    })
    .await?;
    let out = import_rule_set(&state, &p, &name, files).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The tenant's imported rule sets.
#[utoipa::path(get, path = "/api/v1/rules/sets", tag = "rules",
    responses((status = 200, body = Vec<RuleSet>), (status = 403, body = Problem)))]
pub async fn list_sets(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<RuleSet>>> {
    let scope = p.require(Permission::RulesRead)?;
    Ok(Json(state.store.rule_sets(scope).await?))
}

/// Removes a set and its rules from the tenant's detection; shared with the console.
pub async fn remove_set(state: &AppState, p: &Principal, id: &str) -> ApiResult<()> {
    let scope = p.require(Permission::RulesManage)?;
    let d = detector(state)?;
    state.store.delete_rule_set(scope, id, &p.actor()).await?;
    d.reload_rule_sets(Some(scope.tenant_id()))
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Remove an imported rule set (audited).
#[utoipa::path(delete, path = "/api/v1/rules/sets/{id}", tag = "rules", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_set(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    remove_set(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_paths_stay_inside_the_set() {
        assert_eq!(
            clean_path("rules/linux/a.yml").as_deref(),
            Some("rules/linux/a.yml")
        );
        assert_eq!(
            clean_path("../../etc/passwd").as_deref(),
            Some("etc/passwd")
        );
        assert_eq!(
            clean_path("/abs\\win\\b.yaml").as_deref(),
            Some("abs/win/b.yaml")
        );
        assert_eq!(clean_path("./.."), None);
        assert!(is_yaml("X.YML") && is_yaml("a.yaml") && !is_yaml("README.md"));
    }
}
