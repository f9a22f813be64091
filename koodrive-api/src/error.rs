//! One error type for every call: [`Error`], with the documented KooDrive codes as
//! [`ErrorCode`].

use std::fmt;

use crate::operation::Operation;

/// What the hooks observed during one typed call.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallReport {
    /// HTTP status of the last response, before any envelope rewrite.
    pub status: Option<u16>,
    /// The `X-Traceid` the last attempt was sent with.
    pub trace_id: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// The first bytes of an error body that was not a KooDrive error.
    pub error_body: Option<String>,
    /// Why the request could not be authenticated, if it could not.
    pub auth_error: Option<String>,
}

/// Every error code the KooDrive reference documents (`spec/docs/errors.tsv`), plus
/// [`ErrorCode::Unknown`] for any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: success (never inside an [`Error`]).
    Success,
    /// 13000101: bad request (older table).
    BadRequest,
    /// 13000102: parameter validation failed.
    ParameterInvalid,
    /// 13000201: an internal call failed on the server.
    InnerInvokeFailure,
    /// 13000301: the space does not exist or is in an abnormal state.
    SpaceNotFound,
    /// 13000302: the file is not in the given space.
    FileNotInSpace,
    /// 13000303: the operation needs the file to be in the recycle bin.
    FileNotInRecycleBin,
    /// 13000304: the target directory is abnormal.
    TargetDirectoryAbnormal,
    /// 13000305: the target directory is in the recycle bin.
    TargetDirectoryInRecycleBin,
    /// 13000306: the file is in the recycle bin.
    FileInRecycleBin,
    /// 13000307: directories would be nested in each other.
    NestedDirectories,
    /// 13000308: the file's metadata is wrong.
    FileMetadataError,
    /// 13000309: the resource does not exist.
    ResourceNotFound,
    /// 13000310: too many directory levels.
    MaxLevelsExceeded,
    /// 13000311: not enough space.
    InsufficientSpace,
    /// 13000312: the file is already in the target folder.
    FileAlreadyInTargetFolder,
    /// 13000401: no such upload task.
    UploadTaskNotFound,
    /// 13000402: the uploaded file failed the integrity check.
    FileIntegrityCheckFailed,
    /// 13000403: changing the file's status failed.
    ChangeFileStatusFailed,
    /// 13000404: the parent directory of the upload is in the recycle bin.
    ParentDirectoryInRecycleBin,
    /// 13000405: the file name is taken.
    DuplicateFileName,
    /// 13000406: the operation is not possible on a folder.
    NotAllowedOnFolder,
    /// 13000407: the download address does not exist.
    DownloadAddressNotFound,
    /// 13000408: the download failed.
    DownloadFailed,
    /// 13000409: the upload failed.
    UploadFailed,
    /// 13000410: the user may not operate on this space.
    NoPermissionOnSpace,
    /// 13000411: the file is not in this space.
    FileNotInThisSpace,
    /// 13000412: the space is not active.
    SpaceNotActive,
    /// 13000413: unsupported search type.
    UnsupportedSearchType,
    /// 13000414: the search type is missing.
    SearchTypeMissing,
    /// 13000415: the space does not match the team.
    SpaceTeamMismatch,
    /// 13000417: the file name is longer than 250 characters.
    FileNameTooLong,
    /// A code the reference does not document.
    Unknown(i64),
}

/// (code, variant) for every documented code.
const CODES: &[(i64, ErrorCode)] = &[
    (0, ErrorCode::Success),
    (13000101, ErrorCode::BadRequest),
    (13000102, ErrorCode::ParameterInvalid),
    (13000201, ErrorCode::InnerInvokeFailure),
    (13000301, ErrorCode::SpaceNotFound),
    (13000302, ErrorCode::FileNotInSpace),
    (13000303, ErrorCode::FileNotInRecycleBin),
    (13000304, ErrorCode::TargetDirectoryAbnormal),
    (13000305, ErrorCode::TargetDirectoryInRecycleBin),
    (13000306, ErrorCode::FileInRecycleBin),
    (13000307, ErrorCode::NestedDirectories),
    (13000308, ErrorCode::FileMetadataError),
    (13000309, ErrorCode::ResourceNotFound),
    (13000310, ErrorCode::MaxLevelsExceeded),
    (13000311, ErrorCode::InsufficientSpace),
    (13000312, ErrorCode::FileAlreadyInTargetFolder),
    (13000401, ErrorCode::UploadTaskNotFound),
    (13000402, ErrorCode::FileIntegrityCheckFailed),
    (13000403, ErrorCode::ChangeFileStatusFailed),
    (13000404, ErrorCode::ParentDirectoryInRecycleBin),
    (13000405, ErrorCode::DuplicateFileName),
    (13000406, ErrorCode::NotAllowedOnFolder),
    (13000407, ErrorCode::DownloadAddressNotFound),
    (13000408, ErrorCode::DownloadFailed),
    (13000409, ErrorCode::UploadFailed),
    (13000410, ErrorCode::NoPermissionOnSpace),
    (13000411, ErrorCode::FileNotInThisSpace),
    (13000412, ErrorCode::SpaceNotActive),
    (13000413, ErrorCode::UnsupportedSearchType),
    (13000414, ErrorCode::SearchTypeMissing),
    (13000415, ErrorCode::SpaceTeamMismatch),
    (13000417, ErrorCode::FileNameTooLong),
];

