//! API errors as RFC 9457 `application/problem+json`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this case; names the offending field where there is one.
    pub detail: String,
}

/// An error a handler returns; becomes a problem document.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Detail text.
    pub detail: String,
}

impl ApiError {
    /// Any status with a detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
        }
    }
    /// 400: the input breaks a rule.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    /// 401: no valid credential.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    /// 403: the role or token scope lacks the permission.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    /// 404: missing, or another tenant's.
    pub fn not_found() -> ApiError {
        Self::new(StatusCode::NOT_FOUND, "no such record")
    }
    /// 500, logging the cause but not revealing it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }

    fn kind(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "urn:yunshou:problem:invalid-input",
            StatusCode::UNAUTHORIZED => "urn:yunshou:problem:unauthenticated",
            StatusCode::FORBIDDEN => "urn:yunshou:problem:forbidden",
            StatusCode::NOT_FOUND => "urn:yunshou:problem:not-found",
            StatusCode::CONFLICT => "urn:yunshou:problem:conflict",
            StatusCode::UNPROCESSABLE_ENTITY => "urn:yunshou:problem:unprocessable",
            StatusCode::LOCKED => "urn:yunshou:problem:account-locked",
            StatusCode::PAYLOAD_TOO_LARGE => "urn:yunshou:problem:too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "urn:yunshou:problem:media-type",
            _ => "urn:yunshou:problem:error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: self.kind().to_string(),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let body = serde_json::to_vec(&problem).expect("problem serialises");
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<yunshou_store::Error> for ApiError {
    fn from(e: yunshou_store::Error) -> ApiError {
        use yunshou_store::Error as E;
        match e {
            E::NotFound => ApiError::not_found(),
            E::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            E::Invalid(m) => ApiError::bad_request(m),
            E::Unprocessable(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            other => ApiError::internal(other),
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
