//! The routes and their handlers, one module per area. This module holds the router, what
//! every handler shares (the state, the user check) and the layers around every route: HMAC
//! app auth, the body limit and its JSON 413, and outermost the request counter, fault
//! injection ([`crate::faults`]) and persistence ([`crate::persist`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use koodrive_api::auth::{Secret, SigningInput};
use koodrive_api::envelope::ResultCode;

use crate::Config;
use crate::error::{ApiError, NOT_SUPPORTED, SPACE_NOT_FOUND, require};
use crate::faults::{FaultKind, Faults};
use crate::persist::Store;
use crate::state::World;

mod browse;
mod files;
mod jobs;
mod messages;
mod org;
mod sessions;
mod shares;

/// What every handler shares.
pub(crate) struct Inner {
    pub config: Config,
    pub base_url: String,
    pub world: Mutex<World>,
    /// The fault rules in force.
    pub faults: Mutex<Faults>,
    /// Requests received, by operation.
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// The latest requests received, oldest first.
    pub log: Mutex<std::collections::VecDeque<crate::RequestRecord>>,
    /// Where the state is saved, when it is.
    pub store: Option<Mutex<Store>>,
}

pub(crate) type App = Arc<Inner>;

/// The `Authorization` scheme of HMAC app auth.
const HMAC_SCHEME: &str = "HMAC-SHA256 ";
/// How old an `X-Date` may be.
const MAX_DATE_AGE_SECS: i64 = 15 * 60;
/// How far ahead of the emulator's clock an `X-Date` may be (clock skew).
const MAX_DATE_SKEW_SECS: i64 = 5;

impl Inner {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn counts(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write the state to the persistence directory, if there is one. The store's lock is
    /// held from the snapshot to the write, so that saves land in the order they were taken.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        let world = self.world();
        store.save(&world)
    }

    /// Check the caller of a request and return the user id: a user token (its lifetime
    /// slides), or HMAC app auth, which [`verify_app_auth`] has already checked for every
    /// route.
    fn auth(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if auth.is_some_and(|a| a.starts_with(HMAC_SCHEME)) {
            return Ok(self.config.user_id.clone());
        }
        let (_, session) = self
            .world()
            .authenticate(auth, self.config.token_lifetime)?;
        Ok(session.user_id)
    }

    fn container(&self, container_id: &str) -> Result<(), ApiError> {
        require(container_id, "containerId")?;
        if container_id == self.config.container_id {
            Ok(())
        } else {
            Err(ApiError::bad(
                SPACE_NOT_FOUND,
                format!("space {container_id} not found"),
            ))
        }
    }
}

const V1: &str = "/koodrive/ose/v1";

