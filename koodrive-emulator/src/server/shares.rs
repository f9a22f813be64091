//! Shares: createShare, listShareByMe (cursor), getShareByMeDetail, cancelShares and
//! listShareWithMe (what [`crate::Emulator::seed_received_share`] put there). Creating a share
//! leaves a sharing message.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use koodrive_api::envelope::ResultCode;
use koodrive_api::types;

use super::browse::{int_param, query_params};
use super::files::metadata;
use super::{App, Inner, cursor, ok, other_operation, page_size};
use crate::error::{ApiError, RESOURCE_NOT_FOUND, parse};
use crate::state::{Message, Share, World, now_rfc3339, random_hex};

/// RFC 3339 `days` from now (whole days; the time of day of now).
fn days_from_now(days: u32) -> String {
    let now = now_rfc3339();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let then = secs + u64::from(days) * 86_400;
    // Reuse the X-Date formatter for the civil date, keep now's layout.
    let d =
        koodrive_api::auth::x_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(then));
    format!(
        "{}-{}-{}T{}:{}:{}{}",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15],
        &now[19..]
    )
}

fn share_files(app: &Inner, world: &World, share: &Share) -> Vec<types::ShareFileInfo> {
    share
        .file_ids
        .iter()
        .filter_map(|id| world.nodes.get(id))
        .map(|n| {
            let m = metadata(app, n);
            types::ShareFileInfo {
                containers: m.containers,
                download_links: vec![],
                file_name: m.file_name,
                file_suffix: m.file_suffix,
                file_type: m.file_type,
                id: m.id,
                mime_type: m.mime_type,
                parent_folder: m.parent_folder,
                recycled: Some(world.in_recycle_bin(&n.id)),
                size: Some(n.data.len() as i64),
                extra: Default::default(),
            }
        })
        .collect()
}

fn display_name(world: &World, share: &Share) -> Option<String> {
    share
        .file_ids
        .first()
        .and_then(|id| world.nodes.get(id))
        .map(|n| n.name.clone())
}

fn link_url(app: &Inner, share: &Share) -> String {
    format!("{}/_emulator/s/{}", app.base_url, share.short_url)
}

pub(crate) async fn create_share(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CreateShareResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CreateShareRequest = parse(&body)?;
    app.container(&req.container_id)?;
    if req.file_ids.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: fileIds is required",
        ));
    }
    let days = req.valid_days.get();
    if days > 365 {
        return Err(ApiError::invalid(
            "parameter validation failed: validDays must be 1 to 365",
        ));
    }
    let scope = *req.scope;
    let mut world = app.world();
    for id in &req.file_ids {
        world.live_node(id)?;
    }
    let seq = world.seq();
    let share = Share {
        id: format!("S{}", random_hex(23)),
        seq,
        file_ids: req.file_ids.clone(),
        scope,
        comment: req.comment.clone(),
        extract_code: req.extract_code.clone(),
        permission: req.permission.clone(),
        user_ids: req.user_ids.clone(),
        created: now_rfc3339(),
        expires: req
            .expire_time
            .clone()
            .unwrap_or_else(|| days_from_now(days)),
        short_url: random_hex(12),
    };
    let name = display_name(&world, &share);
    let link = types::ShareLink {
        create_time: Some(share.created.clone()),
        display_name: name.clone(),
        download_cnt: None,
        expire_time: Some(share.expires.clone()),
        extract_code: share.extract_code.clone(),
        link_url: Some(link_url(&app, &share)),
        save_cnt: None,
        scope: Some(scope),
        share_id: Some(share.id.clone()),
        share_time: Some(share.created.clone()),
        short_url: Some(share.short_url.clone()),
        status: Some(0),
        update_time: Some(share.created.clone()),
        view_cnt: None,
        extra: Default::default(),
    };
    let mseq = world.seq();
    world.messages.push(Message {
        id: format!("M{}", random_hex(15)),
        seq: mseq,
        kind: "000".into(),
        context: format!(
            "You shared {} ({} item(s))",
            name.unwrap_or_default(),
            share.file_ids.len()
        ),
        sender: app.config.user_id.clone(),
        created: now_rfc3339(),
        read: false,
    });
    world.shares.insert(share.id.clone(), share);
    let (code, msg) = ok();
    Ok(Json(types::CreateShareResponse {
        code: Some(code),
        msg,
        share_link: Some(link),
        extra: Default::default(),
    }))
}

