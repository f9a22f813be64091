//! The hand-written side of the generated client's `ClientHooks`: what happens to every
//! request between the generated builder and the network.
//!
//! `pre` (before sending):
//! - removes progenitor's `api-version` header (KooDrive does not define it, and a header the
//!   server does not expect has no business in a signed request);
//! - adds a fresh 58-character `X-Traceid` unless the caller set one, `language` when
//!   configured, and `x-hw-share-folder-id` when working inside a shared folder;
//! - applies a paginator's cursor ([`crate::paginate`]);
//! - authenticates with whatever the operation accepts and the client holds
//!   ([`crate::auth`]), refreshing an expired user session first when asked to.
//!
//! `exec` (sending): one `tracing` span per request; retries ([`crate::retry`]); one session
//! refresh and resend on HTTP 401; and the envelope check, which turns a `code` other than 0
//! inside an HTTP 200 into an error response (the generated code then returns an error).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, HOST};
use tracing::Instrument;

use crate::auth::{self, Credentials, SigningInput};
use crate::envelope::ResultCode;
use crate::error::ErrorCode;
use crate::operation::{report, Envelope, OperationMeta};
use crate::paginate;
use crate::retry::{retryable_status, RetryPolicy};
use crate::Client;

/// The trace-id header KooDrive reads.
pub const TRACE_ID_HEADER: HeaderName = HeaderName::from_static("x-traceid");
/// The header that places an operation inside a shared folder.
pub const SHARE_FOLDER_HEADER: HeaderName = HeaderName::from_static("x-hw-share-folder-id");
const LANGUAGE_HEADER: HeaderName = HeaderName::from_static("language");
const USER_ID_HEADER: HeaderName = HeaderName::from_static("x-user-id");
const DATE_HEADER: HeaderName = HeaderName::from_static("x-date");
const API_VERSION_HEADER: HeaderName = HeaderName::from_static("api-version");

/// A user token lasts this long after the last call (sliding).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(20 * 60);

/// Settings and state the generated [`Client`] carries for the hand-written layer. Cheap to
/// clone; clones share credentials (so a token rotated on one is seen by all).
#[derive(Clone, Default)]
pub struct ClientState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) share_folder_id: Option<HeaderValue>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field(
                "credentials",
                &*self.shared.credentials.read().expect("credentials lock"),
            )
            .field("auto_refresh", &self.shared.auto_refresh)
            .field("retry", &self.shared.retry)
            .field("language", &self.shared.language)
            .field("share_folder_id", &self.share_folder_id)
            .finish()
    }
}

pub(crate) struct Shared {
    pub credentials: RwLock<Credentials>,
    /// When the user token was last used successfully (the 20-minute window slides).
    pub last_use: Mutex<Option<Instant>>,
    pub auto_refresh: bool,
    pub token_lifetime: Duration,
    pub language: Option<HeaderValue>,
    pub retry: RetryPolicy,
    /// One refresh at a time.
    pub refresh_lock: tokio::sync::Mutex<()>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            credentials: RwLock::new(Credentials::None),
            last_use: Mutex::new(None),
            auto_refresh: false,
            token_lifetime: TOKEN_LIFETIME,
            language: None,
            retry: RetryPolicy::default(),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }
}

