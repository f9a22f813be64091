//! A file of more than 3 parts (5 MiB each) up and down through the client, with a part
//! `PUT` that fails once and a download whose connection drops once.

mod common;

use common::{min_part_options, sign_in_retrying, start, temp_path, test_data, upload_target};
use koodrive_api::Error;
use koodrive_api::upload::MIN_PART_SIZE;
use koodrive_emulator::{Config, Fault, FaultKind};

#[tokio::test]
async fn a_four_part_upload_survives_a_part_failing_once_and_downloads_intact() {
    let emulator = start(Config::default()).await;
    let client = sign_in_retrying(&emulator);
    let container = emulator.container_id().to_owned();
    let mut data = test_data(3 * MIN_PART_SIZE as usize + 4321);
    let path = temp_path("transfers.bin");

    // The part PUTs retry 503 (like the API calls) and any 5xx (unlike them).
    for (round, kind) in [FaultKind::Status(503), FaultKind::Status(500)]
        .into_iter()
        .enumerate()
    {
        // Other content each round, so that no upload is instant.
        data[0] = round as u8;
        tokio::fs::write(&path, &data).await.unwrap();
        emulator.reset_request_counts();
        emulator.clear_faults();
        emulator.inject(Fault::times("uploadPart", kind.clone(), 1));
        let outcome = client
            .upload_file(
                &path,
                upload_target(&container, "root", &format!("big-{kind:?}.bin")),
                min_part_options(),
            )
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(!outcome.instant);
        assert_eq!(outcome.parts, 4);
        assert_eq!(
            emulator.requests("uploadPart"),
            5,
            "{kind:?}: 4 parts and one retry"
        );
        assert_eq!(emulator.requests("createFile"), 1);
        assert_eq!(emulator.requests("completeFile"), 1);
        assert_eq!(
            emulator.file_content(&outcome.file_id).as_deref(),
            Some(&data[..])
        );
        assert_eq!(emulator.pending_uploads(), 0);

        // A download whose connection drops mid-body is a transport error (the client does
        // not retry downloads); the next one is whole.
        emulator.inject(Fault::times("downloadFile", FaultKind::DropMidBody, 1));
        let mut partial = Vec::new();
        let err = client
            .download_to(&container, &outcome.file_id, &mut partial, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err}");
        assert!(partial.len() < data.len());
        let mut whole = Vec::new();
        let got = client
            .download_to(&container, &outcome.file_id, &mut whole, None)
            .await
            .expect("download");
        assert_eq!(got.bytes, data.len() as u64);
        assert!(whole == data, "the downloaded bytes differ");
        assert_eq!(emulator.requests("downloadFile"), 2);
    }
    tokio::fs::remove_file(&path).await.ok();
    assert_eq!(emulator.node_count(), 2);
}
