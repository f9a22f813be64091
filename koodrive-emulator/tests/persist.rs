//! `Config::persist_dir`: a restarted emulator sees the same files, folders, jobs, messages
//! and sessions.

use koodrive_api::{Client, OperationExt, types};
use koodrive_emulator::{Config, Emulator};

fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("koodrive-emulator-persist-{}", std::process::id()))
}

fn mkdir_request(container: &str, name: &str) -> types::CreateDirectoryRequest {
    types::CreateDirectoryRequest {
        container_id: container.into(),
        created_time: None,
        description: None,
        edited_time: None,
        file_name: Some(name.try_into().unwrap()),
        file_type: Some(types::CreateDirectoryRequestFileType::X10),
        hidden: None,
        mime_type: None,
        parent_folder: vec!["root".into()],
        rename_mode: None,
        smart_folder_attr: vec![],
    }
}

async fn names(client: &Client, container: &str) -> Vec<String> {
    let page = client
        .list_personal_files()
        .type_(types::ListPersonalFilesType::X0)
        .body(types::ListPersonalFilesRequest {
            container_id: container.into(),
            file_name: None,
            file_type: None,
            image_process: None,
            page_info: None,
            parent_file_id: "root".into(),
            sort_info: None,
        })
        .call()
        .await
        .expect("listPersonalFiles");
    page.extra["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fileName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_restarted_emulator_sees_the_same_state_and_sessions() {
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config {
        persist_dir: Some(dir.clone()),
        ..Config::default()
    };
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let file_path = dir.with_extension("bin");
    tokio::fs::write(&file_path, &data).await.unwrap();

    let (session, file_id) = {
        let emulator = Emulator::start(config.clone()).await.unwrap();
        let container = emulator.container_id().to_owned();
        let session = emulator.issue_session();
        let client = Client::builder(emulator.base_url())
            .user_token(
                session.access_token.clone(),
                Some(session.session_id.clone()),
            )
            .build()
            .unwrap();
        client
            .create_directory()
            .body(mkdir_request(&container, "kept"))
            .call()
            .await
            .unwrap();
        let outcome = client
            .upload_file(
                &file_path,
                koodrive_api::upload::UploadTarget {
                    container_id: container.clone(),
                    parent_folder: "root".into(),
                    file_name: "kept.bin".into(),
                },
                Default::default(),
            )
            .await
            .unwrap();
        emulator.seed_message("002", "hello");
        assert_eq!(names(&client, &container).await, ["kept", "kept.bin"]);
        (session, outcome.file_id)
        // Dropped here: the server stops.
    };
    assert!(dir.join("state.json").exists());

    let emulator = Emulator::start(config.clone()).await.unwrap();
    let container = emulator.container_id().to_owned();
    // The old session's token works against the new server.
    let client = Client::builder(emulator.base_url())
        .user_token(session.access_token, Some(session.session_id))
        .build()
        .unwrap();
    client
        .validate_session()
        .call()
        .await
        .expect("the session survived");
    assert_eq!(names(&client, &container).await, ["kept", "kept.bin"]);
    assert_eq!(emulator.file_content(&file_id).as_deref(), Some(&data[..]));
    let mut downloaded = Vec::new();
    client
        .download_to(&container, &file_id, &mut downloaded, None)
        .await
        .expect("download after the restart");
    assert!(downloaded == data);
    assert_eq!(
        client.get_unread_count().call().await.unwrap().count,
        Some(1)
    );
    // New entries come after the old ones; a taken name is still taken.
    client
        .create_directory()
        .body(mkdir_request(&container, "new"))
        .call()
        .await
        .unwrap();
    let err = client
        .create_directory()
        .body(mkdir_request(&container, "kept"))
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(koodrive_api::ErrorCode::DuplicateFileName));
    assert_eq!(
        names(&client, &container).await,
        ["kept", "kept.bin", "new"]
    );
    drop(emulator);

    // Sessions can be issued again on a restarted emulator, and the state is still there.
    let emulator = Emulator::start(config).await.unwrap();
    let s = emulator.issue_session();
    let client = Client::builder(emulator.base_url())
        .user_token(s.access_token, Some(s.session_id))
        .build()
        .unwrap();
    assert_eq!(
        names(&client, &container).await,
        ["kept", "kept.bin", "new"]
    );
    drop(emulator);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&file_path).ok();
}
