//! Preparation and automation for the respond stage: emergency plans (versioned) and
//! drills (R.1.a), improvement items, the reporting profile, playbooks and their runs with
//! approvals.

use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdPath};
use crate::respond::runner::{self, RunError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yunshou_model::Permission;
use yunshou_playbooks::TriggerKind;
use yunshou_respond::classification::OperatorKind;
use yunshou_store::playbook_runs::{PlaybookRecord, PlaybookRun};
use yunshou_store::response_plans::{
    Drill, DrillInput, DrillRecord, ImprovementItem, NewImprovementItem, NewPlanVersion,
    ResponsePlan,
};

/// The current version of every class's plan.
#[utoipa::path(get, path = "/api/v1/plans", tag = "respond",
    responses((status = 200, body = Vec<ResponsePlan>), (status = 403, body = Problem)))]
pub async fn list_plans(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<ResponsePlan>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.current_plans(scope).await?))
}

/// Save a plan as its class's next version (earlier versions never change).
#[utoipa::path(post, path = "/api/v1/plans", tag = "respond", request_body = NewPlanVersion,
    responses((status = 201, body = ResponsePlan), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn save_plan(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(new): ApiJson<NewPlanVersion>,
) -> ApiResult<(StatusCode, Json<ResponsePlan>)> {
    let scope = p.require(Permission::PlansManage)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.save_plan(scope, &new, &p.actor()).await?),
    ))
}

/// One plan version.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, body = ResponsePlan), (status = 404, body = Problem)))]
pub async fn get_plan(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<ResponsePlan>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.plan(scope, &id).await?))
}

/// Every version of a class's plan, newest first.
#[utoipa::path(get, path = "/api/v1/plans/category/{category}", tag = "respond", params(("category" = String, Path)),
    responses((status = 200, body = Vec<ResponsePlan>)))]
pub async fn plan_versions(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path(category): Path<String>,
) -> ApiResult<Json<Vec<ResponsePlan>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.plan_versions(scope, &category).await?))
}

/// Drills, latest first.
#[utoipa::path(get, path = "/api/v1/drills", tag = "respond", responses((status = 200, body = Vec<Drill>)))]
pub async fn list_drills(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<Drill>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.drills(scope).await?))
}

/// Schedule a drill of a plan version.
#[utoipa::path(post, path = "/api/v1/drills", tag = "respond", request_body = DrillInput,
    responses((status = 201, body = Drill), (status = 400, body = Problem)))]
pub async fn schedule_drill(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(input): ApiJson<DrillInput>,
) -> ApiResult<(StatusCode, Json<Drill>)> {
    let scope = p.require(Permission::PlansManage)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .schedule_drill(scope, &input, &p.actor())
                .await?,
        ),
    ))
}

/// Record a drill as held: steps with durations and findings.
#[utoipa::path(post, path = "/api/v1/drills/{id}/record", tag = "respond", params(("id" = String, Path)),
    request_body = DrillRecord, responses((status = 200, body = Drill), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn record_drill(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(rec): ApiJson<DrillRecord>,
) -> ApiResult<Json<Drill>> {
    let scope = p.require(Permission::PlansManage)?;
    Ok(Json(
        state
            .store
            .record_drill(scope, &id, &rec, &p.actor())
            .await?,
    ))
}

/// Raise an improvement item from a drill.
#[utoipa::path(post, path = "/api/v1/drills/{id}/improvements", tag = "respond", params(("id" = String, Path)),
    request_body = NewImprovementItem, responses((status = 201, body = ImprovementItem), (status = 400, body = Problem)))]
pub async fn add_drill_improvement(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(new): ApiJson<NewImprovementItem>,
) -> ApiResult<(StatusCode, Json<ImprovementItem>)> {
    let scope = p.require(Permission::PlansManage)?;
    let item = state
        .store
        .add_improvement_item(scope, "drill", &id, &new, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// How an improvement item was closed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseItem {
    /// What was changed: a rule id, a baseline, a plan version, a document.
    pub link: String,
    /// How.
    pub resolution: String,
}

/// Close an improvement item (of an incident or a drill), naming what was changed.
#[utoipa::path(post, path = "/api/v1/improvements/{id}/close", tag = "respond", params(("id" = String, Path)),
    request_body = CloseItem, responses((status = 200, body = ImprovementItem), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn close_improvement(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(c): ApiJson<CloseItem>,
) -> ApiResult<Json<ImprovementItem>> {
    let item = {
        let scope = p.require(Permission::IncidentsRead)?;
        state.store.improvement_item(scope, &id).await?
    };
    let needed = if item.source_kind == "drill" {
        Permission::PlansManage
    } else {
        Permission::IncidentsManage
    };
    let scope = p.require(needed)?;
    Ok(Json(
        state
            .store
            .close_improvement_item(scope, &id, &c.link, &c.resolution, &p.actor())
            .await?,
    ))
}

/// The reporting profile: who the organisation is (decides whom it reports to, how fast).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSettings {
    /// critical_infrastructure | state_organ | other.
    pub operator_kind: OperatorKind,
}

/// The reporting profile.
#[utoipa::path(get, path = "/api/v1/response-settings", tag = "respond", responses((status = 200, body = ResponseSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ResponseSettings>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(ResponseSettings {
        operator_kind: state.store.operator_kind(scope).await?,
    }))
}