impl ErrorCode {
    /// The code for a number.
    pub fn from_code(code: i64) -> ErrorCode {
        CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, e)| *e)
            .unwrap_or(ErrorCode::Unknown(code))
    }

    /// The number.
    pub fn code(self) -> i64 {
        match self {
            ErrorCode::Unknown(c) => c,
            known => CODES
                .iter()
                .find(|(_, e)| *e == known)
                .map(|(c, _)| *c)
                .expect("every variant is in CODES"),
        }
    }

    /// Every documented code.
    pub fn documented() -> impl Iterator<Item = ErrorCode> {
        CODES.iter().map(|(_, e)| *e)
    }

    /// Codes whose documented handling is "try again" for a server-side fault: a retry of an
    /// idempotent request may succeed.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::InnerInvokeFailure
                | ErrorCode::TargetDirectoryAbnormal
                | ErrorCode::FileMetadataError
                | ErrorCode::ChangeFileStatusFailed
                | ErrorCode::DownloadFailed
                | ErrorCode::UploadFailed
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Unknown(c) => write!(f, "{c} (undocumented)"),
            known => write!(f, "{} ({known:?})", known.code()),
        }
    }
}

/// Any failure of a KooDrive call. Secrets never appear in it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// KooDrive answered with an error code (with an error status, or inside an HTTP 200).
    Api {
        /// The KooDrive error code.
        code: ErrorCode,
        /// The server's message.
        msg: Option<String>,
        /// The HTTP status the server sent (200 when the error came inside a success).
        status: u16,
        /// The `X-Traceid` the request carried.
        trace_id: Option<String>,
        /// The operation.
        operation_id: &'static str,
    },
    /// An error status without a KooDrive error body (e.g. a gateway's 502 page).
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
        /// The `X-Traceid` the request carried.
        trace_id: Option<String>,
        /// The operation.
        operation_id: &'static str,
    },
    /// The request could not be sent or the response not read.
    Transport {
        /// The operation.
        operation_id: &'static str,
        /// What failed.
        source: reqwest::Error,
    },
    /// The connect or request timeout elapsed.
    Timeout {
        /// The operation.
        operation_id: &'static str,
        /// What timed out.
        source: reqwest::Error,
    },
    /// The response did not fit the operation's type.
    Decode {
        /// The operation.
        operation_id: &'static str,
        /// The HTTP status.
        status: Option<u16>,
        /// Serde path of the field that failed (e.g. `data.files[2].size`).
        path: String,
        /// What was wrong.
        message: String,
        /// The body (at most 4 KiB of it).
        body: String,
    },
    /// The request was refused before sending: a parameter did not convert or is missing.
    InvalidRequest {
        /// The operation.
        operation_id: &'static str,
        /// Why.
        reason: String,
    },
    /// No usable credentials for the operation, or refreshing the session failed.
    Auth {
        /// The operation.
        operation_id: &'static str,
        /// Why.
        reason: String,
    },
}

const BODY_LIMIT: usize = 4096;

