//! The asset ledger's relations and graph (I.1.b), change control (I.1.d), saved queries and
//! exposure trend (I.1.e).

use crate::api::assets::AssetFilter;
use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_identify::change_rules::{ChangeRule, RuleDefinition};
use yunshou_identify::graph::{layout, Edge, Layout, Node};
use yunshou_model::relation::{Relation, RelationKind};
use yunshou_model::{ids, Permission};
use yunshou_store::{
    AlertFilter, AlertStatus, ChangeAlert, Decision, ExposedPort, ExposurePoint, Neighbourhood,
    PendingChange, SavedKind, SavedQuery,
};

/// Two ids in a path, both checked.
fn two_ids(Path((a, b)): Path<(String, String)>) -> ApiResult<(String, String)> {
    for id in [&a, &b] {
        if !ids::is_valid_id(id) {
            return Err(ApiError::bad_request(
                "id: not a valid identifier (expected a UUID)",
            ));
        }
    }
    Ok((a, b))
}

/// A new relation from the asset in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelation {
    /// The asset it points to.
    pub to_id: String,
    /// `runs_on`, `depends_on`, `connects_to` or `part_of`.
    pub kind: RelationKind,
    /// Free note, e.g. the port of a connection.
    pub note: Option<String>,
}

/// Relations of an asset, both directions.
#[utoipa::path(get, path = "/api/v1/assets/{id}/relations", tag = "assets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Relation>), (status = 404, body = Problem)))]
pub async fn list_relations(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Vec<Relation>>> {
    let scope = p.require(Permission::AssetsRead)?;
    Ok(Json(state.store.relations_of(scope, &id).await?))
}

/// Relate the asset to another one ("from" is the asset in the path).
#[utoipa::path(post, path = "/api/v1/assets/{id}/relations", tag = "assets", params(("id" = String, Path)), request_body = NewRelation,
    responses((status = 201, body = Relation), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn create_relation(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<NewRelation>,
) -> ApiResult<(StatusCode, Json<Relation>)> {
    Ok((
        StatusCode::CREATED,
        Json(relate(&state, &p, &id, req).await?),
    ))
}

/// Adds a relation; shared with the console.
pub async fn relate(
    state: &AppState,
    p: &Principal,
    from: &str,
    req: NewRelation,
) -> ApiResult<Relation> {
    let scope = p.require(Permission::AssetsWrite)?;
    if !ids::is_valid_id(&req.to_id) {
        return Err(ApiError::bad_request("to_id: not a valid asset id"));
    }
    Ok(state
        .store
        .add_relation(
            scope,
            from,
            &req.to_id,
            req.kind,
            req.note.as_deref(),
            &p.actor(),
        )
        .await?)
}

/// Remove a relation of the asset.
#[utoipa::path(delete, path = "/api/v1/assets/{id}/relations/{relation_id}", tag = "assets",
    params(("id" = String, Path), ("relation_id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete_relation(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    path: Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (asset, relation) = two_ids(path)?;
    let scope = p.require(Permission::AssetsWrite)?;
    let relations = state.store.relations_of(scope, &asset).await?;
    if !relations.iter().any(|r| r.id == relation) {
        return Err(yunshou_store::Error::NotFound.into());
    }
    state
        .store
        .delete_relation(scope, &relation, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How far a neighbourhood reaches.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DepthQuery {
    /// Hops, 1–3 (default 2).
    pub depth: Option<u32>,
}

/// The assets within `depth` hops of an asset and the relations among them.
#[utoipa::path(get, path = "/api/v1/assets/{id}/neighbourhood", tag = "assets", params(("id" = String, Path), DepthQuery),
    responses((status = 200, body = Neighbourhood), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn neighbourhood(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DepthQuery>,
) -> ApiResult<Json<Neighbourhood>> {
    let scope = p.require(Permission::AssetsRead)?;
    Ok(Json(
        state
            .store
            .neighbourhood(scope, &id, q.depth.unwrap_or(2))
            .await?,
    ))
}

/// Lays out a neighbourhood for drawing.
pub fn graph_layout(n: &Neighbourhood) -> Layout {
    let nodes = n
        .nodes
        .iter()
        .map(|x| Node {
            id: x.asset.id.clone(),
            label: x.asset.fields.name.clone(),
            kind: x.asset.fields.kind.clone(),
            value: x.asset.value,
            internet_facing: x.asset.internet_facing,
            depth: x.depth,
        })
        .collect();
    let edges = n
        .relations
        .iter()
        .map(|r| Edge {
            from: r.from_id.clone(),
            to: r.to_id.clone(),
            kind: r.kind,
        })
        .collect();
    layout(nodes, edges)
}

/// The relations graph of an asset's neighbourhood, drawn as SVG on the server.
#[utoipa::path(get, path = "/api/v1/assets/{id}/graph.svg", tag = "assets", params(("id" = String, Path), DepthQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = Problem)))]
pub async fn graph_svg(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DepthQuery>,
) -> ApiResult<Response> {
    let scope = p.require(Permission::AssetsRead)?;
    let n = state
        .store
        .neighbourhood(scope, &id, q.depth.unwrap_or(2))
        .await?;
    let t = crate::i18n::I18n {
        lang: crate::i18n::Lang::Zh,
    };
    let svg = crate::console::svg::relation_graph(&graph_layout(&n), &graph_texts(&t));
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

/// The graph's texts in the reader's language.
pub fn graph_texts(t: &crate::i18n::I18n) -> crate::console::svg::GraphTexts<'static> {
    crate::console::svg::GraphTexts {
        title: t.get("relation.graph"),
        kinds: RelationKind::ALL.map(|k| t.get(&format!("relation.{}", k.as_str()))),
        value: t.get("asset.value"),
    }
}

/// The tenant's change rules.
#[utoipa::path(get, path = "/api/v1/assets/change-rules", tag = "assets",
    responses((status = 200, body = Vec<ChangeRule>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<ChangeRule>>> {
    let scope = p.require(Permission::AssetsRead)?;
    Ok(Json(state.store.change_rules(scope).await?))
}

/// Add a change rule.
#[utoipa::path(post, path = "/api/v1/assets/change-rules", tag = "assets", request_body = RuleDefinition,
    responses((status = 201, body = ChangeRule), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(mut def): ApiJson<RuleDefinition>,
) -> ApiResult<(StatusCode, Json<ChangeRule>)> {
    let scope = p.require(Permission::AssetRulesManage)?;
    def.validate().map_err(ApiError::bad_request)?;
    let rule = state
        .store
        .create_change_rule(scope, def, &p.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// Replace a change rule's definition (e.g. to disable it).
#[utoipa::path(put, path = "/api/v1/assets/change-rules/{id}", tag = "assets", params(("id" = String, Path)), request_body = RuleDefinition,
    responses((status = 200, body = ChangeRule), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn update_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(mut def): ApiJson<RuleDefinition>,
) -> ApiResult<Json<ChangeRule>> {
    let scope = p.require(Permission::AssetRulesManage)?;
    def.validate().map_err(ApiError::bad_request)?;
    Ok(Json(
        state
            .store
            .update_change_rule(scope, &id, def, &p.actor())
            .await?,
    ))
}

/// Delete a change rule; the alerts it raised stay.
#[utoipa::path(delete, path = "/api/v1/assets/change-rules/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::AssetRulesManage)?;
    state
        .store
        .delete_change_rule(scope, &id, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of the change-alert list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// `open`, `acknowledged`, `pending`, `approved` or `rejected`.
    pub status: Option<String>,
    /// Only alerts of this asset.
    pub asset_id: Option<String>,
    /// Page size 1–1000.
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
}

impl AlertQuery {
    /// The store filter and page.
    pub fn filter(&self) -> ApiResult<(AlertFilter, yunshou_store::Page)> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(AlertStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("status: unknown alert status `{s}`"))
            })?),
        };
        let page = PageQuery {
            limit: self.limit,
            offset: self.offset,
        }
        .page()?;
        Ok((
            AlertFilter {
                status,
                asset_id: self.asset_id.clone().filter(|s| !s.is_empty()),
            },
            page,
        ))
    }
}

/// Change alerts, newest first.
#[utoipa::path(get, path = "/api/v1/assets/change-alerts", tag = "assets", params(AlertQuery),
    responses((status = 200, body = ListOf<ChangeAlert>), (status = 400, body = Problem)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<ListOf<ChangeAlert>>> {
    let scope = p.require(Permission::AssetsRead)?;
    let (filter, page) = q.filter()?;
    let (items, total) = state.store.change_alerts(scope, &filter, page).await?;
    Ok(Json(ListOf { items, total }))
}

/// A change alert with the held change behind it, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDetail {
    /// The alert.
    pub alert: ChangeAlert,
    /// The change awaiting a decision (for `pending` alerts and settled ones).
    pub pending: Option<PendingChange>,
}

/// One change alert.
#[utoipa::path(get, path = "/api/v1/assets/change-alerts/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 200, body = AlertDetail), (status = 404, body = Problem)))]
pub async fn get_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<AlertDetail>> {
    let scope = p.require(Permission::AssetsRead)?;
    let alert = state.store.change_alert(scope, &id).await?;
    let pending = match &alert.pending_id {
        Some(pid) => Some(state.store.pending_change(scope, pid).await?),
        None => None,
    };
    Ok(Json(AlertDetail { alert, pending }))
}

/// A decision on a change alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `acknowledge` (open alerts), `approve` or `reject` (held changes).
    pub decision: Decision,
    /// Why.
    pub note: Option<String>,
}

/// Acknowledge an alert, or approve or reject the held change behind it. Nobody approves
/// their own change.
#[utoipa::path(post, path = "/api/v1/assets/change-alerts/{id}/decision", tag = "assets", params(("id" = String, Path)), request_body = DecisionRequest,
    responses((status = 200, body = ChangeAlert), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> ApiResult<Json<ChangeAlert>> {
    Ok(Json(decide(&state, &p, &id, req).await?))
}

/// Decides on an alert; shared with the console.
pub async fn decide(
    state: &AppState,
    p: &Principal,
    id: &str,
    req: DecisionRequest,
) -> ApiResult<ChangeAlert> {
    let scope = p.require(Permission::AssetsApprove)?;
    Ok(state
        .store
        .decide_change_alert(scope, id, req.decision, req.note.as_deref(), &p.actor())
        .await?)
}

/// A query to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedQuery {
    /// Name.
    pub name: String,
    /// Query string of `GET /api/v1/assets`, e.g. `exposure=internet&port=22`.
    pub query: String,
    /// Visible to the whole tenant.
    #[serde(default)]
    pub shared: bool,
}

/// Checks that a saved query is a valid ledger query.
pub fn check_query(query: &str) -> ApiResult<()> {
    let filter: AssetFilter = serde_urlencoded::from_str(query.trim_start_matches('?'))
        .map_err(|e| ApiError::bad_request(format!("query: {e}")))?;
    filter
        .query()
        .map_err(|e| ApiError::bad_request(format!("query: {}", e.detail)))?;
    filter
        .sort()
        .map_err(|e| ApiError::bad_request(format!("query: {}", e.detail)))?;
    Ok(())
}

/// Saved ledger queries: the caller's own and the tenant's shared ones.
#[utoipa::path(get, path = "/api/v1/assets/queries", tag = "assets",
    responses((status = 200, body = Vec<SavedQuery>)))]
pub async fn list_queries(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<Vec<SavedQuery>>> {
    let scope = p.require(Permission::AssetsRead)?;
    Ok(Json(
        state
            .store
            .saved_queries(scope, SavedKind::Assets, &p.user.id)
            .await?,
    ))
}

/// Save a ledger query.
#[utoipa::path(post, path = "/api/v1/assets/queries", tag = "assets", request_body = NewSavedQuery,
    responses((status = 201, body = SavedQuery), (status = 400, body = Problem)))]
pub async fn create_query(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(req): ApiJson<NewSavedQuery>,
) -> ApiResult<(StatusCode, Json<SavedQuery>)> {
    Ok((
        StatusCode::CREATED,
        Json(save_query(&state, &p, req).await?),
    ))
}

/// Saves a query; shared with the console. Anyone who reads the ledger may save queries for
/// themselves; sharing with the tenant needs write access.
pub async fn save_query(
    state: &AppState,
    p: &Principal,
    req: NewSavedQuery,
) -> ApiResult<SavedQuery> {
    let scope = if req.shared {
        p.require(Permission::AssetsWrite)?
    } else {
        p.require(Permission::AssetsRead)?
    };
    check_query(&req.query)?;
    Ok(state
        .store
        .save_query(
            scope,
            SavedKind::Assets,
            &req.name,
            &req.query,
            req.shared,
            &p.actor(),
        )
        .await?)
}

/// Delete a saved query: one's own, or (administrators) a shared one.
#[utoipa::path(delete, path = "/api/v1/assets/queries/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete_query(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::AssetsRead)?;
    let admin = p.access.allows(Permission::AssetRulesManage);
    state
        .store
        .delete_saved_query(scope, SavedKind::Assets, &id, admin, &p.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many days of trend.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// 1–365 (default 30).
    pub days: Option<u32>,
}

/// The internet exposure now and over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureReport {
    /// Internet-facing ports of assets in use, most exposed first.
    pub ports: Vec<ExposedPort>,
    /// One point per day, oldest first.
    pub trend: Vec<ExposurePoint>,
}

/// Internet exposure: exposed ports now, and assets and ports per day.
#[utoipa::path(get, path = "/api/v1/assets/exposure", tag = "assets", params(DaysQuery),
    responses((status = 200, body = ExposureReport), (status = 400, body = Problem)))]
pub async fn exposure(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> ApiResult<Json<ExposureReport>> {
    let scope = p.require(Permission::AssetsRead)?;
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request("days: 1–365"));
    }
    Ok(Json(ExposureReport {
        ports: state.store.exposed_ports(scope).await?,
        trend: state.store.exposure_trend(scope, days).await?,
    }))
}