/// Set the reporting profile.
#[utoipa::path(put, path = "/api/v1/response-settings", tag = "respond", request_body = ResponseSettings,
    responses((status = 200, body = ResponseSettings), (status = 400, body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(s): ApiJson<ResponseSettings>,
) -> ApiResult<Json<ResponseSettings>> {
    let scope = p.require(Permission::PlansManage)?;
    state
        .store
        .set_operator_kind(scope, s.operator_kind, &p.actor())
        .await?;
    Ok(Json(s))
}

/// The tenant's playbooks.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "respond", responses((status = 200, body = Vec<PlaybookRecord>)))]
pub async fn list_playbooks(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<PlaybookRecord>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.playbooks(scope).await?))
}

/// Save a playbook (the request body is its YAML; the same `id` saves the next version).
/// Every problem is listed with its path.
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "respond",
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = PlaybookRecord), (status = 400, body = Problem)))]
pub async fn save_playbook(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    body: String,
) -> ApiResult<(StatusCode, Json<PlaybookRecord>)> {
    let scope = p.require(Permission::PlaybooksManage)?;
    let pb = yunshou_playbooks::parse(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let rec = state
        .store
        .save_playbook(scope, &pb.id, &pb.name, &body, pb.enabled, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// Switch a playbook on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSwitch {
    /// Runs on its triggers.
    pub enabled: bool,
}

/// Enable or disable a playbook.
#[utoipa::path(patch, path = "/api/v1/playbooks/{id}", tag = "respond", params(("id" = String, Path)),
    request_body = PlaybookSwitch, responses((status = 204, description = "Changed"), (status = 404, body = Problem)))]
pub async fn switch_playbook(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(s): ApiJson<PlaybookSwitch>,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::PlaybooksManage)?;
    state
        .store
        .set_playbook_enabled(scope, &id, s.enabled, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a playbook by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `alert` or `incident` (the playbook's trigger kind).
    pub trigger_kind: String,
    /// The alert or incident.
    pub trigger_id: String,
    /// Describe every step without doing anything (default true).
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

fn run_error(e: RunError) -> ApiError {
    match e {
        RunError::Store(e) => e.into(),
        RunError::Playbook(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
    }
}

/// Run (or dry-run) a playbook on an alert or incident: planned whole first (a missing
/// value or an unsafe one refuses the run with 422), then carried out until a disruptive
/// step waits for approval.
#[utoipa::path(post, path = "/api/v1/playbooks/{id}/run", tag = "respond", params(("id" = String, Path)),
    request_body = RunRequest, responses((status = 201, body = PlaybookRun), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn run_playbook(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(r): ApiJson<RunRequest>,
) -> ApiResult<(StatusCode, Json<PlaybookRun>)> {
    let scope = p.require(Permission::PlaybooksManage)?;
    let kind = match r.trigger_kind.as_str() {
        "alert" => TriggerKind::Alert,
        "incident" => TriggerKind::Incident,
        _ => return Err(ApiError::bad_request("trigger_kind: alert or incident")),
    };
    if !yunshou_model::ids::is_valid_id(&r.trigger_id) {
        return Err(ApiError::bad_request("trigger_id: not a valid identifier"));
    }
    let run_id = runner::start(
        &state,
        scope,
        &id,
        kind,
        &r.trigger_id,
        r.dry_run,
        &p.actor(),
    )
    .await
    .map_err(run_error)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.playbook_run(scope, &run_id).await?),
    ))
}

/// Recent runs.
#[utoipa::path(get, path = "/api/v1/playbook-runs", tag = "respond", responses((status = 200, body = Vec<PlaybookRun>)))]
pub async fn list_runs(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<PlaybookRun>>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.playbook_runs(scope, None).await?))
}

/// A run with its steps.
#[utoipa::path(get, path = "/api/v1/playbook-runs/{id}", tag = "respond", params(("id" = String, Path)),
    responses((status = 200, body = PlaybookRun), (status = 404, body = Problem)))]
pub async fn get_run(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<PlaybookRun>> {
    let scope = p.require(Permission::IncidentsRead)?;
    Ok(Json(state.store.playbook_run(scope, &id).await?))
}

/// A decision on a waiting step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Approve (and carry on) or reject (and stop the run).
    pub approve: bool,
}

/// Approve or reject the step a run waits on. Nobody decides on a run they started.
#[utoipa::path(post, path = "/api/v1/playbook-runs/{id}/steps/{index}/decision", tag = "respond",
    params(("id" = String, Path), ("index" = i64, Path)), request_body = Decision,
    responses((status = 200, body = PlaybookRun), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    Path((id, index)): Path<(String, i64)>,
    ApiJson(d): ApiJson<Decision>,
) -> ApiResult<Json<PlaybookRun>> {
    let scope = p.require(Permission::PlaybooksApprove)?;
    if !yunshou_model::ids::is_valid_id(&id) {
        return Err(ApiError::bad_request("id: not a valid identifier"));
    }
    runner::decide(&state, scope, &id, index, d.approve, &p.actor())
        .await
        .map_err(run_error)?;
    Ok(Json(state.store.playbook_run(scope, &id).await?))
}
