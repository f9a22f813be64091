//! The minimal organisation: one user ([`crate::Config::user_id`]) with one personal space
//! ([`crate::Config::container_id`], capacity [`crate::Config::quota_bytes`]) in one root
//! department. getSpace, getSpaceByContainerId, getUser and listDepartments.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use koodrive_api::types;

use super::browse::{query_params, required_param};
use super::{App, Inner, ok, other_operation};
use crate::error::{ApiError, RESOURCE_NOT_FOUND, SPACE_NOT_FOUND};
use crate::state::ROOT;

/// The id of the one department.
pub(crate) fn root_department(app: &Inner) -> String {
    format!("{}-root", app.config.org_id)
}

fn space_info(app: &Inner) -> types::SpaceInfo {
    let used = app.world().space_used();
    types::SpaceInfo {
        administrators: None,
        biz_root_file_id: None,
        biz_sbox_file_id: None,
        capacity: Some(app.config.quota_bytes.to_string()),
        container_id: Some(app.config.container_id.clone()),
        create_time: None,
        creator: Some(app.config.user_id.clone()),
        modifier: None,
        owner_id: Some(app.config.user_id.clone()),
        root_file_id: Some(ROOT.into()),
        space_used: Some(used.to_string()),
        status: Some("1".into()),
        tenant_id: Some(app.config.org_id.clone()),
        type_: Some("1".into()),
        update_time: None,
        extra: Default::default(),
    }
}

pub(crate) async fn get_space(
    State(app): State<App>,
    Path(owner_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<types::GetSpaceResponse>, ApiError> {
    if let Some(e) = other_operation(&method, &uri, "getSpace") {
        return Err(e);
    }
    app.auth(&headers)?;
    let params = query_params(&uri);
    let kind = required_param(&params, "type")?;
    if !["0", "1", "2"].contains(&kind) {
        return Err(ApiError::invalid(format!(
            "parameter validation failed: type must be 0, 1 or 2, not {kind}"
        )));
    }
    if let Some(c) = params.get("containerId") {
        app.container(c)?;
    }
    if owner_id != app.config.user_id || kind != "1" {
        return Err(ApiError::bad(
            SPACE_NOT_FOUND,
            format!("no space of type {kind} for {owner_id}"),
        ));
    }
    let (code, msg) = ok();
    Ok(Json(types::GetSpaceResponse {
        code: Some(code),
        data: Some(space_info(&app)),
        msg,
        extra: Default::default(),
    }))
}

pub(crate) async fn get_space_by_container_id(
    State(app): State<App>,
    Path(container_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<types::GetSpaceByContainerIdResponse>, ApiError> {
    app.auth(&headers)?;
    app.container(&container_id)?;
    let (code, msg) = ok();
    Ok(Json(types::GetSpaceByContainerIdResponse {
        code: Some(code),
        data: Some(space_info(&app)),
        msg,
    }))
}

pub(crate) async fn get_user(
    State(app): State<App>,
    Path(user_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<types::GetUserResponse>, ApiError> {
    if let Some(e) = other_operation(&method, &uri, "getUser") {
        return Err(e);
    }
    app.auth(&headers)?;
    if user_id != app.config.user_id {
        return Err(ApiError::bad(
            RESOURCE_NOT_FOUND,
            format!("no user {user_id}"),
        ));
    }
    let (code, msg) = ok();
    Ok(Json(types::GetUserResponse {
        code: Some(code),
        data: Some(types::UserInfo {
            dept_id: Some(root_department(&app)),
            dept_name: Some("KooDrive emulator".into()),
            id: Some(app.config.user_id.clone()),
            mobile: None,
            name: Some(app.config.user_name.clone()),
            org_id: Some(app.config.org_id.clone()),
            role: Some(1),
            status: Some(1),
            user_id: Some(app.config.user_id.clone()),
        }),
        msg,
    }))
}

pub(crate) async fn list_departments(
    State(app): State<App>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<types::ListDepartmentsResponse>, ApiError> {
    app.auth(&headers)?;
    let params = query_params(&uri);
    let root = root_department(&app);
    let dept = types::DepartmentInfo {
        code: None,
        dept_id: Some(root.clone()),
        id: Some(root.clone()),
        msg: None,
        name: Some("KooDrive emulator".into()),
        org_id: Some(app.config.org_id.clone()),
        parent_id: None,
        tenant_id: Some(app.config.org_id.clone()),
    };
    // Children of the root: none. A keyword filters by name.
    let wanted = match params.get("departmentId").map(String::as_str) {
        None | Some("") => params
            .get("keyWord")
            .is_none_or(|k| "KooDrive emulator".contains(k.as_str())),
        Some(id) if id == root => false,
        Some(id) => {
            return Err(ApiError::bad(
                RESOURCE_NOT_FOUND,
                format!("no department {id}"),
            ));
        }
    };
    let list = if wanted { vec![dept] } else { vec![] };
    let (code, msg) = ok();
    Ok(Json(types::ListDepartmentsResponse {
        code: Some(code),
        data: list.clone(),
        list,
        msg,
    }))
}