/// A new random trace id: `kdrs_` and 53 hex digits, 58 characters as KooDrive requires.
/// Unique within the process (a counter) and across processes (a random per-process seed),
/// and cheap: one seed per process, then a few multiply-xorshift rounds per id.
pub fn new_trace_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<[u64; 2]> = OnceLock::new();
    let seed = SEED.get_or_init(|| {
        let state = RandomState::new();
        [state.hash_one(0u8), state.hash_one(1u8)]
    });
    // splitmix64: a bijection of the counter, mixed with the seed.
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(58);
    id.push_str("kdrs_");
    let mut word = seed[0] ^ n;
    while id.len() < 58 {
        word = mix(word.wrapping_add(0x9e37_79b9_7f4a_7c15) ^ seed[1]);
        for shift in (0..16).rev() {
            id.push(HEX[(word >> (shift * 4)) as usize & 0xf] as char);
        }
    }
    id.truncate(58);
    id
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Encode one path parameter (used by the generated code instead of progenitor's
/// `encode_path`): `.`, `..` and the empty string are refused, because URL normalisation would
/// drop or climb that segment and the request would address another route.
pub fn encode_path_param(name: &str, value: &str) -> Result<String, String> {
    match value {
        "" => Err(format!("path parameter `{name}` is empty")),
        "." | ".." => Err(format!("path parameter `{name}` is `{value}`, which URL normalisation would turn into another path")),
        _ => Ok(progenitor_client::encode_path(value)),
    }
}

/// Session operations must not trigger a session refresh themselves.
fn is_session_op(id: &str) -> bool {
    matches!(
        id,
        "createSession" | "refreshSession" | "validateSession" | "logout" | "getAuthCodeUrl"
    )
}

impl Client {
    fn meta(info: &OperationInfo) -> Option<&'static OperationMeta> {
        OperationMeta::by_fn_name(info.operation_id)
    }

    /// Whether the user token is older than its sliding lifetime, less a margin (a minute, or
    /// a tenth of the lifetime when that is shorter).
    fn token_expired(&self) -> bool {
        let shared = &self.inner.shared;
        let last = *shared.last_use.lock().expect("last-use lock");
        let margin = Duration::from_secs(60).min(shared.token_lifetime / 10);
        last.is_some_and(|t| t.elapsed() + margin >= shared.token_lifetime)
    }

    fn can_refresh(&self) -> bool {
        self.inner.shared.auto_refresh
            && matches!(
                *self
                    .inner
                    .shared
                    .credentials
                    .read()
                    .expect("credentials lock"),
                Credentials::UserToken {
                    session_id: Some(_),
                    ..
                }
            )
    }

    /// Set the Authorization (and app-auth) headers the operation accepts, from the client's
    /// credentials. Returns why not, if it cannot.
    fn authenticate(
        &self,
        request: &mut reqwest::Request,
        meta: &OperationMeta,
    ) -> Result<(), String> {
        let accepts = |s: &str| meta.security.contains(&s);
        // Read under the lock (no await here), without copying the secrets.
        let credentials = self
            .inner
            .shared
            .credentials
            .read()
            .expect("credentials lock");
        let headers = request.headers_mut();
        match &*credentials {
            Credentials::UserToken { token, .. } if accepts("userToken") => {
                let value = sensitive(&auth::bearer_value(token.expose()))
                    .ok_or("the user token is not a valid header value")?;
                headers.insert(AUTHORIZATION, value);
                return Ok(());
            }
            Credentials::AppToken { token, user_id } if accepts("appToken") => {
                let value = sensitive(&auth::bearer_value(token.expose()))
                    .ok_or("the application token is not a valid header value")?;
                headers.insert(AUTHORIZATION, value);
                if let Some(uid) = user_id
                    .as_deref()
                    .and_then(|u| HeaderValue::from_str(u).ok())
                {
                    headers.entry(USER_ID_HEADER).or_insert(uid);
                }
                return Ok(());
            }
            Credentials::App(app) if accepts("appAuth") => {
                let url = request.url().clone();
                let host = match url.port() {
                    Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                };
                let date = auth::x_date(SystemTime::now());
                let body = request
                    .body()
                    .and_then(|b| b.as_bytes())
                    .unwrap_or_default()
                    .to_vec();
                let signed = [
                    ("host", host.as_str()),
                    ("x-date", date.as_str()),
                    ("x-user-id", app.user_id.as_str()),
                ];
                let input = SigningInput {
                    method: request.method().as_str(),
                    path: url.path(),
                    query: url.query().unwrap_or(""),
                    headers: &signed,
                    body: &body,
                };
                let authorization = auth::sign(&app.app_id, &app.app_secret, &input);
                let headers = request.headers_mut();
                headers.insert(
                    HOST,
                    HeaderValue::from_str(&host)
                        .map_err(|_| "the host is not a valid header value")?,
                );
                headers.insert(
                    DATE_HEADER,
                    HeaderValue::from_str(&date).expect("an X-Date is ASCII"),
                );
                headers.insert(
                    USER_ID_HEADER,
                    HeaderValue::from_str(&app.user_id)
                        .map_err(|_| "the app user id is not a valid header value")?,
                );
                headers.insert(
                    AUTHORIZATION,
                    sensitive(&authorization).expect("a signature is ASCII"),
                );
                return Ok(());
            }
            _ => {}
        }
        // Without credentials the request goes as built: the operation may need none, or the
        // caller authenticates through their own `reqwest::Client` (default headers).
        if accepts("none") || matches!(*credentials, Credentials::None) {
            return Ok(());
        }
        let have = match *credentials {
            Credentials::None => "no credentials",
            Credentials::UserToken { .. } => "a user access token",
            Credentials::App(_) => "HMAC app credentials",
            Credentials::AppToken { .. } => "an application access token",
        };
        Err(format!(
            "{} accepts {} but the client has {have}",
            meta.id,
            meta.security.join(" or ")
        ))
    }

    /// Call refreshSession with the session id and install the new token. Boxed: the
    /// refreshSession request goes through these same hooks, which may call this function.
    pub(crate) fn refresh_session_token(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(self.refresh_session_token_inner())
    }

    /// The user token and its session id, when the client holds both.
    fn user_session(&self) -> Option<(auth::Secret, auth::Secret)> {
        match &*self
            .inner
            .shared
            .credentials
            .read()
            .expect("credentials lock")
        {
            Credentials::UserToken {
                token,
                session_id: Some(s),
            } => Some((token.clone(), s.clone())),
            _ => None,
        }
    }

    async fn refresh_session_token_inner(&self) -> Result<(), String> {
        let (before, _) = self
            .user_session()
            .ok_or("no user session to refresh (set a session id with the token)")?;
        let _guard = self.inner.shared.refresh_lock.lock().await;
        // Someone else may have refreshed while we waited.
        let (current, session) = self
            .user_session()
            .ok_or("the credentials changed during the refresh")?;
        if current != before {
            return Ok(());
        }
        let response = self
            .refresh_session()
            .x_session_id(session.expose())
            .send()
            .await
            .map_err(|e| format!("refreshSession failed: {}", crate::error::describe_raw(&e)))?
            .into_inner();
        let value = serde_json::to_value(&response).unwrap_or_default();
        let token = value
            .pointer("/accessToken")
            .or_else(|| value.pointer("/data/accessToken"))
            .and_then(|v| v.as_str())
            .ok_or("refreshSession returned no accessToken")?;
        self.set_user_token(token, Some(session.expose()));
        Ok(())
    }
}

