//! The asset ledger API (clause I.1).

use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdPath, ListOf, PageQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use yunshou_model::asset::{Asset, AssetFields, Lifecycle};
use yunshou_model::Permission;
use yunshou_store::{
    AssetChange, AssetGroup, AssetQuery, AssetSort, ChangeAlert, ChangeOutcome, PendingChange,
};

/// A change that a change rule holds until someone else approves it (I.1.d).
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldChange {
    /// Always `pending_approval`.
    pub status: &'static str,
    /// The held change.
    pub pending: PendingChange,
    /// The alerts raised; approve or reject one at `/api/v1/assets/change-alerts/{id}/decision`.
    pub alerts: Vec<ChangeAlert>,
}

/// The answer to a change: 200 with the asset, or 202 with the held change.
pub struct Changed(pub ChangeOutcome);

impl IntoResponse for Changed {
    fn into_response(self) -> Response {
        match self.0 {
            ChangeOutcome::Applied { asset, .. } => Json(asset).into_response(),
            ChangeOutcome::Held { pending, alerts } => (
                StatusCode::ACCEPTED,
                Json(HeldChange {
                    status: "pending_approval",
                    pending,
                    alerts,
                }),
            )
                .into_response(),
        }
    }
}

/// Filters of `GET /api/v1/assets` and `GET /api/v1/assets/stats`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssetFilter {
    /// Free text anywhere in the asset's attributes.
    pub q: Option<String>,
    /// IP address or CIDR block, IPv4 or IPv6.
    pub ip: Option<String>,
    /// Domain; matches subdomains too.
    pub domain: Option<String>,
    /// Open port.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub port: Option<u16>,
    /// Middleware name prefix.
    pub middleware: Option<String>,
    /// Application name prefix.
    pub application: Option<String>,
    /// Technology prefix.
    pub tech: Option<String>,
    /// Lifecycle state.
    pub state: Option<String>,
    /// Business type.
    pub business_type: Option<String>,
    /// Accountable owner.
    pub owner: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// `internet` or `internal`.
    pub exposure: Option<String>,
    /// `priority` (default), `name` or `updated` (lists only).
    pub sort: Option<String>,
    /// What to group by (stats only): kind, lifecycle, business_type, business_system, owner,
    /// department, zone, value, priority, exposure, sensitivity.
    pub group_by: Option<String>,
    /// Page size 1–1000 (lists only).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub limit: Option<i64>,
    /// Items to skip (lists only).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub offset: Option<i64>,
    /// `csv` (default) or `json` (exports only).
    pub format: Option<String>,
}

/// Reads a number that an HTML form may send as an empty string (meaning: not given).
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

impl AssetFilter {
    /// The validated store query.
    pub fn query(&self) -> ApiResult<AssetQuery> {
        let text = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        for (name, v) in [
            ("q", &self.q),
            ("ip", &self.ip),
            ("domain", &self.domain),
            ("middleware", &self.middleware),
            ("application", &self.application),
            ("tech", &self.tech),
        ] {
            if v.as_ref().is_some_and(|s| s.len() > 200) {
                return Err(ApiError::bad_request(format!(
                    "{name}: at most 200 characters"
                )));
            }
        }
        if let Some(ip) = text(&self.ip) {
            yunshou_model::asset::cidr_range(&ip)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        let state = text(&self.state)
            .map(|s| {
                Lifecycle::parse(&s).ok_or_else(|| {
                    ApiError::bad_request(format!("state: unknown lifecycle state `{s}`"))
                })
            })
            .transpose()?;
        let internet = match text(&self.exposure).as_deref() {
            None => None,
            Some("internet") => Some(true),
            Some("internal") => Some(false),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "exposure: must be internet or internal, got `{other}`"
                )))
            }
        };
        if self.port == Some(0) {
            return Err(ApiError::bad_request("port: must be 1–65535"));
        }
        Ok(AssetQuery {
            q: text(&self.q),
            ip: text(&self.ip),
            domain: text(&self.domain),
            port: self.port,
            middleware: text(&self.middleware),
            application: text(&self.application),
            tech: text(&self.tech),
            state,
            business_type: text(&self.business_type),
            owner: text(&self.owner),
            kind: text(&self.kind),
            internet,
        })
    }

    /// The validated list order.
    pub fn sort(&self) -> ApiResult<AssetSort> {
        match self.sort.as_deref().unwrap_or("priority") {
            "priority" | "" => Ok(AssetSort::Priority),
            "name" => Ok(AssetSort::Name),
            "updated" => Ok(AssetSort::Updated),
            other => Err(ApiError::bad_request(format!(
                "sort: must be priority, name or updated, got `{other}`"
            ))),
        }
    }
}

