//! What every request gets before it is sent: the hand-written side of the generated
//! client's `ClientHooks`.
//!
//! - progenitor's `api-version` header is removed: KooDrive does not define it, and an unknown
//!   header has no business in a signed (app-auth) request.
//! - a fresh 58-character `X-Traceid` is added unless the caller set one.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{HeaderName, HeaderValue};

use crate::Client;

/// State the generated [`Client`] carries for the hand-written layer.
#[derive(Clone, Debug, Default)]
pub struct ClientState {}

/// The trace-id header KooDrive reads.
pub const TRACE_ID_HEADER: HeaderName = HeaderName::from_static("x-traceid");

/// A new random trace id: 58 characters from `[0-9a-f_]`, as KooDrive requires.
pub fn new_trace_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(58);
    id.push_str("kdrs_");
    let state = RandomState::new();
    let mut i = 0u64;
    while id.len() < 58 {
        let mut h = state.build_hasher();
        h.write_u64(n);
        h.write_u64(i);
        id.push_str(&format!("{:016x}", h.finish()));
        i += 1;
    }
    id.truncate(58);
    id
}

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        headers.remove("api-version");
        if !headers.contains_key(TRACE_ID_HEADER) {
            let value = HeaderValue::from_str(&new_trace_id()).expect("a trace id is ASCII");
            headers.insert(TRACE_ID_HEADER, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn trace_ids_are_58_characters_and_differ() {
        let a = super::new_trace_id();
        let b = super::new_trace_id();
        assert_eq!(a.len(), 58);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{a}"
        );
        assert_ne!(a, b);
    }
}