pub(crate) fn router(app: App) -> Router {
    let limit = app.config.max_part_bytes;
    let v1 = |path: &str| format!("{V1}{path}");
    Router::new()
        // sessions
        .route(&v1("/session"), post(sessions::create_session))
        .route(&v1("/session/"), post(sessions::create_session))
        .route(&v1("/session/refresh"), post(sessions::refresh_session))
        .route(&v1("/session/auth"), get(sessions::validate_session))
        .route(&v1("/session/logoff"), get(sessions::logout))
        // files
        .route(&v1("/directory"), post(files::create_directory))
        .route(&v1("/files/create"), post(files::create_file))
        .route(
            &v1("/files/multipart/uploadUrl"),
            post(files::get_upload_urls),
        )
        .route(&v1("/files/complete"), post(files::complete_file))
        .route(&v1("/files/download"), post(files::get_download_urls))
        .route(&v1("/files/rename/{p}"), post(files::rename_file))
        .route(&v1("/files/{p}"), post(files::list_personal_files))
        .route(&v1("/files/{p}/detail"), post(files::get_file))
        .route("/_emulator/parts/{file_id}/{part}", put(files::put_part))
        .route("/_emulator/files/{file_id}", get(files::download))
        // search, statistics, paths, favourites
        .route(&v1("/files/search"), post(browse::search_files))
        .route(&v1("/files/statsDir"), get(browse::get_directory_stats))
        .route(&v1("/files/path"), get(browse::get_full_path))
        .route(&v1("/star/batch"), post(browse::batch_star_files))
        .route(&v1("/star/files"), get(browse::list_starred_files))
        // batch jobs and the recycle bin
        .route(&v1("/jobs"), post(jobs::create_job).get(jobs::list_jobs))
        .route(&v1("/cancel"), post(jobs::cancel_job))
        .route(&v1("/{job_id}"), get(jobs::get_job_detail))
        .route(&v1("/files/recycle"), post(jobs::clear_recycle_bin))
        // shares
        .route(
            &v1("/share"),
            post(shares::create_share).get(shares::list_share_by_me),
        )
        .route(&v1("/share/cancel"), post(shares::cancel_shares))
        .route(&v1("/share/received"), get(shares::list_share_with_me))
        .route(
            &v1("/share/{share_id}"),
            get(shares::get_share_by_me_detail),
        )
        // messages
        .route(&v1("/message/unreadCount"), get(messages::get_unread_count))
        .route(&v1("/message/list"), get(messages::list_messages))
        .route(
            &v1("/message/batchRead"),
            post(messages::mark_messages_read),
        )
        // spaces, users, departments
        .route(&v1("/space/{owner_id}"), get(org::get_space))
        .route(
            &v1("/space/container/{container_id}"),
            get(org::get_space_by_container_id),
        )
        .route(&v1("/users/{user_id}"), get(org::get_user))
        .route(&v1("/departmentList"), get(org::list_departments))
        .fallback(unsupported)
        .method_not_allowed_fallback(unsupported)
        .layer(middleware::from_fn_with_state(app.clone(), verify_app_auth))
        .layer(middleware::from_fn(check_common_headers))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::map_response(json_payload_too_large))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            count_inject_persist,
        ))
        .with_state(app)
}

/// The name a request is counted and matched under: its operationId, `uploadPart` and
/// `downloadFile` for the emulator's own URLs, `unknown` for anything else.
pub(crate) fn operation_name(method: &Method, path: &str) -> &'static str {
    if path.starts_with("/_emulator/parts/") && method == Method::PUT {
        return "uploadPart";
    }
    if path.starts_with("/_emulator/files/") && method == Method::GET {
        return "downloadFile";
    }
    operation_for(method, path).unwrap_or("unknown")
}

/// Outermost layer: count the request under its operation, apply an injected fault if one
/// hits it, and save the state afterwards when persisting (downloads change nothing).
async fn count_inject_persist(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let operation = operation_name(request.method(), &path);
    *app.counts().entry(operation.to_owned()).or_default() += 1;
    {
        let mut log = app.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= crate::REQUEST_LOG_LEN {
            log.pop_front();
        }
        log.push_back(crate::RequestRecord {
            operation,
            method: request.method().to_string(),
            path: path.clone(),
        });
    }
    let fault = app.faults().pick(operation, &path);
    let response = match fault {
        None => next.run(request).await,
        Some(kind) => inject(kind, request, next).await,
    };
    if operation != "downloadFile"
        && let Err(e) = app.save()
    {
        eprintln!("koodrive-emulator: saving the state failed: {e}");
    }
    response
}

/// Apply one fault to a request (see [`FaultKind`] for which ones run the handler).
async fn inject(kind: FaultKind, request: Request, next: Next) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    match kind {
        FaultKind::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return text(status, format!("injected fault: HTTP {code}"));
        }
        FaultKind::ApiCode(code) => {
            let body =
                serde_json::json!({"code": code, "msg": format!("injected fault: code {code}")});
            return (StatusCode::OK, axum::Json(body)).into_response();
        }
        FaultKind::Respond {
            status,
            content_type,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
        }
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            return next.run(request).await;
        }
        _ => {}
    }
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the handler's body failed".into(),
        );
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match kind {
        FaultKind::DropMidBody => {
            // The full length is announced, half of it is sent, then the stream fails and
            // hyper closes the connection.
            parts
                .headers
                .insert(header::CONTENT_LENGTH, body.len().into());
            let half = body.slice(..body.len() / 2);
            let chunks = futures_util::stream::unfold(0u8, move |step| {
                let half = half.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                        1 => {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            Some((
                                Err(std::io::Error::other("injected fault: connection dropped")),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            Body::from_stream(chunks)
        }
        FaultKind::TruncatedJson => Body::from(body.slice(..body.len() / 2)),
        FaultKind::MalformedJson => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            Body::from(r#"{"code": 0, "msg": "success",, "data": {]}"#)
        }
        FaultKind::WrongContentType => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Body::from(body)
        }
        FaultKind::OversizedBody(size) => {
            let padded = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(serde_json::Value::Object(mut map)) => {
                    let pad = size.saturating_sub(body.len() + 16);
                    map.insert("_padding".into(), "x".repeat(pad).into());
                    serde_json::to_vec(&map).expect("JSON")
                }
                _ => {
                    let mut v = body.to_vec();
                    v.resize(size.max(body.len()), b' ');
                    v
                }
            };
            Body::from(padded)
        }
        FaultKind::Status(_)
        | FaultKind::ApiCode(_)
        | FaultKind::Delay(_)
        | FaultKind::Respond { .. } => Body::from(body),
    };
    Response::from_parts(parts, body)
}

/// axum answers an oversize body with a plain-text 413; KooDrive clients expect `{code, msg}`.
async fn json_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return payload_too_large().into_response();
    }
    response
}

fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        NOT_SUPPORTED,
        "the request body is larger than the emulator accepts",
    )
}

/// Seconds since the epoch of an `X-Date` (`YYYYMMDDTHHMMSSZ`).
fn parse_x_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = value.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// HMAC app auth, for every route: a request whose `Authorization` is `HMAC-SHA256 …` must
/// name the configured app, carry `Host`, `X-Date` (at most 15 minutes old, not in the
/// future) and `X-User-Id` (the configured user), and its signature must match the one
/// recomputed with `koodrive_api::auth::sign` over the method, path, query, signed headers
/// and body. Anything else is HTTP 401 `{code: 401, msg}`.
async fn verify_app_auth(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(authorization) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|a| a.starts_with(HMAC_SCHEME))
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, app.config.max_part_bytes).await {
        Ok(b) => b,
        Err(_) => return payload_too_large().into_response(),
    };
    if let Err(e) = check_signature(&app, &authorization, &parts, &body) {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn check_signature(
    app: &Inner,
    authorization: &str,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Result<(), ApiError> {
    let fields: Vec<(&str, &str)> = authorization[HMAC_SCHEME.len()..]
        .split(',')
        .filter_map(|f| f.trim().split_once('='))
        .collect();
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let (Some(app_id), Some(signed_headers), Some(_)) =
        (field("AppId"), field("SignedHeaders"), field("Signature"))
    else {
        return Err(ApiError::unauthorized(
            "the HMAC Authorization header needs AppId, SignedHeaders and Signature",
        ));
    };
    if app_id != app.config.app_id {
        return Err(ApiError::unauthorized(format!("unknown app {app_id}")));
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized(format!("the {name} header is missing")))
    };
    let names: Vec<String> = signed_headers
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for required in ["host", "x-date", "x-user-id"] {
        header(required)?;
        if !names.iter().any(|n| n == required) {
            return Err(ApiError::unauthorized(format!(
                "SignedHeaders must include {required}"
            )));
        }
    }
    let date = header("x-date")?;
    let signed_at = parse_x_date(date)
        .ok_or_else(|| ApiError::unauthorized(format!("X-Date {date} is not YYYYMMDDTHHMMSSZ")))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    if now - signed_at > MAX_DATE_AGE_SECS {
        return Err(ApiError::unauthorized(format!(
            "X-Date {date} is more than 15 minutes old"
        )));
    }
    if signed_at - now > MAX_DATE_SKEW_SECS {
        return Err(ApiError::unauthorized(format!(
            "X-Date {date} is in the future"
        )));
    }
    let user = header("x-user-id")?;
    if user != app.config.user_id {
        return Err(ApiError::unauthorized(format!("unknown user {user}")));
    }
    let values = names
        .iter()
        .map(|n| header(n).map(|v| (n.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()?;
    let expected = koodrive_api::auth::sign(
        &app.config.app_id,
        &Secret::new(app.config.app_secret.clone()),
        &SigningInput {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &values,
            body,
        },
    );
    if expected != authorization {
        return Err(ApiError::unauthorized("the HMAC signature does not match"));
    }
    Ok(())
}

pub(crate) fn ok() -> (ResultCode, Option<String>) {
    (ResultCode(0), Some("success".into()))
}

/// The operationId whose method and path template match a request, if any.
fn operation_for(method: &Method, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let is_param = |t: &str| t.starts_with('{') && t.ends_with('}');
    // The most literal template wins (`/files/search` before `/files/{type}`).
    koodrive_api::operations::ALL
        .iter()
        .filter(|m| m.method == method.as_str())
        .filter_map(|m| {
            let template: Vec<&str> = m.path.trim_end_matches('/').split('/').collect();
            let fits = template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| is_param(t) || t == s);
            fits.then(|| (template.iter().filter(|t| !is_param(t)).count(), m.id))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, id)| id)
}

/// For a handler on a path template that also matches more literal documented paths
/// (`GET /koodrive/ose/v1/{job_id}` and `GET /koodrive/ose/v1/access`): the "not supported"
/// error when the request is really for another operation.
pub(crate) fn other_operation(method: &Method, uri: &Uri, expected: &str) -> Option<ApiError> {
    match operation_for(method, uri.path()) {
        Some(id) if id != expected => Some(ApiError::not_supported(id)),
        _ => None,
    }
}

/// The page size of a cursor-paged list: the default when absent, capped at the maximum.
pub(crate) fn page_size(config: &Config, requested: Option<i64>) -> Result<usize, ApiError> {
    match requested {
        None => Ok(config.default_page_size),
        // The docs allow 1 to 100; the emulator may serve shorter pages than asked for.
        Some(n) if (1..=100).contains(&n) => Ok((n as usize).min(config.max_page_size)),
        Some(n) => Err(ApiError::invalid(format!(
            "parameter validation failed: pageSize {n} must be 1 to 100"
        ))),
    }
}

/// A numeric cursor (the `seq` of the last item of the previous page); absent or empty is 0.
pub(crate) fn cursor(value: Option<&str>) -> Result<u64, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(c) => c.parse::<u64>().map_err(|_| {
            ApiError::invalid(format!("parameter validation failed: bad pageCursor {c}"))
        }),
    }
}

/// Anything not routed: a documented operation answers "not supported by the emulator"
/// (HTTP 501), anything else HTTP 404.
/// The bundled spec (written by build.rs).
static SPEC: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
    serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json")))
        .expect("the bundled spec is JSON")
});

