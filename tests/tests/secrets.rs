//! Secrets never print: not in `Debug`, not in errors, not in `tracing` output.
//!
//! In its own test binary: `tracing` caches per call site whether anyone listens, so the
//! subscriber must be in place before any other test touches the client's call sites.

use koodrive_api::{Client, OperationExt};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn secrets_never_print() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(path("/koodrive/ose/v1/message/unreadCount"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"code": 13000102, "msg": "bad"})),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .user_token("Bearer SECRET-TOKEN-123", Some("SECRET-SESSION-456"))
        .build()
        .unwrap();
    let err = client.get_unread_count().call().await.unwrap_err();
    let app = Client::builder(server.uri())
        .app_credentials("app", "SECRET-APP-KEY-789", "1")
        .build()
        .unwrap();
    let _ = app.get_unread_count().call().await;

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("koodrive.request") && logs.contains("getUnreadCount"),
        "the span is logged:\n{logs}"
    );
    let shown = format!("{logs}\n{client:?}\n{app:?}\n{err:?}\n{err}");
    for secret in [
        "SECRET-TOKEN-123",
        "SECRET-SESSION-456",
        "SECRET-APP-KEY-789",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
}
