//! Files: folders, the four-step upload, listing (and the recycle bin), getFile, rename and
//! downloads.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use koodrive_api::types;
use serde_json::Value;

use super::{App, Inner, ok};
use crate::error::{
    ApiError, INSUFFICIENT_SPACE, INTEGRITY_CHECK_FAILED, NOT_ALLOWED_ON_FOLDER,
    UPLOAD_TASK_NOT_FOUND, parse, require,
};
use crate::state::{Node, ROOT, Upload, now_rfc3339, random_hex, sha256_hex};

pub(crate) fn parent_of(parent_folder: &[String]) -> Result<String, ApiError> {
    match parent_folder {
        [] => Ok(ROOT.to_owned()),
        [one] => {
            require(one, "parentFolder")?;
            Ok(one.clone())
        }
        _ => Err(ApiError::invalid(
            "parameter validation failed: parentFolder takes one folder id",
        )),
    }
}

pub(crate) async fn create_directory(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CreateDirectoryResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CreateDirectoryRequest = parse(&body)?;
    app.container(&req.container_id)?;
    let name = req
        .file_name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_default();
    require(&name, "fileName")?;
    let parent = parent_of(&req.parent_folder)?;
    let rename = req.rename_mode.as_ref().is_some_and(|m| **m == 2);
    let mut world = app.world();
    world.folder(&parent)?;
    let name = world.free_name(&parent, &name, rename, None)?;
    let now = now_rfc3339();
    let seq = world.seq();
    let id = format!("D{}", random_hex(24));
    world.nodes.insert(
        id.clone(),
        Node {
            id: id.clone(),
            name,
            parent,
            dir: true,
            file_type: "10".into(),
            mime_type: req.mime_type.clone(),
            data: Bytes::new(),
            sha256: String::new(),
            seq,
            created: req.created_time.clone().unwrap_or_else(|| now.clone()),
            edited: req.edited_time.clone().unwrap_or(now),
            ready: true,
            recycled: false,
            starred: None,
        },
    );
    let (code, msg) = ok();
    Ok(Json(types::CreateDirectoryResponse {
        code: Some(code),
        msg,
        id: Some(id),
        extra: Default::default(),
    }))
}

fn part_url(app: &Inner, file_id: &str, part: u32, key: &str) -> String {
    format!(
        "{}/_emulator/parts/{file_id}/{part}?key={key}",
        app.base_url
    )
}

/// Check the parts a request announces and remember their sizes; return them with URLs.
fn announce_parts(
    app: &Inner,
    file_id: &str,
    upload: &mut Upload,
    parts: &[types::MultiPartInfo],
) -> Result<Vec<types::MultiPartInfo>, ApiError> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let n = p.part_number.get();
        if p.part_size <= 0 || p.part_size as u64 > upload.length.max(1) {
            return Err(ApiError::invalid(format!(
                "parameter validation failed: partSize {} of part {n} is out of range",
                p.part_size
            )));
        }
        if p.part_size as usize > app.config.max_part_bytes {
            return Err(ApiError::invalid(format!(
                "parameter validation failed: part {n} is larger than the emulator's limit of {} bytes",
                app.config.max_part_bytes
            )));
        }
        upload.expected.insert(n, p.part_size as u64);
        let mut p = p.clone();
        p.upload_url = Some(part_url(app, file_id, n, &upload.key));
        out.push(p);
    }
    Ok(out)
}