/// Parses asset fields from JSON, naming the offending field, then validates them.
pub fn parse_fields(value: serde_json::Value) -> ApiResult<AssetFields> {
    let mut fields: AssetFields = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_request(if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        })
    })?;
    fields
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(fields)
}

/// Applies an RFC 7396 JSON merge patch: objects merge, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// Creates an asset from a JSON object of its fields plus an optional `lifecycle`.
pub async fn create(
    state: &AppState,
    p: &Principal,
    mut body: serde_json::Value,
) -> ApiResult<Asset> {
    let scope = p.require(Permission::AssetsWrite)?;
    let obj = body
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("body: expected a JSON object"))?;
    let lifecycle = match obj.remove("lifecycle") {
        None | Some(serde_json::Value::Null) => Lifecycle::Planned,
        Some(v) => v
            .as_str()
            .and_then(Lifecycle::parse)
            .ok_or_else(|| ApiError::bad_request(format!("lifecycle: unknown state {v}")))?,
    };
    let fields = parse_fields(body)?;
    Ok(state
        .store
        .create_asset(scope, fields, lifecycle, &p.actor())
        .await?
        .0)
}

/// The tenant's assets, highest protection priority first.
#[utoipa::path(get, path = "/api/v1/assets", tag = "assets", params(AssetFilter),
    responses((status = 200, body = ListOf<Asset>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn list_assets(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(f): ApiQuery<AssetFilter>,
) -> ApiResult<Json<ListOf<Asset>>> {
    let scope = p.require(Permission::AssetsRead)?;
    let page = PageQuery {
        limit: f.limit,
        offset: f.offset,
    }
    .page()?;
    let (items, total) = state
        .store
        .list_assets(scope, &f.query()?, f.sort()?, page)
        .await?;
    Ok(Json(ListOf { items, total }))
}

/// Add an asset. The body holds the asset's fields and optionally `lifecycle` (planned,
/// onboarding or in_service; in_service needs an owner and CIA ratings).
#[utoipa::path(post, path = "/api/v1/assets", tag = "assets", request_body = AssetFields,
    responses((status = 201, body = Asset), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn create_asset(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<Asset>)> {
    Ok((StatusCode::CREATED, Json(create(&state, &p, body).await?)))
}

/// One asset.
#[utoipa::path(get, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 200, body = Asset), (status = 404, body = Problem)))]
pub async fn get_asset(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Asset>> {
    let scope = p.require(Permission::AssetsRead)?;
    Ok(Json(state.store.get_asset(scope, &id).await?))
}

/// Applies a merge patch to an asset's fields; shared with the console.
pub async fn patch(
    state: &AppState,
    p: &Principal,
    id: &str,
    patch: &serde_json::Value,
    revision: Option<i64>,
) -> ApiResult<ChangeOutcome> {
    let scope = p.require(Permission::AssetsWrite)?;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "body: expected a JSON object (merge patch)",
        ));
    }
    let current = state.store.get_asset(scope, id).await?;
    let mut doc = serde_json::to_value(&current.fields).expect("fields serialise");
    merge_patch(&mut doc, patch);
    let fields = parse_fields(doc)?;
    Ok(state
        .store
        .update_asset(scope, id, fields, revision, &p.actor())
        .await?)
}

/// Change an asset: a JSON merge patch (RFC 7396) of its fields; `null` clears a field.
/// Send `If-Match: <revision>` to refuse the change if someone changed the asset meanwhile.
/// A change that a change rule holds for approval answers 202 and changes nothing yet.
#[utoipa::path(patch, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = String, Path), ("If-Match" = Option<i64>, Header)),
    request_body = serde_json::Value,
    responses((status = 200, body = Asset), (status = 202, body = HeldChange), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_asset(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Changed> {
    let revision = match headers.get("if-match") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(|s| s.trim().trim_matches('"'))
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request("If-Match: expected the asset's revision number")
                })?,
        ),
    };
    Ok(Changed(patch(&state, &p, &id, &body, revision).await?))
}