fn snippet(bytes: &[u8]) -> String {
    let end = bytes.len().min(BODY_LIMIT);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Error {
    /// The KooDrive error code, for [`Error::Api`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The operation that failed.
    pub fn operation_id(&self) -> &'static str {
        match self {
            Error::Api { operation_id, .. }
            | Error::Status { operation_id, .. }
            | Error::Transport { operation_id, .. }
            | Error::Timeout { operation_id, .. }
            | Error::Decode { operation_id, .. }
            | Error::InvalidRequest { operation_id, .. }
            | Error::Auth { operation_id, .. } => operation_id,
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Status { status, .. } => Some(*status),
            Error::Decode { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: transport failures, timeouts,
    /// 429/502/503/504 and transient KooDrive codes. (The client already retried idempotent
    /// operations as its retry policy allows.)
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Status { status, .. } => crate::retry::retryable_status(*status),
            Error::Api { code, status, .. } => {
                code.is_transient() || crate::retry::retryable_status(*status)
            }
            _ => false,
        }
    }

    pub(crate) fn from_call<O: Operation>(
        e: progenitor_client::Error<crate::types::ErrorBody>,
        report: CallReport,
    ) -> Error {
        use progenitor_client::Error as P;
        let operation_id = O::META.id;
        if let Some(reason) = report.auth_error {
            return Error::Auth {
                operation_id,
                reason,
            };
        }
        let trace_id = report.trace_id;
        match e {
            P::InvalidRequest(reason) => Error::InvalidRequest {
                operation_id,
                reason,
            },
            P::CommunicationError(source) | P::ResponseBodyError(source) if source.is_timeout() => {
                Error::Timeout {
                    operation_id,
                    source,
                }
            }
            P::CommunicationError(source)
            | P::ResponseBodyError(source)
            | P::InvalidUpgrade(source) => Error::Transport {
                operation_id,
                source,
            },
            P::ErrorResponse(body) => Error::Api {
                code: ErrorCode::from_code(body.code.value()),
                msg: body.msg.clone(),
                status: report.status.unwrap_or(body.status().as_u16()),
                trace_id,
                operation_id,
            },
            P::InvalidResponsePayload(bytes, err) => {
                let status = report.status;
                if let (Some(s), Some(body)) = (status, report.error_body) {
                    if s >= 400 {
                        return Error::Status {
                            status: s,
                            body,
                            trace_id,
                            operation_id,
                        };
                    }
                }
                Error::Decode {
                    operation_id,
                    status,
                    path: O::decode_error_path(&bytes).unwrap_or_default(),
                    message: err.to_string(),
                    body: snippet(&bytes),
                }
            }
            P::UnexpectedResponse(response) => Error::Status {
                status: response.status().as_u16(),
                body: report.error_body.unwrap_or_default(),
                trace_id,
                operation_id,
            },
            P::Custom(reason) => Error::InvalidRequest {
                operation_id,
                reason,
            },
        }
    }
}

/// The serde path at which `body` fails to decode as `T`.
pub fn decode_error_path<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, T>(de)
        .err()
        .map(|e| e.path().to_string())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trace = |t: &Option<String>| {
            t.as_deref()
                .map(|t| format!(", trace id {t}"))
                .unwrap_or_default()
        };
        match self {
            Error::Api {
                code,
                msg,
                status,
                trace_id,
                operation_id,
            } => write!(
                f,
                "{operation_id}: KooDrive error {code}: {} (HTTP {status}{})",
                msg.as_deref().unwrap_or("no message"),
                trace(trace_id)
            ),
            Error::Status {
                status,
                body,
                trace_id,
                operation_id,
            } => {
                write!(
                    f,
                    "{operation_id}: HTTP {status} without a KooDrive error body{}: {body}",
                    trace(trace_id)
                )
            }
            Error::Transport {
                operation_id,
                source,
            } => write!(f, "{operation_id}: transport error: {source}"),
            Error::Timeout {
                operation_id,
                source,
            } => write!(f, "{operation_id}: timed out: {source}"),
            Error::Decode {
                operation_id,
                path,
                message,
                ..
            } => {
                write!(
                    f,
                    "{operation_id}: the response does not fit its type at `{path}`: {message}"
                )
            }
            Error::InvalidRequest {
                operation_id,
                reason,
            } => write!(f, "{operation_id}: invalid request: {reason}"),
            Error::Auth {
                operation_id,
                reason,
            } => write!(f, "{operation_id}: authentication: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } | Error::Timeout { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A short description of a raw (progenitor) error that never includes request headers.
pub(crate) fn describe_raw(e: &progenitor_client::Error<crate::types::ErrorBody>) -> String {
    use progenitor_client::Error as P;
    match e {
        P::ErrorResponse(body) => format!(
            "HTTP {} code {} {}",
            body.status(),
            body.code,
            body.msg.as_deref().unwrap_or("")
        ),
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => e.to_string(),
        P::InvalidRequest(s) | P::Custom(s) => s.clone(),
        P::InvalidResponsePayload(_, e) => format!("undecodable response: {e}"),
        P::UnexpectedResponse(r) => format!("unexpected HTTP {}", r.status()),
    }
}