pub(crate) async fn create_file(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CreateFileResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CreateFileRequest = parse(&body)?;
    app.container(&req.container_id)?;
    let name = req.file_name.to_string();
    require(&name, "fileName")?;
    require(&req.file_type, "fileType")?;
    if req.parent_folder.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: parentFolder is required",
        ));
    }
    let parent = parent_of(&req.parent_folder)?;
    if req.length < 0 {
        return Err(ApiError::invalid(
            "parameter validation failed: length must not be negative",
        ));
    }
    let sha256 = req.sha256.as_ref().map(|s| s.to_ascii_lowercase());
    let mode = req.auto_rename.as_ref().map(|m| **m);
    let mut world = app.world();
    world.folder(&parent)?;
    // 4: skip when an identical file already has the name.
    if mode == Some(4)
        && let (Some(existing), Some(sha)) = (world.sibling(&parent, &name, None), &sha256)
        && existing.sha256 == *sha
        && !existing.dir
    {
        let (code, msg) = ok();
        return Ok(Json(types::CreateFileResponse {
            code: Some(code),
            msg,
            container_id: Some(req.container_id.clone()),
            exist: Some(true),
            file_id: Some(existing.id.clone()),
            file_name: Some(existing.name.clone()),
            multi_parts: vec![],
            parent_folder: vec![parent],
            rapid_upload: Some(false),
            upload_id: None,
            extra: Default::default(),
        }));
    }
    let name = world.free_name(&parent, &name, matches!(mode, Some(2) | Some(4)), None)?;
    let quota = app.config.quota_bytes;
    let used = world.space_used();
    if used.saturating_add(req.length as u64) > quota {
        return Err(ApiError::bad(
            INSUFFICIENT_SPACE,
            format!(
                "insufficient space: {} bytes do not fit, {used} of {quota} bytes are used",
                req.length
            ),
        ));
    }
    let now = now_rfc3339();
    let seq = world.seq();
    let id = format!("F{}", random_hex(24));
    // Instant upload: the emulator already holds content with this SHA-256 and length.
    let known = sha256.as_ref().and_then(|sha| {
        world
            .nodes
            .values()
            .find(|n| n.ready && !n.dir && n.sha256 == *sha && n.data.len() as i64 == req.length)
            .map(|n| n.data.clone())
    });
    let rapid = known.is_some();
    world.nodes.insert(
        id.clone(),
        Node {
            id: id.clone(),
            name: name.clone(),
            parent: parent.clone(),
            dir: false,
            file_type: req.file_type.clone(),
            mime_type: req.mime_type.clone(),
            sha256: if rapid {
                sha256.clone().unwrap_or_default()
            } else {
                String::new()
            },
            data: known.unwrap_or_default(),
            seq,
            created: req.created_time.clone().unwrap_or_else(|| now.clone()),
            edited: now,
            ready: rapid,
            recycled: false,
            starred: None,
        },
    );
    let mut multi_parts = vec![];
    let mut upload_id = None;
    if !rapid {
        let mut upload = Upload {
            length: req.length as u64,
            sha256,
            expected: Default::default(),
            parts: Default::default(),
            key: random_hex(32),
        };
        multi_parts = announce_parts(&app, &id, &mut upload, &req.multi_parts)?;
        upload_id = Some(upload.key.clone());
        world.uploads.insert(id.clone(), upload);
    }
    let (code, msg) = ok();
    Ok(Json(types::CreateFileResponse {
        code: Some(code),
        msg,
        container_id: Some(req.container_id.clone()),
        exist: Some(false),
        file_id: Some(id),
        file_name: Some(name),
        multi_parts,
        parent_folder: vec![parent],
        rapid_upload: Some(rapid),
        upload_id,
        extra: Default::default(),
    }))
}

pub(crate) async fn get_upload_urls(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::GetUploadUrlsResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::GetUploadUrlsRequest = parse(&body)?;
    require(&req.file_id, "fileId")?;
    if req.multi_parts.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: multiParts is required",
        ));
    }
    let mut world = app.world();
    let upload = world.uploads.get_mut(&req.file_id).ok_or_else(|| {
        ApiError::bad(
            UPLOAD_TASK_NOT_FOUND,
            format!("no upload task for {}", req.file_id),
        )
    })?;
    let multi_parts = announce_parts(&app, &req.file_id, upload, &req.multi_parts)?;
    let (code, msg) = ok();
    Ok(Json(types::GetUploadUrlsResponse {
        code: Some(code),
        msg,
        multi_parts,
    }))
}

fn query_key(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
}

/// The pre-signed part `PUT`: no KooDrive headers, the key in the URL.
pub(crate) async fn put_part(
    State(app): State<App>,
    Path((file_id, part)): Path<(String, u32)>,
    uri: Uri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut world = app.world();
    let upload = world.uploads.get_mut(&file_id).ok_or_else(|| {
        ApiError::bad(
            UPLOAD_TASK_NOT_FOUND,
            format!("no upload task for {file_id}"),
        )
    })?;
    if query_key(&uri) != Some(upload.key.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            crate::error::UNAUTHORIZED,
            "the upload URL's key is not valid",
        ));
    }
    match upload.expected.get(&part) {
        None => {
            return Err(ApiError::invalid(format!(
                "part {part} was not announced by getUploadUrls"
            )));
        }
        Some(&size) if size != body.len() as u64 => {
            return Err(ApiError::invalid(format!(
                "part {part} has {} bytes; getUploadUrls announced {size}",
                body.len()
            )));
        }
        Some(_) => {}
    }
    upload.parts.insert(part, body);
    Ok(StatusCode::OK)
}

