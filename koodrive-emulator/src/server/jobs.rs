//! Batch jobs (createJob, getJobDetail, listJobs, cancelJob) and clearRecycleBin.
//!
//! createJob checks its input at once (spaces, ids, destination: the documented errors) and
//! answers a job id. The job then advances one state each time getJobDetail or listJobs looks
//! at it: the first look sees 0 (pending), the second 1 (processing), the third runs it and
//! sees 2 (completed), with `taskResultCode` 1 (all succeeded), 2 (partly failed) or 3 (all
//! failed). cancelJob stops a pending or processing job (status 3) with no effect on the
//! files; a finished job stays as it is. Completing a job leaves a system message.
//!
//! Kinds: 1 copy (a clash gets a new name), 2 delete (actionType 201, the default: to the
//! recycle bin; 202: for good), 3 move (a clash fails that file with 13000405), 4 restore from
//! the recycle bin (to the original folder, or the root when that is gone; a clash gets a new
//! name), 7 empty the recycle bin. Decompression (5) and package download (6) are not
//! supported. `newFilePath` is the destination folder id, or an id path ending with it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use koodrive_api::types;

use super::browse::{int_param, query_params};
use super::{App, ok, other_operation};
use crate::error::{
    ApiError, DUPLICATE_FILE_NAME, NOT_IN_RECYCLE_BIN, RESOURCE_NOT_FOUND, parse, require,
};
use crate::state::{Job, Message, Node, ROOT, World, now_rfc3339, random_hex};

/// The last segment of an id path (`/a/b/c` → `c`).
fn last_segment(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

fn task_name(task_type: i32) -> &'static str {
    match task_type {
        1 => "copy",
        2 => "delete",
        3 => "move",
        4 => "restore",
        7 => "clear recycle bin",
        _ => "job",
    }
}

pub(crate) async fn create_job(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CreateJobResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CreateJobRequest = parse(&body)?;
    app.container(&req.dst_container_id)?;
    app.container(&req.task_info.src_container_id)?;
    let task_type = *req.task_type;
    let action_type = req.action_type.as_ref().map(|a| **a);
    let default_action = match task_type {
        1 => 101,
        2 => 201,
        3 => 301,
        4 => 0,
        7 => 701,
        _ => {
            return Err(ApiError::not_supported(&format!(
                "createJob taskType {task_type}"
            )));
        }
    };
    let action_type = action_type.unwrap_or(default_action);
    let allowed: &[i32] = match task_type {
        1 => &[101],
        2 => &[201, 202],
        3 => &[301],
        4 => &[0],
        _ => &[701],
    };
    if req.action_type.is_some() && !allowed.contains(&action_type) {
        return Err(ApiError::invalid(format!(
            "parameter validation failed: actionType {action_type} does not go with taskType {task_type}"
        )));
    }
    let mut files = vec![];
    for info in &req.task_info.file_info {
        let id = info
            .file_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .or_else(|| {
                info.file_path
                    .as_deref()
                    .map(|p| last_segment(p).to_owned())
            })
            .unwrap_or_default();
        require(&id, "fileInfo.fileId")?;
        files.push(id);
    }
    if task_type != 7 && files.is_empty() {
        return Err(ApiError::invalid(
            "parameter validation failed: taskInfo.fileInfo is required",
        ));
    }
    let mut world = app.world();
    for id in &files {
        match (task_type, action_type) {
            (4, _) => {
                world.node(id)?;
                if !world.nodes.get(id).is_some_and(|n| n.recycled) {
                    return Err(ApiError::bad(
                        NOT_IN_RECYCLE_BIN,
                        format!("the file {id} is not in the recycle bin"),
                    ));
                }
            }
            (2, 202) => {
                world.node(id)?;
            }
            _ => {
                world.live_node(id)?;
            }
        }
    }
    let destination = match task_type {
        1 | 3 => {
            let path = req.task_info.new_file_path.as_deref().unwrap_or_default();
            require(path, "taskInfo.newFilePath")?;
            let folder = last_segment(path).to_owned();
            world.folder(&folder)?;
            Some(folder)
        }
        _ => None,
    };
    let id = format!("J{}", random_hex(19));
    let seq = world.seq();
    world.jobs.insert(
        id.clone(),
        Job {
            id: id.clone(),
            seq,
            task_type,
            action_type,
            files,
            destination,
            container_id: req.dst_container_id.clone(),
            status: 0,
            polls: 0,
            task_result_code: None,
            created: now_rfc3339(),
            begin: None,
            end: None,
        },
    );
    let (code, msg) = ok();
    Ok(Json(types::CreateJobResponse {
        code: Some(code),
        data: Some(id),
        msg,
    }))
}

