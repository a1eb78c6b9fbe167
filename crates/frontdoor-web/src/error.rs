//! How failures reach the user. User errors are 4xx and say what and where (the field); an
//! unexpected failure is a 500 that shows only an operation id, while the cause goes to the log
//! under that id (and never any personal data).

use crate::service::ServiceError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use frontdoor_core::contact::FieldError;
use serde::Serialize;

#[derive(Debug)]
pub enum AppError {
    /// Fields that did not parse (422).
    Invalid(Vec<FieldError>),
    /// The request itself is malformed: bad JSON, wrong type (400). `field` is its path.
    BadRequest {
        field: Option<String>,
        message: String,
    },
    Unauthorized(String),
    Forbidden(String),
    /// Also the answer for a record the caller may not see.
    NotFound,
    Conflict(String),
    TooManyRequests(String),
    PayloadTooLarge(usize),
    UnsupportedMediaType,
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_id: Option<String>,
}

impl AppError {
    /// Log an unexpected failure under a fresh operation id and return the 500 that names it.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        let op = uuid::Uuid::new_v4().simple().to_string();
        // Causes come from the store or libraries; they carry no request data.
        tracing::error!(operation_id = %op, error = %cause, "unexpected failure");
        AppError::Internal(op)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid",
            AppError::BadRequest { .. } => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::Internal(_) => "internal",
        }
    }

    /// The text a person is shown.
    pub fn message(&self) -> String {
        match self {
            AppError::Invalid(f) => {
                format!(
                    "{} field(s) need attention: {}",
                    f.len(),
                    f.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
                )
            }
            AppError::BadRequest { field: Some(f), message } => format!("{f}: {message}"),
            AppError::BadRequest { field: None, message } => message.clone(),
            AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::TooManyRequests(m) => m.clone(),
            AppError::NotFound => "not found".into(),
            AppError::PayloadTooLarge(max) => format!("the request body is larger than the {max} bytes accepted"),
            AppError::UnsupportedMediaType => "send the body as application/json".into(),
            AppError::Internal(op) => format!("something went wrong on our side; quote operation id {op}"),
        }
    }

    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            AppError::Invalid(f) => f.clone(),
            AppError::BadRequest { field: Some(f), message } => {
                vec![FieldError { field: f.clone(), message: message.clone() }]
            }
            _ => Vec::new(),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) => AppError::Invalid(f),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            ServiceError::NotFound(_) => AppError::NotFound,
            ServiceError::BadCredentials => AppError::Unauthorized(e.to_string()),
            ServiceError::Locked => AppError::TooManyRequests(e.to_string()),
            ServiceError::Store(s) => AppError::internal(s),
            ServiceError::Internal(s) => AppError::internal(s),
        }
    }
}

impl From<frontdoor_store::StoreError> for AppError {
    fn from(e: frontdoor_store::StoreError) -> Self {
        AppError::internal(e)
    }
}

/// API form: a JSON body.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code(),
            message: self.message(),
            fields: self.fields(),
            operation_id: match &self {
                AppError::Internal(op) => Some(op.clone()),
                _ => None,
            },
        };
        let mut resp = (self.status(), Json(body)).into_response();
        if matches!(self, AppError::Unauthorized(_)) {
            resp.headers_mut().insert("www-authenticate", axum::http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
