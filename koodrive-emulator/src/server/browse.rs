//! Search, folder statistics, full paths and favourites.
//!
//! - searchFiles matches `filter.keyWord` against names (case-insensitive), in the whole space
//!   or under `filter.parentFolder` (its children, or every descendant with `recursived`), in
//!   the live tree or, with `recycled`, in the recycle bin. Pages by `pageInfo.pageCursor`;
//!   the next cursor is `nextPageCursor`, absent on the last page.
//! - getDirectoryStats counts a folder's children (every descendant with `recursive`).
//! - getFullPath answers `fileIdPath` (`/D…/F…`) and `namePath` (`/docs/report.bin`), both
//!   from the space root, which is `/`.
//! - batchStarFiles and listStarredFiles keep favourites in the order they were starred.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use koodrive_api::types;

use super::files::metadata;
use super::{App, cursor, ok, page_size};
use crate::error::{ApiError, parse, require};
use crate::state::{Node, ROOT, World};

/// The query parameters of a request, percent-decoded (`+` is a space).
pub(crate) fn query_params(uri: &Uri) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match std::str::from_utf8(&bytes[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A required query parameter.
pub(crate) fn required_param<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, ApiError> {
    let value = params.get(name).map(String::as_str).unwrap_or_default();
    require(value, name)?;
    Ok(value)
}

/// An optional boolean query parameter.
pub(crate) fn bool_param(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<bool>, ApiError> {
    match params.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::invalid(format!(
            "parameter validation failed: {name} must be true or false, not {v}"
        ))),
    }
}

/// An optional integer query parameter.
pub(crate) fn int_param(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        // The spec types these query parameters as Integer (int32).
        Some(v) => v.parse::<i32>().map(|n| Some(i64::from(n))).map_err(|_| {
            ApiError::invalid(format!(
                "parameter validation failed: {name} must be a 32-bit integer, not {v}"
            ))
        }),
    }
}

/// `(fileIdPath, namePath)` of a node, from the space root (`/`).
pub(crate) fn paths(world: &World, id: &str) -> (String, String) {
    let mut ids = vec![];
    let mut names = vec![];
    let mut cur = id;
    for _ in 0..10_000 {
        if cur == ROOT {
            break;
        }
        match world.nodes.get(cur) {
            Some(n) => {
                ids.push(n.id.clone());
                names.push(n.name.clone());
                cur = &n.parent;
            }
            None => break,
        }
    }
    ids.reverse();
    names.reverse();
    (
        format!("/{}", ids.join("/")),
        format!("/{}", names.join("/")),
    )
}

fn suffix(n: &Node) -> Option<String> {
    n.name
        .rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty() && !n.dir)
        .map(|(_, ext)| ext.to_owned())
}

pub(crate) async fn search_files(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::SearchFilesResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::SearchFilesRequest = parse(&body)?;
    let filter = req.filter.clone().unwrap_or_default();
    if let Some(c) = filter.container_id.as_deref() {
        app.container(c)?;
    }
    let size = page_size(&app.config, Some(i64::from(req.page_info.page_size.get())))?;
    let after = cursor(Some(&req.page_info.page_cursor))?;
    let keyword = filter
        .key_word
        .as_ref()
        .map(|k| k.to_string().to_lowercase())
        .unwrap_or_default();
    let type_filter = filter
        .file_type
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    let recycled = req.recycled.unwrap_or(false);
    let world = app.world();
    let scope: Option<Vec<String>> = match filter.parent_folder.as_deref() {
        None | Some("") => None,
        Some(parent) => {
            world.folder(parent)?;
            Some(if req.recursived.unwrap_or(false) {
                world.descendants(parent)
            } else {
                world
                    .nodes
                    .values()
                    .filter(|n| n.parent == parent)
                    .map(|n| n.id.clone())
                    .collect()
            })
        }
    };
    let mut matching: Vec<&Node> = world
        .nodes
        .values()
        .filter(|n| n.ready && world.in_recycle_bin(&n.id) == recycled)
        .filter(|n| scope.as_ref().is_none_or(|s| s.contains(&n.id)))
        .filter(|n| n.name.to_lowercase().contains(&keyword))
        .filter(|n| type_filter.as_ref().is_none_or(|t| *t == n.file_type))
        .collect();
    matching.sort_by_key(|n| n.seq);
    let total = matching.len();
    matching.retain(|n| n.seq > after);
    let more = matching.len() > size;
    matching.truncate(size);
    let files = matching
        .iter()
        .map(|n| {
            let (id_path, name_path) = paths(&world, &n.id);
            types::SearchFileInfo {
                container_id: Some(app.config.container_id.clone()),
                container_type: Some("1".into()),
                download_links: vec![],
                favorite: Some(n.starred.is_some()),
                file_name: Some(n.name.clone()),
                file_suffix: suffix(n),
                file_type: Some(n.file_type.clone()),
                id: Some(n.id.clone()),
                id_path: Some(id_path),
                name_path: Some(name_path),
                owner: Some(app.config.user_id.clone()),
                size: Some(n.data.len().to_string()),
                team_id: None,
                team_name: None,
                update_time: Some(n.edited.clone()),
                extra: Default::default(),
            }
        })
        .collect();
    let next = more
        .then(|| matching.last().map(|n| n.seq.to_string()))
        .flatten();
    let (code, msg) = ok();
    Ok(Json(types::SearchFilesResponse {
        code: Some(code),
        files,
        msg,
        next_page_cursor: next,
        total: Some(total as i32),
        extra: Default::default(),
    }))
}