pub(crate) async fn complete_file(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CompleteFileResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CompleteFileRequest = parse(&body)?;
    require(&req.file_id, "fileId")?;
    let mut world = app.world();
    let upload = world.uploads.get(&req.file_id).ok_or_else(|| {
        ApiError::bad(
            UPLOAD_TASK_NOT_FOUND,
            format!("no upload task for {}", req.file_id),
        )
    })?;
    // Parts 1..=n, in order, with nothing missing.
    let mut data = Vec::with_capacity(upload.length as usize);
    for (i, (n, part)) in upload.parts.iter().enumerate() {
        if *n as usize != i + 1 {
            return Err(ApiError::bad(
                INTEGRITY_CHECK_FAILED,
                format!("file upload incomplete: part {} is missing", i + 1),
            ));
        }
        data.extend_from_slice(part);
    }
    if data.len() as u64 != upload.length {
        return Err(ApiError::bad(
            INTEGRITY_CHECK_FAILED,
            format!(
                "file upload incomplete: {} of {} bytes received",
                data.len(),
                upload.length
            ),
        ));
    }
    let actual = sha256_hex(&data);
    for claimed in [req.sha256.as_ref(), upload.sha256.as_ref()]
        .into_iter()
        .flatten()
    {
        if !claimed.eq_ignore_ascii_case(&actual) {
            return Err(ApiError::bad(
                INTEGRITY_CHECK_FAILED,
                format!(
                    "file integrity check failed: SHA-256 {claimed} was announced, the parts hash to {actual}"
                ),
            ));
        }
    }
    let (parent, name) = match world.nodes.get(&req.file_id) {
        Some(n) => (n.parent.clone(), n.name.clone()),
        None => {
            return Err(ApiError::bad(
                UPLOAD_TASK_NOT_FOUND,
                format!("no upload task for {}", req.file_id),
            ));
        }
    };
    world.free_name(&parent, &name, false, Some(&req.file_id))?;
    world.uploads.remove(&req.file_id);
    let node = world.nodes.get_mut(&req.file_id).expect("checked above");
    node.data = Bytes::from(data);
    node.sha256 = actual;
    node.edited = now_rfc3339();
    node.ready = true;
    let (code, msg) = ok();
    Ok(Json(types::CompleteFileResponse {
        code: Some(code),
        msg,
    }))
}

pub(crate) async fn get_download_urls(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::GetDownloadUrlsResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::GetDownloadUrlsRequest = parse(&body)?;
    app.container(&req.container_id)?;
    if req.file_ids.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: fileIds is required",
        ));
    }
    let mut world = app.world();
    let mut downloads = Vec::with_capacity(req.file_ids.len());
    for id in &req.file_ids {
        let item = match world.live_node(id) {
            Err(e) => types::DownloadInfoResponse {
                code: Some(e.code.to_string()),
                file_id: Some(id.clone()),
                file_name: None,
                msg: Some(e.msg),
                url: None,
            },
            Ok(n) if n.dir => types::DownloadInfoResponse {
                code: Some(NOT_ALLOWED_ON_FOLDER.to_string()),
                file_id: Some(id.clone()),
                file_name: Some(n.name.clone()),
                msg: Some("a folder cannot be downloaded".into()),
                url: None,
            },
            Ok(n) => {
                let name = n.name.clone();
                let key = world
                    .download_keys
                    .entry(id.clone())
                    .or_insert_with(|| random_hex(32))
                    .clone();
                types::DownloadInfoResponse {
                    code: Some("0".into()),
                    file_id: Some(id.clone()),
                    file_name: Some(name),
                    msg: None,
                    url: Some(format!("{}/_emulator/files/{id}?key={key}", app.base_url)),
                }
            }
        };
        downloads.push(item);
    }
    let (code, msg) = ok();
    Ok(Json(types::GetDownloadUrlsResponse {
        batch_code: None,
        code: Some(code),
        msg,
        downloads,
    }))
}

/// The download link: the bytes, with their length.
pub(crate) async fn download(
    State(app): State<App>,
    Path(file_id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let world = app.world();
    if world.download_keys.get(&file_id).map(String::as_str) != query_key(&uri) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            crate::error::UNAUTHORIZED,
            "the download URL's key is not valid",
        ));
    }
    let node = world.node(&file_id)?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        node.data.clone(),
    )
        .into_response())
}

pub(crate) fn metadata(app: &Inner, n: &Node) -> types::FileMetadata {
    let suffix = n
        .name
        .rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty() && !n.dir)
        .map(|(_, ext)| ext.to_owned());
    types::FileMetadata {
        containers: vec![app.config.container_id.clone()],
        created_time: Some(n.created.clone()),
        edited_time: Some(n.edited.clone()),
        file_name: Some(n.name.clone()),
        file_suffix: suffix,
        file_type: Some(n.file_type.clone()),
        id: Some(n.id.clone()),
        last_editor: None,
        mime_type: n.mime_type.clone(),
        owners: vec![],
        parent_folder: vec![n.parent.clone()],
        properties: Default::default(),
        recycled: Some(n.recycled),
        extra: Default::default(),
    }
}

