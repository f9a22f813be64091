//! `Config::persist_dir`: a restarted emulator sees the same files, folders, jobs, messages
//! and sessions.

mod common;

use common::{builder_with_token, mkdir, names, sign_in, start, temp_path, try_mkdir, upload};
use koodrive_api::OperationExt;
use koodrive_emulator::Config;

#[tokio::test]
async fn a_restarted_emulator_sees_the_same_state_and_sessions() {
    let dir = temp_path("persist");
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config {
        persist_dir: Some(dir.clone()),
        ..Config::default()
    };
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();

    let (session, file_id) = {
        let emulator = start(config.clone()).await;
        let container = emulator.container_id().to_owned();
        let session = emulator.issue_session();
        let client = builder_with_token(
            &emulator,
            session.access_token.clone(),
            Some(session.session_id.clone()),
        )
        .build()
        .unwrap();
        mkdir(&client, &container, "root", "kept").await;
        let file_id = upload(&client, &container, "root", "kept.bin", &data).await;
        emulator.seed_message("002", "hello");
        assert_eq!(
            names(&client, &container, "root", false).await,
            ["kept", "kept.bin"]
        );
        (session, file_id)
        // Dropped here: the server stops.
    };
    assert!(dir.join("state.json").exists());

    let emulator = start(config.clone()).await;
    let container = emulator.container_id().to_owned();
    // The old session's token works against the new server.
    let client = builder_with_token(&emulator, session.access_token, Some(session.session_id))
        .build()
        .unwrap();
    client
        .validate_session()
        .call()
        .await
        .expect("the session survived");
    assert_eq!(
        names(&client, &container, "root", false).await,
        ["kept", "kept.bin"]
    );
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
    mkdir(&client, &container, "root", "new").await;
    let err = try_mkdir(&client, &container, "root", "kept")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(koodrive_api::ErrorCode::DuplicateFileName));
    assert_eq!(
        names(&client, &container, "root", false).await,
        ["kept", "kept.bin", "new"]
    );
    drop(emulator);

    // Sessions can be issued again on a restarted emulator, and the state is still there.
    let emulator = start(config).await;
    let client = sign_in(&emulator);
    assert_eq!(
        names(&client, &container, "root", false).await,
        ["kept", "kept.bin", "new"]
    );
    drop(emulator);
    std::fs::remove_dir_all(&dir).ok();
}