pub(crate) async fn get_directory_stats(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::GetDirectoryStatsResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let file_id = required_param(&params, "fileId")?;
    app.container(required_param(&params, "containerId")?)?;
    let recursive = bool_param(&params, "recursive")?.unwrap_or(false);
    let dirs = bool_param(&params, "includeDirCount")?.unwrap_or(true);
    let files = bool_param(&params, "includeFileCount")?.unwrap_or(true);
    let sizes = bool_param(&params, "includeTotalSize")?.unwrap_or(true);
    let world = app.world();
    if file_id != ROOT {
        let n = world.node(file_id)?;
        if !n.dir {
            return Err(ApiError::not_found(format!("{file_id} is not a folder")));
        }
    }
    let ids: Vec<String> = if recursive {
        world.descendants(file_id)
    } else {
        world
            .nodes
            .values()
            .filter(|n| n.parent == file_id && n.ready)
            .map(|n| n.id.clone())
            .collect()
    };
    let inside_bin = world.in_recycle_bin(file_id);
    let nodes: Vec<&Node> = ids
        .iter()
        .filter_map(|id| world.nodes.get(id))
        .filter(|n| inside_bin || !world.in_recycle_bin(&n.id))
        .collect();
    let data = types::StatsData {
        sub_dir_count: dirs.then(|| nodes.iter().filter(|n| n.dir).count() as i64),
        sub_file_count: files.then(|| nodes.iter().filter(|n| !n.dir).count() as i64),
        total_size: sizes.then(|| nodes.iter().map(|n| n.data.len() as i64).sum()),
    };
    let (code, msg) = ok();
    Ok(Json(types::GetDirectoryStatsResponse {
        code: Some(code),
        data: Some(data),
        msg,
    }))
}

pub(crate) async fn get_full_path(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::GetFullPathResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let file_id = required_param(&params, "fileId")?;
    app.container(required_param(&params, "containerId")?)?;
    let world = app.world();
    if file_id != ROOT {
        world.node(file_id)?;
    }
    let (id_path, name_path) = paths(&world, file_id);
    let (code, msg) = ok();
    Ok(Json(types::GetFullPathResponse {
        code: Some(code),
        file_id_path: Some(id_path),
        msg,
        name_path: Some(name_path),
    }))
}

pub(crate) async fn batch_star_files(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::BatchStarFilesResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::BatchStarFilesRequest = parse(&body)?;
    if req.sub_request_list.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: subRequestList is required",
        ));
    }
    let mut world = app.world();
    let mut results = Vec::with_capacity(req.sub_request_list.len());
    for item in &req.sub_request_list {
        let outcome = app
            .container(&item.container_id)
            .and_then(|()| world.live_node(&item.file_id).map(|_| ()));
        let result = match outcome {
            Err(e) => types::StarFileSubResponse {
                code: Some(e.code.to_string()),
                file_id: Some(item.file_id.clone()),
                message: Some(e.msg),
            },
            Ok(()) => {
                let seq = world.seq();
                let node = world.nodes.get_mut(&item.file_id).expect("checked above");
                if !req.starred {
                    node.starred = None;
                } else if node.starred.is_none() {
                    node.starred = Some(seq);
                }
                types::StarFileSubResponse {
                    code: Some("0".into()),
                    file_id: Some(item.file_id.clone()),
                    message: Some("success".into()),
                }
            }
        };
        results.push(result);
    }
    let failed = results
        .iter()
        .filter(|r| r.code.as_deref() != Some("0"))
        .count();
    let status = match failed {
        0 => 0,
        n if n == results.len() => 2,
        _ => 1,
    };
    let (code, msg) = ok();
    Ok(Json(types::BatchStarFilesResponse {
        code: Some(code),
        msg,
        status: Some(status),
        sub_response_list: results,
    }))
}

pub(crate) async fn list_starred_files(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListStarredFilesResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let size = page_size(&app.config, int_param(&params, "pageSize")?)?;
    let after = cursor(params.get("pageCursor").map(String::as_str))?;
    let world = app.world();
    let mut starred: Vec<(u64, &Node)> = world
        .nodes
        .values()
        .filter(|n| n.ready)
        .filter_map(|n| n.starred.map(|s| (s, n)))
        .filter(|(s, _)| *s > after)
        .collect();
    starred.sort_by_key(|(s, _)| *s);
    let more = starred.len() > size;
    starred.truncate(size);
    let star_files = starred
        .iter()
        .map(|(_, n)| {
            let m = metadata(&app, n);
            types::StarFileInfo {
                category: Some("drive#file".into()),
                data_type: Some(0),
                favorite: Some(true),
                file_name: m.file_name,
                file_type: m.file_type,
                id: m.id,
                keychains: vec![],
                mime_type: m.mime_type,
                recycled: Some(world.in_recycle_bin(&n.id)),
                extra: Default::default(),
            }
        })
        .collect();
    let next = more
        .then(|| starred.last().map(|(s, _)| s.to_string()))
        .flatten();
    let (code, msg) = ok();
    Ok(Json(types::ListStarredFilesResponse {
        auto_deleted: None,
        code: Some(code),
        msg,
        next_cursor: next,
        star_files,
        extra: Default::default(),
    }))
}