/// `listPersonalFiles`. The spec knows only `category` of the response (the docs' example is
/// cut off); the emulator answers the page in `files` (FileMetadata items) and the next cursor
/// in `nextCursor` (the spec's pagination pointer), absent on the last page.
pub(crate) async fn list_personal_files(
    State(app): State<App>,
    Path(kind): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::FileListResponse>, ApiError> {
    let recycle_bin = match kind.as_str() {
        "0" => false,
        "1" => true,
        _ => {
            // Another documented operation on this path template, or a bad `type`.
            if let Some(err) = super::other_operation(&method, &uri, "listPersonalFiles") {
                return Err(err);
            }
            return Err(ApiError::invalid(format!(
                "path parameter type: {kind:?} is not 0 or 1"
            )));
        }
    };
    app.auth(&headers)?;
    let req: types::ListPersonalFilesRequest = parse(&body)?;
    app.container(&req.container_id)?;
    require(&req.parent_file_id, "parentFileId")?;
    let page = req.page_info.as_ref();
    let size = match page.and_then(|p| p.page_size) {
        None => app.config.default_page_size,
        Some(n) if n >= 1 => (n as usize).min(app.config.max_page_size),
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "parameter validation failed: pageSize {n} must be at least 1"
            )));
        }
    };
    let after = match page.and_then(|p| p.page_cursor.as_deref()) {
        None | Some("") => 0,
        Some(c) => c.parse::<u64>().map_err(|_| {
            ApiError::invalid(format!("parameter validation failed: bad pageCursor {c}"))
        })?,
    };
    let world = app.world();
    if !recycle_bin {
        world.folder(&req.parent_file_id)?;
    }
    let type_filter = req
        .file_type
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    // The recycle bin lists what was deleted (whatever the folder); a folder lists its live
    // children.
    let mut matching: Vec<&Node> = world
        .nodes
        .values()
        .filter(|n| n.ready && n.seq > after)
        .filter(|n| {
            if recycle_bin {
                n.recycled
            } else {
                n.parent == req.parent_file_id && !n.recycled
            }
        })
        .filter(|n| type_filter.as_ref().is_none_or(|t| *t == n.file_type))
        .filter(|n| {
            req.file_name
                .as_ref()
                .is_none_or(|f| n.name.contains(f.as_str()))
        })
        .collect();
    matching.sort_by_key(|n| n.seq);
    let more = matching.len() > size;
    matching.truncate(size);
    let files: Vec<Value> = matching
        .iter()
        .map(|n| serde_json::to_value(metadata(&app, n)).expect("FileMetadata serializes"))
        .collect();
    let mut extra = serde_json::Map::new();
    if more && let Some(last) = matching.last() {
        extra.insert("nextCursor".into(), Value::String(last.seq.to_string()));
    }
    extra.insert("files".into(), Value::Array(files));
    let (code, msg) = ok();
    Ok(Json(types::FileListResponse {
        category: Some("drive#fileList".into()),
        code: Some(code),
        msg,
        extra,
    }))
}

pub(crate) async fn get_file(
    State(app): State<App>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::GetFileResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::GetFileRequest = parse(&body)?;
    app.container(&req.container_id)?;
    let world = app.world();
    let m = metadata(&app, world.node(&file_id)?);
    let (code, msg) = ok();
    Ok(Json(types::GetFileResponse {
        code: Some(code),
        msg,
        containers: m.containers,
        created_time: m.created_time,
        edited_time: m.edited_time,
        file_name: m.file_name,
        file_suffix: m.file_suffix,
        file_type: m.file_type,
        id: m.id,
        last_editor: m.last_editor,
        mime_type: m.mime_type,
        owners: m.owners,
        parent_folder: m.parent_folder,
        properties: m.properties,
        recycled: m.recycled,
        extra: m.extra,
    }))
}

pub(crate) async fn rename_file(
    State(app): State<App>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::RenameFileResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::RenameFileRequest = parse(&body)?;
    app.container(&req.container_id)?;
    let name = req.name.to_string();
    require(&name, "name")?;
    let rename = req.rename_mode.as_ref().is_some_and(|m| **m == 2);
    let mut world = app.world();
    let parent = world.live_node(&file_id)?.parent.clone();
    let name = world.free_name(&parent, &name, rename, Some(&file_id))?;
    let node = world.nodes.get_mut(&file_id).expect("checked above");
    node.name = name;
    node.edited = now_rfc3339();
    let (code, msg) = ok();
    Ok(Json(types::RenameFileResponse {
        code: Some(code),
        msg,
    }))
}
