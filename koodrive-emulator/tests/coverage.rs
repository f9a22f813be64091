//! The emulator's list of what it implements is true: every listed operation is handled, and
//! every other documented operation answers HTTP 501 "not supported", never a fake success
//! and never another operation's handler.

use koodrive_api::operation::OperationMeta;
use koodrive_emulator::{Config, EMULATED, Emulator};

/// The path template with every `{param}` filled with a harmless value.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|e| start + e + 1)
            .unwrap_or(rest.len());
        out.push_str("zz9");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn what_is_not_emulated_says_so() {
    let all = koodrive_api::operations::ALL;
    for id in EMULATED {
        assert!(
            OperationMeta::find(id).is_some(),
            "{id} is not an operation of the spec"
        );
    }
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let token = emulator.issue_session().access_token;
    let http = reqwest::Client::new();
    let mut wrong = Vec::new();
    for meta in all.iter().filter(|m| !EMULATED.contains(&m.id)) {
        let url = format!("{}{}", emulator.base_url(), concrete(meta.path));
        let method = reqwest::Method::from_bytes(meta.method.as_bytes()).unwrap();
        let response = http
            .request(method, &url)
            .header("authorization", &token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        if status != 501 || !body.contains(meta.id) {
            wrong.push(format!(
                "{} {} {} -> {status} {body}",
                meta.id, meta.method, meta.path
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} operations do not answer 501 naming themselves:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