pub(crate) async fn list_share_by_me(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListShareByMeResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let size = page_size(&app.config, int_param(&params, "pageSize")?)?;
    let after = cursor(params.get("pageCursor").map(String::as_str))?;
    let world = app.world();
    let mut shares: Vec<&Share> = world.shares.values().filter(|s| s.seq > after).collect();
    shares.sort_by_key(|s| s.seq);
    let more = shares.len() > size;
    shares.truncate(size);
    let share_links = shares
        .iter()
        .map(|s| types::ShareByMeLink {
            comment: s.comment.clone(),
            container_id: Some(app.config.container_id.clone()),
            container_name: Some("personal".into()),
            display_name: display_name(&world, s),
            download_cnt: None,
            expire_time: Some(s.expires.clone()),
            extract_code: s.extract_code.clone(),
            files: share_files(&app, &world, s),
            link_url: Some(link_url(&app, s)),
            permission: s.permission.clone(),
            save_cnt: None,
            scope: Some(s.scope),
            share_id: Some(s.id.clone()),
            share_time: Some(s.created.clone()),
            short_url: Some(s.short_url.clone()),
            status: Some(0),
            view_cnt: None,
        })
        .collect();
    let next = more
        .then(|| shares.last().map(|s| s.seq.to_string()))
        .flatten();
    let (code, msg) = ok();
    Ok(Json(types::ListShareByMeResponse {
        code: Some(code),
        msg,
        next_cursor: next,
        share_links,
    }))
}

pub(crate) async fn get_share_by_me_detail(
    State(app): State<App>,
    Path(share_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<types::GetShareByMeDetailResponse>, ApiError> {
    if let Some(e) = other_operation(&method, &uri, "getShareByMeDetail") {
        return Err(e);
    }
    app.auth(&headers)?;
    let world = app.world();
    let s = world
        .shares
        .get(&share_id)
        .ok_or_else(|| ApiError::bad(RESOURCE_NOT_FOUND, format!("no share {share_id}")))?;
    let (code, msg) = ok();
    Ok(Json(types::GetShareByMeDetailResponse {
        code: Some(code),
        msg,
        share_link: Some(types::ShareByMeLinkDetail {
            comment: s.comment.clone(),
            depts: vec![],
            display_name: display_name(&world, s),
            expire_time: Some(s.expires.clone()),
            extract_code: s.extract_code.clone(),
            groups: vec![],
            link_url: Some(link_url(&app, s)),
            permission: s.permission.clone(),
            scope: Some(s.scope),
            share_id: Some(s.id.clone()),
            share_time: Some(s.created.clone()),
            short_url: Some(s.short_url.clone()),
            status: Some(0),
            users: vec![],
        }),
    }))
}

pub(crate) async fn cancel_shares(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CancelSharesResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CancelSharesRequest = parse(&body)?;
    if req.share_ids.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: shareIds is required",
        ));
    }
    let mut world = app.world();
    let sub_response_list = req
        .share_ids
        .iter()
        .map(|id| {
            let (code, text) = match world.shares.remove(id) {
                Some(_) => (0, "success".to_owned()),
                None => (RESOURCE_NOT_FOUND, format!("no share {id}")),
            };
            types::ShareSubResponse {
                code: Some(ResultCode(code)),
                message: Some(text.clone()),
                msg: Some(text),
                share_id: Some(id.clone()),
            }
        })
        .collect();
    let (code, msg) = ok();
    Ok(Json(types::CancelSharesResponse {
        code: Some(code),
        msg,
        sub_response_list,
    }))
}

pub(crate) async fn list_share_with_me(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListShareWithMeResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let size = page_size(&app.config, int_param(&params, "pageSize")?)?;
    let after = cursor(params.get("pageCursor").map(String::as_str))? as usize;
    let world = app.world();
    let share_links: Vec<types::ShareWithMeLink> = world
        .received
        .iter()
        .skip(after)
        .take(size)
        .cloned()
        .collect();
    let end = after + share_links.len();
    let next = (end < world.received.len()).then(|| end.to_string());
    let (code, msg) = ok();
    Ok(Json(types::ListShareWithMeResponse {
        code: Some(code),
        msg,
        next_cursor: next,
        share_links,
    }))
}
