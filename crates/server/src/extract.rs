//! Request extractors that turn bad input into problem documents naming the field.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A JSON body; unknown fields, wrong types and oversized bodies are refused.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let text = rejection.body_text();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "request body is larger than the limit of 64 KiB")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, "send the body as `Content-Type: application/json`")
        }
        // Axum reports the field path first, e.g. "…: password: invalid type: …".
        _ => ApiError::bad_request(text.replace(
            "Failed to deserialize the JSON body into the target type: ",
            "",
        )),
    }
}

/// A query string; unknown parameters and wrong types are refused.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(query_problem(r)),
        }
    }
}

fn query_problem(r: QueryRejection) -> ApiError {
    ApiError::bad_request(format!(
        "query: {}",
        r.body_text()
            .replace("Failed to deserialize query string: ", "")
    ))
}

/// Refuses anything but a well-formed record id, naming the field.
pub fn check_id(id: &str, what: &str) -> Result<(), ApiError> {
    if yunshou_model::ids::is_valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what}: not a valid identifier"
        )))
    }
}

/// A record id in the path; anything but a well-formed id is refused.
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id): Path<String> =
            Path::from_request_parts(parts, state)
                .await
                .map_err(|r: PathRejection| {
                    ApiError::bad_request(format!("path: {}", r.body_text()))
                })?;
        if yunshou_model::ids::is_valid_id(&id) {
            Ok(IdPath(id))
        } else {
            Err(ApiError::bad_request(
                "id: not a valid identifier (expected a UUID)",
            ))
        }
    }
}

/// `limit` and `offset` of a list request.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// How many items, 1–1000 (default 50).
    pub limit: Option<i64>,
    /// How many to skip (default 0).
    pub offset: Option<i64>,
}

impl PageQuery {
    /// The validated page.
    pub fn page(self) -> Result<yunshou_store::Page, ApiError> {
        let limit = self.limit.unwrap_or(50);
        let offset = self.offset.unwrap_or(0);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::bad_request("limit: must be between 1 and 1000"));
        }
        if offset < 0 {
            return Err(ApiError::bad_request("offset: must not be negative"));
        }
        Ok(yunshou_store::Page { limit, offset })
    }
}

/// A list answer: `{"items": [...], "total": N}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ListOf<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
}
