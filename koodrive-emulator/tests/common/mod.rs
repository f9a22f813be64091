//! Helpers shared by the emulator's integration tests: starting an emulator, signing in a
//! client, and the request bodies and calls that several tests make.

// Each test file is its own crate and uses only some of these helpers; the rest would be
// reported as unused in that crate.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use koodrive_api::upload::{MIN_PART_SIZE, UploadOptions, UploadTarget};
use koodrive_api::{
    Client, ClientBuilder, Error, ErrorCode, OperationExt, Paginate, RetryPolicy, types,
};
use koodrive_emulator::{Config, Emulator};

/// How many attempts [`fast_retry`] allows.
pub const RETRY_ATTEMPTS: u32 = 3;

pub async fn start(config: Config) -> Emulator {
    Emulator::start(config).await.expect("the emulator starts")
}

/// A builder for a client that authenticates with the given user token.
pub fn builder_with_token(
    emulator: &Emulator,
    access_token: String,
    session_id: Option<String>,
) -> ClientBuilder {
    Client::builder(emulator.base_url()).user_token(access_token, session_id.as_deref())
}

/// A builder for a client signed in with a session issued by the emulator.
pub fn signed_in(emulator: &Emulator) -> ClientBuilder {
    let s = emulator.issue_session();
    builder_with_token(emulator, s.access_token, Some(s.session_id))
}

/// A signed-in client with the default settings.
pub fn sign_in(emulator: &Emulator) -> Client {
    signed_in(emulator).build().unwrap()
}

/// A signed-in client that retries with [`fast_retry`].
pub fn sign_in_retrying(emulator: &Emulator) -> Client {
    signed_in(emulator).retry(fast_retry()).build().unwrap()
}

/// [`RETRY_ATTEMPTS`] attempts with millisecond backoffs.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: RETRY_ATTEMPTS,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

/// The HTTP status (0 when there is none) and the API code of an error.
pub fn api_error(e: &Error) -> (u16, Option<ErrorCode>) {
    (e.status().unwrap_or(0), e.code())
}

/// A path in the temporary directory, unique to this process.
pub fn temp_path(label: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("koodrive-emulator-{}-{label}", std::process::id()))
}

/// Bytes that differ from one position to the next.
pub fn test_data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

pub fn mkdir_request(container: &str, parent: &str, name: &str) -> types::CreateDirectoryRequest {
    types::CreateDirectoryRequest {
        container_id: container.into(),
        created_time: None,
        description: None,
        edited_time: None,
        file_name: Some(name.try_into().unwrap()),
        file_type: Some(types::CreateDirectoryRequestFileType::X10),
        hidden: None,
        mime_type: None,
        parent_folder: vec![parent.into()],
        rename_mode: None,
        smart_folder_attr: vec![],
    }
}

/// createDirectory: the new folder's id, or the error.
pub async fn try_mkdir(
    client: &Client,
    container: &str,
    parent: &str,
    name: &str,
) -> Result<String, Error> {
    let created = client
        .create_directory()
        .body(mkdir_request(container, parent, name))
        .call()
        .await?;
    Ok(created.id.expect("createDirectory returns the id"))
}

/// createDirectory, which must succeed: the new folder's id.
pub async fn mkdir(client: &Client, container: &str, parent: &str, name: &str) -> String {
    try_mkdir(client, container, parent, name)
        .await
        .expect("createDirectory")
}

/// A createFile body for a file of `length` bytes in the root folder, without a SHA-256.
pub fn create_file_request(container: &str, name: &str, length: i64) -> types::CreateFileRequest {
    types::CreateFileRequest {
        auto_rename: None,
        container_id: container.into(),
        created_time: None,
        description: None,
        file_name: name.try_into().unwrap(),
        file_type: "45".into(),
        length,
        mime_type: None,
        multi_parts: vec![],
        parent_folder: vec!["root".into()],
        pre_hash: None,
        sha256: None,
        upload_mode: None,
        upload_type: None,
    }
}

pub fn get_file_request(container: &str) -> types::GetFileRequest {
    types::GetFileRequest {
        container_id: container.into(),
        image_process: None,
    }
}

pub fn rename_request(container: &str, name: &str) -> types::RenameFileRequest {
    types::RenameFileRequest {
        container_id: container.into(),
        name: name.try_into().unwrap(),
        rename_mode: None,
    }
}

pub fn upload_target(container: &str, parent: &str, name: &str) -> UploadTarget {
    UploadTarget {
        container_id: container.into(),
        parent_folder: parent.into(),
        file_name: name.into(),
    }
}

/// Upload options for whole [`MIN_PART_SIZE`] parts, two at a time.
pub fn min_part_options() -> UploadOptions {
    UploadOptions {
        part_size: MIN_PART_SIZE,
        concurrency: 2,
        ..UploadOptions::default()
    }
}