/// Follow a local `$ref`.
fn resolve(value: &serde_json::Value) -> &serde_json::Value {
    match value
        .get("$ref")
        .and_then(|r| r.as_str())
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => SPEC.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// Check the query against the operation's declared query parameters: integers parse and fit
/// their format, enum values are listed, booleans are `true`/`false`, and a parameter that is
/// not an array appears once.
fn query_problem(method: &Method, uri: &Uri) -> Option<String> {
    let id = operation_for(method, uri.path())?;
    let meta = koodrive_api::operation::OperationMeta::find(id)?;
    let op = SPEC
        .get("paths")?
        .get(meta.path)?
        .get(meta.method.to_ascii_lowercase())?;
    let pairs: Vec<(String, String)> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', " "));
            (decode(k), decode(v))
        })
        .collect();
    for param in op.get("parameters")?.as_array()?.iter().map(resolve) {
        if param.get("in").and_then(|v| v.as_str()) != Some("query") {
            continue;
        }
        let name = param.get("name")?.as_str()?;
        let schema = resolve(param.get("schema")?);
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let is_array = schema.get("type").and_then(|t| t.as_str()) == Some("array");
        if values.len() > 1 && !is_array {
            return Some(format!(
                "query parameter {name} is given {} times",
                values.len()
            ));
        }
        let item = if is_array {
            resolve(schema.get("items")?)
        } else {
            schema
        };
        for v in values {
            let ok = match item.get("type").and_then(|t| t.as_str()) {
                Some("integer") => match item.get("format").and_then(|f| f.as_str()) {
                    Some("int32") => v.parse::<i32>().is_ok(),
                    _ => v.parse::<i64>().is_ok(),
                },
                Some("number") => v.parse::<f64>().is_ok(),
                Some("boolean") => v == "true" || v == "false",
                _ => true,
            };
            let listed = item.get("enum").and_then(|e| e.as_array()).is_none_or(|e| {
                e.iter().any(|x| {
                    x.as_str() == Some(v) || v.parse::<i64>().is_ok_and(|n| x.as_i64() == Some(n))
                })
            });
            if !ok || !listed {
                return Some(format!(
                    "query parameter {name}: {v:?} does not fit its schema {item}"
                ));
            }
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 3 <= bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The shared headers are checked as the spec declares them: `language` is `zh-CN` or
/// `en-US`, `X-Date` 16 characters and `X-Traceid` exactly 58; otherwise HTTP 400, 13000102.
async fn check_common_headers(request: Request, next: Next) -> Response {
    // An undocumented method is the router's to answer (405), whatever the headers.
    let documented = documented_methods(request.uri().path()).contains(&request.method().as_str());
    if !documented {
        return next.run(request).await;
    }
    if let Some(problem) = common_header_problem(request.headers())
        .or_else(|| query_problem(request.method(), request.uri()))
    {
        return ApiError::invalid(problem).into_response();
    }
    next.run(request).await
}

fn common_header_problem(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned())
    };
    if let Some(lang) = text("language")
        && lang != "zh-CN"
        && lang != "en-US"
    {
        return Some(format!("header language: {lang:?} is not zh-CN or en-US"));
    }
    // The spec's SigningDate: 16 characters (the signature check validates real values).
    if let Some(date) = text("x-date")
        && date.chars().count() != 16
    {
        return Some(format!(
            "header X-Date: {date:?} is not 16 characters (YYYYMMDDTHHMMSSZ)"
        ));
    }
    if let Some(trace) = text("x-traceid") {
        let n = trace.chars().count();
        if n != 58 {
            return Some(format!("header X-Traceid: {n} characters, not 58"));
        }
    }
    None
}

