//! Sessions: createSession, refreshSession, validateSession and logout.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use koodrive_api::types;

use super::{App, ok};
use crate::error::{ApiError, parse, require};
use crate::state::random_hex;

pub(crate) async fn create_session(
    State(app): State<App>,
    body: Bytes,
) -> Result<Json<types::CreateSessionResponse>, ApiError> {
    let req: types::CreateSessionRequest = parse(&body)?;
    require(&req.code, "code")?;
    if req.code != app.config.auth_code {
        return Err(ApiError::unauthorized("the auth code is not valid"));
    }
    let (token, session_id) = app
        .world()
        .new_session(&app.config.user_id, app.config.token_lifetime);
    let (code, msg) = ok();
    Ok(Json(types::CreateSessionResponse {
        code,
        msg,
        data: Some(types::SessionUserDto {
            access_token: Some(format!("Bearer {token}")),
            session_id: Some(session_id),
            user_id: Some(app.config.user_id.clone()),
            user_info: Some(types::SessionUserInfo {
                dept_id: None,
                inner_user_id: None,
                org_id: Some(app.config.org_id.clone()),
                org_name: Some("KooDrive emulator".into()),
                role: None,
                tenant_id: None,
                user_count: None,
                user_id: Some(app.config.user_id.clone()),
                user_name: Some(app.config.user_name.clone()),
                x_hw_schema: None,
            }),
        }),
    }))
}

/// A new token for the session named by `x-session-id`. An expired token may come along (that
/// is when clients refresh); a token of another session may not.
pub(crate) async fn refresh_session(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<types::RefreshSessionResponse>, ApiError> {
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(ApiError::unauthorized(
            "refreshSession needs the (possibly expired) access token",
        ));
    }
    let session_id = headers
        .get("x-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    require(&session_id, "x-session-id")?;
    let lifetime = app.config.token_lifetime;
    let mut world = app.world();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|a| crate::state::token_key(a).to_owned());
    if let Some(key) = &presented
        && world.tokens.get(key).is_some_and(|s| *s != session_id)
    {
        return Err(ApiError::unauthorized(
            "the access token belongs to another session",
        ));
    }
    let token = random_hex(48);
    let old = match world.sessions.get_mut(&session_id) {
        Some(s) if s.active => {
            let old = std::mem::replace(&mut s.token, token.clone());
            s.expires_at = std::time::Instant::now() + lifetime;
            old
        }
        Some(_) => return Err(ApiError::unauthorized("the session has been logged out")),
        None => return Err(ApiError::unauthorized("the session does not exist")),
    };
    world.tokens.remove(&old);
    world.tokens.insert(token.clone(), session_id);
    let (code, msg) = ok();
    Ok(Json(types::RefreshSessionResponse {
        access_token: Some(format!("Bearer {token}")),
        code,
        msg,
    }))
}

pub(crate) async fn validate_session(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<types::ValidateSessionResponse>, ApiError> {
    let user_id = app.auth(&headers)?;
    let (code, msg) = ok();
    Ok(Json(types::ValidateSessionResponse {
        code,
        msg,
        data: Some(types::OrgUserInfo {
            dept_id: None,
            inner_user_id: None,
            org_id: Some(app.config.org_id.clone()),
            org_name: Some("KooDrive emulator".into()),
            role: None,
            tenant_id: None,
            user_count: Some(1),
            user_id: Some(user_id),
            user_name: Some(app.config.user_name.clone()),
        }),
    }))
}

pub(crate) async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<types::LogoutResponse>, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut world = app.world();
    let (session_id, session) = world.authenticate(auth, app.config.token_lifetime)?;
    world.tokens.remove(&session.token);
    if let Some(s) = world.sessions.get_mut(&session_id) {
        s.active = false;
    }
    let (code, msg) = ok();
    Ok(Json(types::LogoutResponse { code, msg }))
}
