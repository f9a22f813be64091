//! The SDK's main job, end to end: sign in, create a folder, upload a multi-part file with
//! progress, list it with the paginator, download and verify it, share it, rename it, move it
//! with a batch job, delete it and restore it from the recycle bin.
//!
//! ```sh
//! cargo run -p koodrive-emulator --example tour
//! ```
//!
//! By default it starts the emulator in-process (no account, no network beyond 127.0.0.1).
//! With `KOODRIVE_BASE_URL`, `KOODRIVE_ACCESS_TOKEN` and `KOODRIVE_CONTAINER_ID` set (and
//! optionally `KOODRIVE_SESSION_ID` for refresh), it runs the same flow against that KooDrive.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use koodrive_api::upload::{UploadOptions, UploadTarget};
use koodrive_api::{Client, OperationExt, Paginate, types};
use koodrive_emulator::{Config, Emulator};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const MIB: usize = 1024 * 1024;

fn step(started: Instant, what: &str) {
    println!("[{:>6.2}s] {what}", started.elapsed().as_secs_f64());
}

/// A signed-in client and the space to work in; the emulator, when one was started.
async fn connect() -> Result<(Client, String, Option<Emulator>)> {
    if let Ok(base) = std::env::var("KOODRIVE_BASE_URL") {
        let token = std::env::var("KOODRIVE_ACCESS_TOKEN")
            .map_err(|_| "KOODRIVE_ACCESS_TOKEN is not set")?;
        let container = std::env::var("KOODRIVE_CONTAINER_ID")
            .map_err(|_| "KOODRIVE_CONTAINER_ID is not set")?;
        let session = std::env::var("KOODRIVE_SESSION_ID").ok();
        let client = Client::builder(base)
            .user_token(token, session.as_deref())
            .auto_refresh(true)
            .build()?;
        return Ok((client, container, None));
    }
    let emulator = Emulator::start(Config::default()).await?;
    println!(
        "emulator at {} (auth code {})",
        emulator.base_url(),
        emulator.auth_code()
    );
    // Sign in the documented way: createSession with the authorization code.
    let anonymous = Client::builder(emulator.base_url()).build()?;
    let session = anonymous
        .create_session()
        .body(types::CreateSessionRequest {
            code: emulator.auth_code().into(),
            domain: None,
        })
        .call()
        .await?
        .data
        .ok_or("createSession returned no session")?;
    let client = Client::builder(emulator.base_url())
        .user_token(
            session.access_token.ok_or("no accessToken")?,
            session.session_id.as_deref(),
        )
        .auto_refresh(true)
        .build()?;
    let container = emulator.container_id().to_owned();
    Ok((client, container, Some(emulator)))
}

async fn mkdir(client: &Client, container: &str, name: &str) -> Result<String> {
    let created = client
        .create_directory()
        .body(types::CreateDirectoryRequest {
            container_id: container.into(),
            created_time: None,
            description: None,
            edited_time: None,
            file_name: Some(name.try_into()?),
            file_type: Some(types::CreateDirectoryRequestFileType::X10),
            hidden: None,
            mime_type: None,
            parent_folder: vec!["root".into()],
            rename_mode: None,
            smart_folder_attr: vec![],
        })
        .call()
        .await?;
    Ok(created.id.ok_or("createDirectory returned no id")?)
}

fn job(
    container: &str,
    task_type: i32,
    action_type: Option<i32>,
    file_id: &str,
    destination: Option<&str>,
) -> Result<types::CreateJobRequest> {
    Ok(types::CreateJobRequest {
        action_type: action_type.map(TryInto::try_into).transpose()?,
        dst_container_id: container.into(),
        password: None,
        task_info: types::CreateTaskInfoReq {
            file_info: vec![types::JobFileInfo {
                file_id: Some(file_id.into()),
                file_path: None,
            }],
            new_file_path: destination.map(Into::into),
            src_container_id: container.into(),
            uncompress_file_paths: vec![],
        },
        task_type: task_type.try_into()?,
    })
}

