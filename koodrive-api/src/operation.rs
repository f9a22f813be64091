//! What the hand-written layer knows about each operation, and the typed way to call one.
//!
//! koodrive-codegen emits, beside progenitor's client, a static [`OperationMeta`] for every
//! operation (taken from the spec: method, path, whether it is idempotent, its envelope and
//! its pagination style) and an [`Operation`] impl for every request builder. On top of that,
//! [`OperationExt::call`] sends a request and returns the decoded payload or one typed
//! [`Error`].

use std::future::Future;
use std::sync::{Arc, Mutex};

use progenitor_client::ResponseValue;

use crate::error::{CallReport, Error};
use crate::types;

/// The envelope an operation answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// `{code, msg, ...}`: `code` 0 is success.
    Standard,
    /// AI services: `{code, message, success, data}`; `code` "0" is success.
    Ai,
    /// Media transcoding: success carries `code` 200; errors are `{error_code, error_msg}`.
    Transcode,
    /// Not JSON (a file, a subtitle track): no envelope.
    None,
}

/// How a list operation pages (`x-koodrive-pagination` in the spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaginationStyle {
    /// A string cursor in the query (`pageCursor` → `nextCursor`).
    Cursor,
    /// A cursor inside the JSON body (`pageInfo.pageCursor`).
    BodyCursor,
    /// An integer cursor in the query.
    IntCursor,
    /// A page number; the response carries the total.
    PageNumber,
    /// An offset; the response carries the total.
    OffsetLimit,
}

/// Where the cursor goes and where the next one comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagination {
    /// The style.
    pub style: PaginationStyle,
    /// Where the cursor is sent: `query:<name>` or `body:<JSON pointer>`.
    pub request: &'static str,
    /// JSON pointer of the next cursor (or of the total) in the response.
    pub response: &'static str,
    /// JSON pointer of the page's items, when the docs name them.
    pub items: Option<&'static str>,
}

/// Static facts about one operation, from the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationMeta {
    /// The spec's operationId.
    pub id: &'static str,
    /// The generated method's name (progenitor's `OperationInfo::operation_id`).
    pub fn_name: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Safe to send twice: GET/PUT/DELETE, or a POST the spec marks `x-koodrive-idempotent`.
    pub idempotent: bool,
    /// The response envelope.
    pub envelope: Envelope,
    /// How the operation pages, if it does.
    pub pagination: Option<Pagination>,
    /// The security schemes it accepts: `userToken`, `appAuth`, `appToken`, `none`.
    pub security: &'static [&'static str],
}

impl OperationMeta {
    /// The metadata of an operation by operationId.
    pub fn find(id: &str) -> Option<&'static OperationMeta> {
        crate::operations::ALL
            .binary_search_by(|m| m.id.cmp(id))
            .ok()
            .map(|i| &crate::operations::ALL[i])
    }

    /// The metadata of an operation by its generated method's name (what the hooks see).
    pub fn by_fn_name(name: &str) -> Option<&'static OperationMeta> {
        // The hooks ask twice a request: a sorted index, built once, instead of a scan.
        static BY_FN_NAME: std::sync::OnceLock<Vec<&'static OperationMeta>> =
            std::sync::OnceLock::new();
        let index = BY_FN_NAME.get_or_init(|| {
            let mut all: Vec<_> = crate::operations::ALL.iter().collect();
            all.sort_unstable_by_key(|m| m.fn_name);
            all
        });
        index
            .binary_search_by(|m| m.fn_name.cmp(name))
            .ok()
            .map(|i| index[i])
    }
}

/// A request builder of the generated client (implemented by generated code).
pub trait Operation: Sized + Send {
    /// The decoded success payload.
    type Output: Send;
    /// The operation's static facts.
    const META: &'static OperationMeta;
    /// Send with progenitor's own result type (what `.send()` does).
    fn send_raw(
        self,
    ) -> impl Future<
        Output = Result<ResponseValue<Self::Output>, progenitor_client::Error<types::ErrorBody>>,
    > + Send;
    /// Where in `body` decoding `Output` fails, as a serde path (JSON outputs only).
    fn decode_error_path(_body: &[u8]) -> Option<String> {
        None
    }
}

tokio::task_local! {
    /// What the hooks learn about the call in progress (status, trace id, attempts), read back
    /// by [`OperationExt::call`] to build a typed error.
    pub(crate) static CALL: Arc<Mutex<CallReport>>;
}

/// Record something about the call in progress, if it is a typed call.
pub(crate) fn report(f: impl FnOnce(&mut CallReport)) {
    let _ = CALL.try_with(|r| f(&mut r.lock().expect("call report lock")));
}

/// The typed way to send any operation.
pub trait OperationExt: Operation {
    /// Send the request and return its decoded payload, or a typed [`Error`] naming the
    /// operation, the HTTP status, the KooDrive code and the trace id.
    fn call(self) -> impl Future<Output = Result<Self::Output, Error>> + Send {
        async move {
            let (result, report) = with_report(self.send_raw()).await;
            result
                .map(ResponseValue::into_inner)
                .map_err(|e| Error::from_call::<Self>(e, report))
        }
    }

    /// Like [`call`](Self::call), keeping the status and headers of the response.
    fn call_full(self) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error>> + Send {
        async move {
            let (result, report) = with_report(self.send_raw()).await;
            result.map_err(|e| Error::from_call::<Self>(e, report))
        }
    }
}

impl<T: Operation> OperationExt for T {}

/// Run `fut` with a fresh call report in scope; return its result and the report.
pub(crate) async fn with_report<F: Future>(fut: F) -> (F::Output, CallReport) {
    let slot = Arc::new(Mutex::new(CallReport::default()));
    let out = CALL.scope(slot.clone(), fut).await;
    let report = std::mem::take(&mut *slot.lock().expect("call report lock"));
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::OperationMeta;

    #[test]
    fn every_operation_is_found_by_id() {
        let all = crate::operations::ALL;
        assert!(all.len() > 100);
        assert!(
            all.windows(2).all(|w| w[0].id < w[1].id),
            "sorted by operationId"
        );
        for m in all {
            assert_eq!(OperationMeta::find(m.id), Some(m));
            assert_eq!(OperationMeta::by_fn_name(m.fn_name), Some(m));
        }
        assert_eq!(
            OperationMeta::by_fn_name("get_unread_count").unwrap().id,
            "getUnreadCount"
        );
        let m = OperationMeta::find("createJob").unwrap();
        assert_eq!(
            (m.method, m.path, m.idempotent),
            ("POST", "/koodrive/ose/v1/jobs", false)
        );
        assert!(
            OperationMeta::find("getFile").unwrap().idempotent,
            "a POST marked x-koodrive-idempotent"
        );
        assert_eq!(
            OperationMeta::find("listPermissionTemplates")
                .unwrap()
                .security,
            ["appToken"]
        );
        assert!(OperationMeta::find("nope").is_none());
    }
}