/// Delete an asset that never went beyond `planned`; others are decommissioned or disposed.
#[utoipa::path(delete, path = "/api/v1/assets/{id}", tag = "assets", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_asset(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    let scope = p.require(Permission::AssetsWrite)?;
    state.store.delete_asset(scope, &id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A lifecycle move.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRequest {
    /// Target state.
    pub to: Lifecycle,
    /// Required for `transferred` and `disposed`: the risks found and how they are controlled.
    pub risk_note: Option<String>,
}

/// Move an asset through its lifecycle; 202 when a change rule holds the move for approval.
#[utoipa::path(post, path = "/api/v1/assets/{id}/lifecycle", tag = "assets", params(("id" = String, Path)), request_body = LifecycleRequest,
    responses((status = 200, body = Asset), (status = 202, body = HeldChange), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn move_lifecycle(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<LifecycleRequest>,
) -> ApiResult<Changed> {
    let scope = p.require(Permission::AssetsWrite)?;
    Ok(Changed(
        state
            .store
            .set_lifecycle(scope, &id, req.to, req.risk_note.as_deref(), &p.actor())
            .await?,
    ))
}

/// An asset's history, newest first.
#[utoipa::path(get, path = "/api/v1/assets/{id}/history", tag = "assets", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = ListOf<AssetChange>), (status = 404, body = Problem)))]
pub async fn asset_history(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOf<AssetChange>>> {
    let scope = p.require(Permission::AssetsRead)?;
    let (items, total) = state
        .store
        .asset_history(scope, Some(&id), q.page()?)
        .await?;
    Ok(Json(ListOf { items, total }))
}

/// Changes across the whole ledger, newest first.
#[utoipa::path(get, path = "/api/v1/assets/history", tag = "assets", params(PageQuery),
    responses((status = 200, body = ListOf<AssetChange>), (status = 403, body = Problem)))]
pub async fn ledger_history(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOf<AssetChange>>> {
    let scope = p.require(Permission::AssetsRead)?;
    let (items, total) = state.store.asset_history(scope, None, q.page()?).await?;
    Ok(Json(ListOf { items, total }))
}

/// One group of a grouped count.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupCount {
    /// The group's value (`null` where the attribute is unset).
    pub key: Option<String>,
    /// Assets in it.
    pub count: i64,
}

/// Counts of matching assets grouped by one attribute (`group_by`).
#[utoipa::path(get, path = "/api/v1/assets/stats", tag = "assets", params(AssetFilter),
    responses((status = 200, body = Vec<GroupCount>), (status = 400, body = Problem)))]
pub async fn asset_stats(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(f): ApiQuery<AssetFilter>,
) -> ApiResult<Json<Vec<GroupCount>>> {
    let scope = p.require(Permission::AssetsRead)?;
    let by = f.group_by.as_deref().unwrap_or("kind");
    let group = AssetGroup::parse(by)
        .ok_or_else(|| ApiError::bad_request(format!("group_by: cannot group by `{by}`")))?;
    let counts = state.store.count_assets(scope, &f.query()?, group).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(key, count)| GroupCount { key, count })
            .collect(),
    ))
}