/// The methods the spec documents for a path: those of the most literal matching templates
/// (`POST /cancel` is cancelJob; `/{job_id}` would match it too, but a literal path wins).
fn documented_methods(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let is_param = |t: &str| t.starts_with('{') && t.ends_with('}');
    let matches: Vec<(usize, &'static str)> = koodrive_api::operations::ALL
        .iter()
        .filter_map(|m| {
            let template: Vec<&str> = m.path.trim_end_matches('/').split('/').collect();
            let fits = template.len() == segments.len()
                && template
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| is_param(t) || t == s);
            fits.then(|| (template.iter().filter(|t| !is_param(t)).count(), m.method))
        })
        .collect();
    let best = matches.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut methods: Vec<&'static str> = matches
        .into_iter()
        .filter(|(n, _)| *n == best)
        .map(|(_, m)| m)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

pub(crate) async fn unsupported(method: Method, uri: Uri) -> Response {
    let allowed = documented_methods(uri.path());
    match operation_for(&method, uri.path()) {
        Some(id) if allowed.contains(&method.as_str()) => {
            ApiError::not_supported(id).into_response()
        }
        _ if !allowed.is_empty() => {
            let allow = allowed.join(", ");
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                NOT_SUPPORTED,
                format!(
                    "{method} is not documented for {}; the spec documents {allow}",
                    uri.path()
                ),
            )
            .into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(axum::http::header::ALLOW, v);
            }
            response
        }
        _ => ApiError::new(
            StatusCode::NOT_FOUND,
            crate::error::RESOURCE_NOT_FOUND,
            format!(
                "{method} {} is not a KooDrive operation (nor an emulator route)",
                uri.path()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_operations_are_recognised() {
        assert_eq!(
            operation_for(&Method::POST, "/koodrive/ose/v1/jobs"),
            Some("createJob")
        );
        assert_eq!(
            operation_for(&Method::POST, "/koodrive/ose/v1/files/search"),
            Some("searchFiles")
        );
        assert_eq!(operation_for(&Method::GET, "/nope"), None);
        assert_eq!(
            operation_for(&Method::GET, "/koodrive/ose/v1/access"),
            Some("listRecentlyAccess")
        );
    }

    #[test]
    fn x_dates_parse() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_725_852_805);
        let text = koodrive_api::auth::x_date(t);
        assert_eq!(text, "20240909T033325Z");
        assert_eq!(parse_x_date(&text), Some(1_725_852_805));
        assert_eq!(parse_x_date("2024-09-09T03:33:25Z"), None);
    }
}
