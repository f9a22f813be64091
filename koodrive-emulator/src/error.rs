//! The errors the emulator answers: always HTTP 4xx/5xx with the spec's `ErrorBody`
//! (`{code, msg}`), never a fake success.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use koodrive_api::envelope::ResultCode;
use koodrive_api::types;

/// 13000102: parameter validation failed (a missing or malformed field).
pub const PARAMETER_INVALID: i64 = 13000102;
/// 13000301: the space does not exist.
pub const SPACE_NOT_FOUND: i64 = 13000301;
/// 13000303: the file is not in the recycle bin.
pub const NOT_IN_RECYCLE_BIN: i64 = 13000303;
/// 13000305: the target folder is in the recycle bin.
pub const TARGET_IN_RECYCLE_BIN: i64 = 13000305;
/// 13000306: the file is in the recycle bin.
pub const FILE_IN_RECYCLE_BIN: i64 = 13000306;
/// 13000311: not enough space (the configured quota).
pub const INSUFFICIENT_SPACE: i64 = 13000311;
/// 13000309: the resource does not exist.
pub const RESOURCE_NOT_FOUND: i64 = 13000309;
/// 13000401: no such upload task.
pub const UPLOAD_TASK_NOT_FOUND: i64 = 13000401;
/// 13000402: the uploaded file failed the integrity check.
pub const INTEGRITY_CHECK_FAILED: i64 = 13000402;
/// 13000405: the file name is taken.
pub const DUPLICATE_FILE_NAME: i64 = 13000405;
/// 13000406: the operation is not possible on a folder.
pub const NOT_ALLOWED_ON_FOLDER: i64 = 13000406;
/// The code of an HTTP 401 (missing, unknown, expired or revoked token; wrong auth code).
/// The KooDrive reference documents no code for it, so the emulator uses the status itself.
pub const UNAUTHORIZED: i64 = 401;
/// The code of an operation the emulator does not implement (HTTP 501): 13000101, the
/// documented generic "Bad Request"; the message names the operation.
pub const NOT_SUPPORTED: i64 = 13000101;

/// An error response: an HTTP status and the `{code, msg}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The KooDrive code.
    pub code: i64,
    /// The message.
    pub msg: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, code: i64, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            msg: msg.into(),
        }
    }

    /// HTTP 400, 13000102.
    pub fn invalid(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, PARAMETER_INVALID, msg)
    }

    /// HTTP 400 with a documented code.
    pub fn bad(code: i64, msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, msg)
    }

    /// HTTP 401.
    pub fn unauthorized(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED, msg)
    }

    /// HTTP 400, 13000309: an unknown id.
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError::bad(RESOURCE_NOT_FOUND, msg)
    }

    /// HTTP 501 for an operation the emulator does not implement.
    pub fn not_supported(operation: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            NOT_SUPPORTED,
            format!("{operation} is not supported by the emulator"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = types::ErrorBody {
            code: ResultCode(self.code),
            msg: Some(self.msg),
        };
        (self.status, Json(body)).into_response()
    }
}

/// Decode a JSON request body into its generated type; a missing or malformed field is
/// 13000102 with serde's description of it.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("parameter validation failed: {e}")))?;
    // serde would take a struct from a JSON array and `null` for an optional field; the spec
    // allows neither (a body is an object, and no field is nullable).
    if !value.is_object() {
        return Err(ApiError::invalid(
            "parameter validation failed: the body is not a JSON object",
        ));
    }
    if let Some(at) = null_at(&value, "") {
        return Err(ApiError::invalid(format!(
            "parameter validation failed: {at} is null"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid(format!("parameter validation failed: {e}")))
}

/// The JSON pointer of the first `null` in `value`.
fn null_at(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(if at.is_empty() { "/".into() } else { at.into() }),
        serde_json::Value::Object(m) => {
            m.iter().find_map(|(k, v)| null_at(v, &format!("{at}/{k}")))
        }
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| null_at(v, &format!("{at}/{i}"))),
        _ => None,
    }
}

/// A required string field must not be empty.
pub fn require(value: &str, name: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        Err(ApiError::invalid(format!(
            "parameter validation failed: {name} is required"
        )))
    } else {
        Ok(())
    }
}
