//! Messages: getUnreadCount, listMessages (cursor; `filterType` and `state` filters) and
//! markMessagesRead. The emulator writes a message when a share is made or a job completes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use koodrive_api::types;

use super::browse::{int_param, query_params};
use super::{App, cursor, ok, page_size};
use crate::error::{ApiError, parse};
use crate::state::Message;

pub(crate) async fn get_unread_count(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<types::GetUnreadCountResponse>, ApiError> {
    app.auth(&headers)?;
    let count = app.world().messages.iter().filter(|m| !m.read).count();
    let (code, msg) = ok();
    Ok(Json(types::GetUnreadCountResponse {
        code,
        count: Some(count as i32),
        msg,
    }))
}

pub(crate) async fn list_messages(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListMessagesResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let size = page_size(&app.config, int_param(&params, "pageSize")?)?;
    let after = cursor(params.get("pageCursor").map(String::as_str))?;
    let kind = params.get("filterType").cloned();
    if let Some(k) = &kind {
        // Validated with the spec's own enum.
        k.parse::<types::ListMessagesFilterType>().map_err(|_| {
            ApiError::invalid(format!(
                "parameter validation failed: filterType {k:?} is not 000, 001, 002 or 003"
            ))
        })?;
    }
    if uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| p.starts_with("filterType="))
        .count()
        > 1
    {
        return Err(ApiError::invalid(
            "parameter validation failed: filterType is given more than once",
        ));
    }
    let state = int_param(&params, "state")?;
    let world = app.world();
    let mut found: Vec<&Message> = world
        .messages
        .iter()
        .filter(|m| m.seq > after)
        .filter(|m| kind.as_ref().is_none_or(|k| *k == m.kind))
        .filter(|m| state.is_none_or(|s| (s == 1) == m.read))
        .collect();
    let more = found.len() > size;
    found.truncate(size);
    let messages = found
        .iter()
        .map(|m| types::MessageInfo {
            context: Some(m.context.clone()),
            create_time: Some(m.created.clone()),
            id: Some(m.id.clone()),
            sender: Some(m.sender.clone()),
            state: Some(i32::from(m.read)),
            type_: Some(m.kind.clone()),
        })
        .collect();
    let next = more
        .then(|| found.last().map(|m| m.seq.to_string()))
        .flatten();
    let (code, msg) = ok();
    Ok(Json(types::ListMessagesResponse {
        code,
        messages,
        msg,
        next_cursor: next,
    }))
}

pub(crate) async fn mark_messages_read(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::MessageStateChangeResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::MessageIdsRequest = parse(&body)?;
    if req.ids.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: ids is required",
        ));
    }
    let mut world = app.world();
    let messages = req
        .ids
        .iter()
        .map(|id| {
            let changed = match world.messages.iter_mut().find(|m| m.id == *id) {
                Some(m) if !m.read => {
                    m.read = true;
                    true
                }
                _ => false,
            };
            types::UpdateMessageStateResponse {
                changed: Some(changed),
                id: Some(id.clone()),
            }
        })
        .collect();
    let (code, msg) = ok();
    Ok(Json(types::MessageStateChangeResponse {
        code: Some(code),
        messages,
        msg,
    }))
}