/// Just the `code` of a body (every other field skipped, nothing else built).
#[derive(serde::Deserialize)]
struct CodeOnly {
    #[serde(default)]
    code: Option<ResultCode>,
}

/// The result code of a JSON body under the operation's envelope: `Some((true, code))`
/// success, `Some((false, code))` error, `None` no code (or no JSON object).
fn envelope_success(envelope: Envelope, body: &[u8]) -> Option<(bool, i64)> {
    let code = serde_json::from_slice::<CodeOnly>(body).ok()?.code?;
    let ok = match envelope {
        Envelope::Transcode => code.value() == 200 || code.value() == 0,
        _ => code.is_success(),
    };
    Some((ok, code.value()))
}

/// What is kept of a response whose body was read: it is rebuilt around the body.
struct Head {
    version: reqwest::Version,
    headers: HeaderMap,
    url: reqwest::Url,
}

fn rebuild(status: reqwest::StatusCode, head: Head, body: Bytes) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    let Head {
        version,
        headers,
        url,
    } = head;
    // Keeping the URL also spares reqwest parsing a placeholder one.
    let mut builder = http::Response::builder()
        .status(status)
        .version(version)
        .url(url);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
        h.remove(CONTENT_LENGTH);
    }
    reqwest::Response::from(
        builder
            .body(body)
            .expect("status and headers came from a response"),
    )
}