/// Start a batch job and poll it until it completes.
async fn run_job(client: &Client, request: types::CreateJobRequest) -> Result<Vec<i32>> {
    let id = client
        .create_job()
        .body(request)
        .call()
        .await?
        .data
        .ok_or("createJob returned no job id")?;
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let info = client
            .get_job_detail()
            .job_id(&id)
            .call()
            .await?
            .data
            .and_then(|d| d.job_info)
            .ok_or("no job info")?;
        let status = info.status.unwrap_or_default();
        statuses.push(status);
        match status {
            2 => return Ok(statuses),
            3 => return Err(format!("job {id} was cancelled").into()),
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    Err(format!("job {id} did not finish: {statuses:?}").into())
}

/// Names in a folder (or, with `bin`, the recycle bin), through the paginator.
async fn list(
    client: &Client,
    container: &str,
    parent: &str,
    bin: bool,
) -> Result<(Vec<String>, usize)> {
    let request = client
        .list_personal_files()
        .type_(if bin {
            types::ListPersonalFilesType::X1
        } else {
            types::ListPersonalFilesType::X0
        })
        .body(types::ListPersonalFilesRequest {
            container_id: container.into(),
            file_name: None,
            file_type: None,
            image_process: None,
            page_info: Some(types::FilePageInfo {
                page_cursor: None,
                page_size: Some(2),
            }),
            parent_file_id: parent.into(),
            sort_info: None,
        });
    let mut names = Vec::new();
    let mut pages = 0;
    let mut stream = std::pin::pin!(request.pages());
    while let Some(page) = stream.next().await {
        pages += 1;
        // The docs never published the listing's item table: the entries arrive in `extra`.
        for f in page?
            .extra
            .get("files")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            names.push(f["fileName"].as_str().unwrap_or("?").to_owned());
        }
    }
    Ok((names, pages))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let started = Instant::now();
    let (client, container, _emulator) = connect().await?;
    step(started, "signed in");

    let folder = mkdir(&client, &container, "tour").await?;
    let archive = mkdir(&client, &container, "tour-archive").await?;
    step(
        started,
        &format!("created folders tour ({folder}) and tour-archive"),
    );

    // A 12 MiB file in 5 MiB parts (the smallest part KooDrive accepts): three parts.
    let data: Vec<u8> = (0..12 * MIB).map(|i| (i % 251) as u8).collect();
    let path = std::env::temp_dir().join(format!("koodrive-tour-{}.bin", std::process::id()));
    tokio::fs::write(&path, &data).await?;
    let options = UploadOptions {
        part_size: 5 * MIB as u64,
        progress: Some(Arc::new(|p| {
            println!("          uploaded {:>9} / {} bytes", p.done, p.total)
        })),
        ..UploadOptions::default()
    };
    let target = UploadTarget {
        container_id: container.clone(),
        parent_folder: folder.clone(),
        file_name: "report.bin".into(),
    };
    let uploaded = client.upload_file(&path, target, options).await?;
    tokio::fs::remove_file(&path).await.ok();
    step(
        started,
        &format!(
            "uploaded report.bin: {} parts, sha256 {}…",
            uploaded.parts,
            &uploaded.sha256[..16]
        ),
    );
    let file = uploaded.file_id;

    for name in ["a.txt", "b.txt", "c.txt"] {
        let target = UploadTarget {
            container_id: container.clone(),
            parent_folder: folder.clone(),
            file_name: name.into(),
        };
        client
            .upload_reader(
                name.as_bytes(),
                name.len() as u64,
                target,
                UploadOptions::default(),
            )
            .await?;
    }
    let (names, pages) = list(&client, &container, &folder, false).await?;
    step(
        started,
        &format!("listed tour/ in {pages} pages: {names:?}"),
    );

    let mut downloaded = Vec::new();
    let got = client
        .download_to(&container, &file, &mut downloaded, None)
        .await?;
    if downloaded != data {
        return Err("the downloaded bytes differ from the uploaded ones".into());
    }
    step(
        started,
        &format!("downloaded {} bytes and verified them", got.bytes),
    );

    let share = client
        .create_share()
        .body(types::CreateShareRequest {
            comment: Some("from the tour".into()),
            container_id: container.clone(),
            dept_ids: vec![],
            expire_time: None,
            extract_code: None,
            file_ids: vec![file.clone()],
            group_ids: vec![],
            permission: None,
            phone_numbers: vec![],
            scope: 2.try_into()?,
            user_ids: vec![],
            valid_days: std::num::NonZeroU32::new(7).ok_or("7 > 0")?,
        })
        .call()
        .await?;
    let link = share
        .share_link
        .and_then(|l| l.link_url.or(l.share_id))
        .unwrap_or_default();
    step(started, &format!("shared report.bin: {link}"));

    client
        .rename_file()
        .file_id(&file)
        .body(types::RenameFileRequest {
            container_id: container.clone(),
            name: "report-final.bin".try_into()?,
            rename_mode: None,
        })
        .call()
        .await?;
    step(started, "renamed it to report-final.bin");

    let statuses = run_job(
        &client,
        job(&container, 3, Some(301), &file, Some(&archive))?,
    )
    .await?;
    let (names, _) = list(&client, &container, &archive, false).await?;
    step(
        started,
        &format!(
            "moved it with a batch job (statuses {statuses:?}); tour-archive/ holds {names:?}"
        ),
    );

    run_job(&client, job(&container, 2, Some(201), &file, None)?).await?;
    let (bin, _) = list(&client, &container, &archive, true).await?;
    step(
        started,
        &format!("deleted it; the recycle bin holds {bin:?}"),
    );

    run_job(&client, job(&container, 4, None, &file, None)?).await?;
    let (names, _) = list(&client, &container, &archive, false).await?;
    step(
        started,
        &format!("restored it from the recycle bin; tour-archive/ holds {names:?}"),
    );

    let unread = client
        .get_unread_count()
        .call()
        .await?
        .count
        .unwrap_or_default();
    step(started, &format!("done: {unread} unread notifications"));
    Ok(())
}