/// Upload `data` as `name` in `parent`, through a temporary file: the new file's id.
pub async fn upload(
    client: &Client,
    container: &str,
    parent: &str,
    name: &str,
    data: &[u8],
) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = temp_path(&format!("upload-{n}-{name}"));
    tokio::fs::write(&path, data).await.unwrap();
    let outcome = client
        .upload_file(
            &path,
            upload_target(container, parent, name),
            UploadOptions::default(),
        )
        .await
        .expect("upload");
    tokio::fs::remove_file(&path).await.ok();
    outcome.file_id
}

/// A listPersonalFiles body; without a page size, the server's default.
pub fn list_request(
    container: &str,
    parent: &str,
    page_size: Option<i32>,
) -> types::ListPersonalFilesRequest {
    types::ListPersonalFilesRequest {
        container_id: container.into(),
        file_name: None,
        file_type: None,
        image_process: None,
        page_info: page_size.map(|size| types::FilePageInfo {
            page_cursor: None,
            page_size: Some(size),
        }),
        parent_file_id: parent.into(),
        sort_info: None,
    }
}

/// The names on one listPersonalFiles page, each entry read as a `FileMetadata`.
pub fn file_names(page: &types::FileListResponse) -> Vec<String> {
    page.extra["files"]
        .as_array()
        .expect("a files array")
        .iter()
        .map(|f| {
            let meta: types::FileMetadata =
                serde_json::from_value(f.clone()).expect("FileMetadata");
            meta.file_name.expect("fileName")
        })
        .collect()
}

/// The names on the first page of a folder (type 0) or the recycle bin (type 1).
pub async fn list_names(
    client: &Client,
    container: &str,
    parent: &str,
    bin: bool,
    page_size: Option<i32>,
) -> Vec<String> {
    let kind = if bin {
        types::ListPersonalFilesType::X1
    } else {
        types::ListPersonalFilesType::X0
    };
    let page = client
        .list_personal_files()
        .type_(kind)
        .body(list_request(container, parent, page_size))
        .call()
        .await
        .expect("listPersonalFiles");
    file_names(&page)
}

/// Names in a folder (type 0) or the recycle bin (type 1), one page of the default size.
pub async fn names(client: &Client, container: &str, parent: &str, bin: bool) -> Vec<String> {
    list_names(client, container, parent, bin, None).await
}

/// Every page of a folder, through the client's paginator: the names on each page.
pub async fn list_all(
    client: &Client,
    container: &str,
    parent: &str,
    page_size: i32,
) -> Vec<Vec<String>> {
    let pages = client
        .list_personal_files()
        .type_(types::ListPersonalFilesType::X0)
        .body(list_request(container, parent, Some(page_size)))
        .pages();
    let mut pages = std::pin::pin!(pages);
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        out.push(file_names(&page.expect("a page")));
    }
    out
}

/// A createJob body acting on `files` of the container.
pub fn job(
    container: &str,
    task_type: i32,
    action_type: Option<i32>,
    files: &[&str],
    destination: Option<&str>,
) -> types::CreateJobRequest {
    types::CreateJobRequest {
        action_type: action_type.map(|a| a.try_into().unwrap()),
        dst_container_id: container.into(),
        password: None,
        task_info: types::CreateTaskInfoReq {
            file_info: files
                .iter()
                .map(|f| types::JobFileInfo {
                    file_id: Some((*f).into()),
                    file_path: None,
                })
                .collect(),
            new_file_path: destination.map(Into::into),
            src_container_id: container.into(),
            uncompress_file_paths: vec![],
        },
        task_type: task_type.try_into().unwrap(),
    }
}

/// createJob, which must succeed: the job's id.
pub async fn create_job(client: &Client, request: types::CreateJobRequest) -> String {
    client
        .create_job()
        .body(request)
        .call()
        .await
        .expect("createJob")
        .data
        .unwrap()
}

/// Poll getJobDetail until the job completes; the statuses seen and the result code.
pub async fn wait(client: &Client, job_id: &str) -> (Vec<i32>, Option<i32>) {
    let mut seen = vec![];
    for _ in 0..10 {
        let detail = client
            .get_job_detail()
            .job_id(job_id)
            .call()
            .await
            .expect("getJobDetail");
        let info = detail.data.unwrap().job_info.unwrap();
        seen.push(info.status.unwrap());
        if info.status == Some(2) {
            return (seen, info.task_result_code);
        }
    }
    panic!("the job did not complete: {seen:?}");
}

/// A 401 answer carries an `ErrorBody` with code 401 and a message.
pub async fn assert_401_error_body(response: reqwest::Response, why: &str) {
    assert_eq!(response.status().as_u16(), 401, "{why}");
    let body: types::ErrorBody = response.json().await.expect("an ErrorBody");
    assert_eq!(body.code.value(), 401, "{why}");
    assert!(body.msg.is_some_and(|m| !m.is_empty()), "{why}");
}