enum Verdict {
    Done(reqwest::Response),
    Retry,
}

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        headers.remove(API_VERSION_HEADER);
        if !headers.contains_key(TRACE_ID_HEADER) {
            headers.insert(
                TRACE_ID_HEADER,
                HeaderValue::from_str(&new_trace_id()).expect("a trace id is ASCII"),
            );
        }
        if let Some(lang) = &self.inner.shared.language {
            headers.entry(LANGUAGE_HEADER).or_insert(lang.clone());
        }
        if let Some(folder) = &self.inner.share_folder_id {
            headers.entry(SHARE_FOLDER_HEADER).or_insert(folder.clone());
        }
        let trace = headers
            .get(TRACE_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        report(|r| r.trace_id = trace);
        let Some(meta) = Self::meta(info) else {
            return Ok(());
        };
        paginate::apply(request, meta).map_err(Error::InvalidRequest)?;
        if !is_session_op(meta.id) && self.can_refresh() && self.token_expired() {
            if let Err(reason) = self.refresh_session_token().await {
                report(|r| r.auth_error = Some(reason.clone()));
                return Err(Error::InvalidRequest(reason));
            }
        }
        if let Err(reason) = self.authenticate(request, meta) {
            report(|r| r.auth_error = Some(reason.clone()));
            return Err(Error::InvalidRequest(reason));
        }
        Ok(())
    }

    async fn exec(
        &self,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let meta = Self::meta(info);
        let policy = self.inner.shared.retry;
        let max_attempts = if meta.is_some_and(|m| m.idempotent) {
            policy.max_attempts.max(1)
        } else {
            1
        };
        let trace_id = request
            .headers()
            .get(TRACE_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "koodrive.request",
            operation = meta.map(|m| m.id).unwrap_or(info.operation_id),
            method = %request.method(),
            path = meta.map(|m| m.path).unwrap_or_default(),
            trace_id = %trace_id,
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        let attempts = async {
            loop {
                attempt += 1;
                span.record("attempt", attempt);
                report(|r| r.attempts = attempt);
                let retries_left = attempt < max_attempts;
                // Keep the original for a later attempt when the body can be replayed.
                let this_try = match request.try_clone() {
                    Some(copy) => copy,
                    None => return self.client().execute(request).await,
                };
                let verdict = match self.client().execute(this_try).await {
                    Err(e) => {
                        if retries_left
                            && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body())
                        {
                            tracing::debug!(error = %e, "transport error; retrying");
                            Verdict::Retry
                        } else {
                            return Err(e);
                        }
                    }
                    Ok(response) => {
                        let status = response.status();
                        span.record("status", status.as_u16());
                        report(|r| r.status = Some(status.as_u16()));
                        if status == reqwest::StatusCode::UNAUTHORIZED
                            && !refreshed
                            && !meta.is_some_and(|m| is_session_op(m.id))
                            && self.can_refresh()
                        {
                            refreshed = true;
                            match self.refresh_session_token().await {
                                Ok(()) => {
                                    if let Some(meta) = meta {
                                        let _ = self.authenticate(&mut request, meta);
                                    }
                                    attempt -= 1;
                                    continue;
                                }
                                Err(reason) => {
                                    report(|r| r.auth_error = Some(reason));
                                    return Ok(response);
                                }
                            }
                        }
                        self.judge(response, meta, retries_left).await?
                    }
                };
                match verdict {
                    Verdict::Done(response) => {
                        if response.status().is_success() {
                            *self.inner.shared.last_use.lock().expect("last-use lock") =
                                Some(Instant::now());
                        }
                        return Ok(response);
                    }
                    Verdict::Retry => {
                        let delay = policy.backoff(attempt);
                        tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        };
        // Without a subscriber that wants the span, skip entering and leaving it on every poll.
        let result = if span.is_disabled() {
            attempts.await
        } else {
            attempts.instrument(span.clone()).await
        };
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        span.in_scope(|| match &result {
            Ok(r) => tracing::debug!(status = r.status().as_u16(), "response"),
            Err(e) => tracing::debug!(error = %e, "request failed"),
        });
        result
    }
}

impl Client {
    /// Decide what a response means: done (possibly rewritten), or worth a retry.
    async fn judge(
        &self,
        response: reqwest::Response,
        meta: Option<&OperationMeta>,
        retries_left: bool,
    ) -> reqwest::Result<Verdict> {
        let status = response.status();
        if retryable_status(status.as_u16()) && retries_left {
            return Ok(Verdict::Retry);
        }
        let envelope = meta.map(|m| m.envelope).unwrap_or(Envelope::None);
        // Every operation with an envelope answers JSON: check the body whatever the content
        // type says (a server that mislabels it must not turn an error into a success).
        let check_body = !status.is_success() || envelope != Envelope::None;
        if !check_body {
            return Ok(Verdict::Done(response));
        }
        let head = Head {
            version: response.version(),
            headers: response.headers().clone(),
            url: response.url().clone(),
        };
        let body = match response.bytes().await {
            Ok(body) => body,
            // The connection broke while the body arrived: a transport error, retried like one.
            Err(e) if retries_left => {
                tracing::debug!(error = %e, "body read failed; retrying");
                return Ok(Verdict::Retry);
            }
            Err(e) => return Err(e),
        };
        let code = envelope_success(envelope, &body);
        // AI services say `message` where the others say `msg`.
        let body = match code {
            Some((false, _)) if envelope == Envelope::Ai => ai_message_as_msg(body),
            _ => body,
        };
        if status.is_success() {
            return Ok(match code {
                Some((false, c)) if retries_left && ErrorCode::from_code(c).is_transient() => {
                    Verdict::Retry
                }
                // A code other than 0 inside an HTTP 200 is an error: let the generated code
                // see an error status (the report keeps the real one).
                Some((false, _)) => {
                    Verdict::Done(rebuild(reqwest::StatusCode::BAD_REQUEST, head, body))
                }
                _ => Verdict::Done(rebuild(status, head, body)),
            });
        }
        // An error status. The transcoding service answers {error_code, error_msg}.
        if envelope == Envelope::Transcode {
            if let Some(body) = transcode_error(&body) {
                return Ok(Verdict::Done(rebuild(status, head, body)));
            }
        }
        match code {
            Some((_, c)) if retries_left && ErrorCode::from_code(c).is_transient() => {
                Ok(Verdict::Retry)
            }
            Some(_) => Ok(Verdict::Done(rebuild(status, head, body))),
            None => {
                let end = body.len().min(4096);
                report(|r| r.error_body = Some(String::from_utf8_lossy(&body[..end]).into_owned()));
                Ok(Verdict::Done(rebuild(status, head, body)))
            }
        }
    }
}

/// An AI service's error body with `message` copied to `msg` (when it has no `msg`).
fn ai_message_as_msg(body: Bytes) -> Bytes {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    if v.get("msg").is_some() || v.get("message").is_none() {
        return body;
    }
    v["msg"] = v["message"].clone();
    serde_json::to_vec(&v).expect("JSON").into()
}

/// The transcoding service's `{error_code, error_msg}` as a `{code, msg}` body.
fn transcode_error(body: &[u8]) -> Option<Bytes> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err_code = v.get("error_code")?;
    let text = err_code
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| err_code.to_string());
    let msg = format!(
        "{text}: {}",
        v.get("error_msg")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
    );
    let code = text.trim().parse::<i64>().unwrap_or(-1);
    Some(
        serde_json::to_vec(&serde_json::json!({ "code": code, "msg": msg }))
            .expect("JSON")
            .into(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn trace_ids_are_58_characters_and_differ() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| super::new_trace_id()).collect();
        assert_eq!(ids.len(), 10_000, "no repeats");
        for id in &ids {
            assert_eq!(id.len(), 58, "{id}");
            assert!(id.starts_with("kdrs_"), "{id}");
            assert!(
                id[5..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{id}"
            );
        }
    }
}