/// Look at a job: it advances one state (see the module docs).
fn observe(world: &mut World, job_id: &str) {
    let Some(job) = world.jobs.get_mut(job_id) else {
        return;
    };
    job.polls += 1;
    match job.status {
        0 if job.polls >= 2 => {
            job.status = 1;
            job.begin = Some(now_rfc3339());
        }
        1 if job.polls >= 3 => {
            let job = job.clone();
            let (ok, failed) = run(world, &job);
            let result = match (ok, failed) {
                (_, 0) => 1,
                (0, _) => 3,
                _ => 2,
            };
            let seq = world.seq();
            world.messages.push(Message {
                id: format!("M{}", random_hex(15)),
                seq,
                kind: "002".into(),
                context: format!(
                    "The {} job {} completed: {ok} succeeded, {failed} failed",
                    task_name(job.task_type),
                    job.id
                ),
                sender: "system".into(),
                created: now_rfc3339(),
                read: false,
            });
            let stored = world.jobs.get_mut(job_id).expect("looked up above");
            stored.status = 2;
            stored.task_result_code = Some(result);
            stored.end = Some(now_rfc3339());
        }
        _ => {}
    }
}

/// Carry out a job; returns (succeeded, failed) file counts.
fn run(world: &mut World, job: &Job) -> (usize, usize) {
    if job.task_type == 7 {
        clear_bin(world);
        return (1, 0);
    }
    let mut ok = 0;
    let mut failed = 0;
    for id in &job.files {
        let result = match (job.task_type, job.action_type) {
            (1, _) => copy(world, id, job.destination.as_deref().unwrap_or(ROOT)),
            (2, 202) => {
                remove(world, id);
                Ok(())
            }
            (2, _) => world.live_node(id).map(|_| ()).map(|()| {
                if let Some(n) = world.nodes.get_mut(id) {
                    n.recycled = true;
                }
            }),
            (3, _) => move_node(world, id, job.destination.as_deref().unwrap_or(ROOT)),
            (4, _) => restore(world, id),
            _ => Err(ApiError::not_found("unknown job kind")),
        };
        match result {
            Ok(()) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    (ok, failed)
}

/// Remove a node and everything under it for good.
fn remove(world: &mut World, id: &str) {
    for d in world.descendants(id) {
        world.nodes.remove(&d);
        world.download_keys.remove(&d);
    }
    world.nodes.remove(id);
    world.download_keys.remove(id);
}

/// Empty the recycle bin: remove everything deleted to it.
pub(crate) fn clear_bin(world: &mut World) -> usize {
    let recycled: Vec<String> = world
        .nodes
        .values()
        .filter(|n| n.recycled)
        .map(|n| n.id.clone())
        .collect();
    for id in &recycled {
        remove(world, id);
    }
    recycled.len()
}

fn copy(world: &mut World, id: &str, destination: &str) -> Result<(), ApiError> {
    world.folder(destination)?;
    let source = world.live_node(id)?.clone();
    if source.dir && (destination == id || world.descendants(id).iter().any(|d| d == destination)) {
        return Err(ApiError::invalid("a folder cannot be copied into itself"));
    }
    let name = world.free_name(destination, &source.name, true, None)?;
    copy_tree(world, &source, destination, name);
    Ok(())
}

fn copy_tree(world: &mut World, source: &Node, parent: &str, name: String) {
    let id = format!("{}{}", if source.dir { "D" } else { "F" }, random_hex(24));
    let seq = world.seq();
    let now = now_rfc3339();
    world.nodes.insert(
        id.clone(),
        Node {
            id: id.clone(),
            name,
            parent: parent.to_owned(),
            seq,
            created: now.clone(),
            edited: now,
            recycled: false,
            starred: None,
            ..source.clone()
        },
    );
    if source.dir {
        let mut children: Vec<Node> = world
            .nodes
            .values()
            .filter(|n| n.parent == source.id && n.ready && !n.recycled)
            .cloned()
            .collect();
        children.sort_by_key(|n| n.seq);
        for child in children {
            let name = child.name.clone();
            copy_tree(world, &child, &id, name);
        }
    }
}

fn move_node(world: &mut World, id: &str, destination: &str) -> Result<(), ApiError> {
    world.folder(destination)?;
    let node = world.live_node(id)?.clone();
    if node.dir && (destination == id || world.descendants(id).iter().any(|d| d == destination)) {
        return Err(ApiError::invalid("a folder cannot be moved into itself"));
    }
    if node.parent == destination {
        return Ok(());
    }
    if world.sibling(destination, &node.name, Some(id)).is_some() {
        return Err(ApiError::bad(
            DUPLICATE_FILE_NAME,
            format!("duplicate file name: {}", node.name),
        ));
    }
    let n = world.nodes.get_mut(id).expect("checked above");
    n.parent = destination.to_owned();
    n.edited = now_rfc3339();
    Ok(())
}

fn restore(world: &mut World, id: &str) -> Result<(), ApiError> {
    let node = world.node(id)?.clone();
    if !node.recycled {
        return Err(ApiError::bad(
            NOT_IN_RECYCLE_BIN,
            format!("the file {id} is not in the recycle bin"),
        ));
    }
    let parent = if world.folder(&node.parent).is_ok() {
        node.parent.clone()
    } else {
        ROOT.to_owned()
    };
    let name = world.free_name(&parent, &node.name, true, Some(id))?;
    let n = world.nodes.get_mut(id).expect("checked above");
    n.recycled = false;
    n.parent = parent;
    n.name = name;
    Ok(())
}

fn job_detail(job: &Job, user_id: &str) -> types::JobDetailInfo {
    types::JobDetailInfo {
        action_type: Some(job.action_type),
        begin_time: job.begin.clone(),
        container_id: Some(job.container_id.clone()),
        content_num: Some(job.files.len() as i32),
        download_url: None,
        progress: Some(match job.status {
            2 => 100,
            1 => 50,
            _ => 0,
        }),
        result_code: job.task_result_code.map(|_| 0),
        status: Some(job.status),
        task_id: Some(job.id.clone()),
        task_name: Some(task_name(job.task_type).into()),
        task_result_code: job.task_result_code,
        task_type: Some(job.task_type),
        tenant_id: None,
        user_id: Some(user_id.to_owned()),
        extra: Default::default(),
    }
}

pub(crate) async fn get_job_detail(
    State(app): State<App>,
    Path(job_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<types::GetJobDetailResponse>, ApiError> {
    if let Some(e) = other_operation(&method, &uri, "getJobDetail") {
        return Err(e);
    }
    let user = app.auth(&headers)?;
    let mut world = app.world();
    if !world.jobs.contains_key(&job_id) {
        return Err(ApiError::bad(
            RESOURCE_NOT_FOUND,
            format!("no job {job_id}"),
        ));
    }
    observe(&mut world, &job_id);
    let job = &world.jobs[&job_id];
    let (code, msg) = ok();
    Ok(Json(types::GetJobDetailResponse {
        code: Some(code),
        data: Some(types::JobDetailData {
            job_info: Some(job_detail(job, &user)),
            task_infos: vec![],
            uncompressed_file_list: vec![],
            extra: Default::default(),
        }),
        msg,
        extra: Default::default(),
    }))
}

pub(crate) async fn list_jobs(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListJobsResponse>, ApiError> {
    let user = app.auth(&headers)?;
    let params = query_params(&uri);
    let offset = int_param(&params, "offset")?
        .ok_or_else(|| ApiError::invalid("parameter validation failed: offset is required"))?;
    let limit = int_param(&params, "limit")?
        .ok_or_else(|| ApiError::invalid("parameter validation failed: limit is required"))?;
    if offset < 0 || !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "parameter validation failed: offset must be at least 0 and limit 1 to 100",
        ));
    }
    let kind = int_param(&params, "type")?;
    let status = int_param(&params, "status")?;
    let mut world = app.world();
    let ids: Vec<String> = world.jobs.keys().cloned().collect();
    for id in &ids {
        observe(&mut world, id);
    }
    let mut jobs: Vec<&Job> = world
        .jobs
        .values()
        .filter(|j| kind.is_none_or(|k| i64::from(j.task_type) == k))
        .filter(|j| status.is_none_or(|s| i64::from(j.status) == s))
        .collect();
    jobs.sort_by_key(|j| j.seq);
    let data = jobs
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|j| {
            let d = job_detail(j, &user);
            types::JobInfo {
                action_type: d.action_type,
                begin_time: d.begin_time,
                container_id: d.container_id,
                content_num: d.content_num,
                create_time: Some(j.created.clone()),
                download_url: None,
                end_time: j.end.clone(),
                progress: d.progress,
                result_code: d.result_code,
                status: d.status,
                task_id: d.task_id,
                task_name: d.task_name,
                task_result_code: d.task_result_code,
                task_type: d.task_type,
                tenant_id: None,
                user_id: d.user_id,
            }
        })
        .collect();
    let (code, msg) = ok();
    Ok(Json(types::ListJobsResponse {
        code: Some(code),
        data,
        msg,
    }))
}

pub(crate) async fn cancel_job(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::CancelJobResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::CancelJobRequest = parse(&body)?;
    require(&req.job_id, "jobId")?;
    let mut world = app.world();
    let job = world
        .jobs
        .get_mut(&req.job_id)
        .ok_or_else(|| ApiError::bad(RESOURCE_NOT_FOUND, format!("no job {}", req.job_id)))?;
    let note = if matches!(job.status, 0 | 1) {
        job.status = 3;
        job.end = Some(now_rfc3339());
        "cancelled"
    } else {
        "the job has already finished; nothing to cancel"
    };
    let (code, msg) = ok();
    Ok(Json(types::CancelJobResponse {
        code: Some(code),
        data: Some(note.into()),
        msg,
    }))
}

pub(crate) async fn clear_recycle_bin(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<types::ClearRecycleBinResponse>, ApiError> {
    app.auth(&headers)?;
    let req: types::ClearRecycleBinRequest = parse(&body)?;
    if let Some(c) = req.container_id.as_deref().or(req.container.as_deref()) {
        app.container(c)?;
    }
    clear_bin(&mut app.world());
    let (code, msg) = ok();
    Ok(Json(types::ClearRecycleBinResponse {
        code: Some(code),
        msg,
    }))
}
