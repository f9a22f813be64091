//! # koodrive-api
//!
//! A typed Rust client for Huawei Cloud KooDrive, the enterprise cloud drive.
//!
//! The raw client is **generated at build time** from the curated OpenAPI spec in the
//! repository's `spec/` folder (`build.rs` runs `koodrive-codegen`); the generated code lives
//! in `$OUT_DIR` and is never edited by hand. Every operation is a method of [`Client`] that
//! returns a request builder. Hand-written modules around it make it a cloud SDK:
//!
//! | module | what it adds |
//! |---|---|
//! | [`client`] | [`Client::builder`]: endpoint, timeouts, user agent, your own `reqwest::Client` |
//! | [`auth`] | user token (rotate it live), HMAC app signing, application token; secrets never print |
//! | [`hooks`] | per request: trace id, language, shared folder, auth, session refresh, retries, a `tracing` span |
//! | [`operation`] | [`OperationExt::call`]: send and get the payload or one typed [`Error`] |
//! | [`error`] | [`Error`] and [`ErrorCode`] (every documented code) |
//! | [`retry`] | [`RetryPolicy`]: jittered exponential backoff, idempotent operations only |
//! | [`paginate`] | [`Paginate::pages`]: a `Stream` of pages for every list operation |
//! | [`upload`] | [`Client::upload_file`] / [`Client::upload_reader`]: createFile, parts in parallel, completeFile |
//! | [`download`] | [`Client::download_to`]: the download link, streamed to any `AsyncWrite` |
//! | [`envelope`] | [`envelope::ResultCode`]: `code` decoded from an integer or a string |
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use koodrive_api::{Client, OperationExt, Paginate, INTL_ENDPOINT};
//!
//! # async fn demo() -> Result<(), koodrive_api::Error> {
//! let client = Client::builder(INTL_ENDPOINT)
//!     .user_token("Bearer 6ebb62…", Some("session-id"))
//!     .auto_refresh(true)
//!     .build()
//!     .expect("a valid client configuration");
//!
//! // One call: the payload, or a typed error with code, status, trace id and operation.
//! let unread = client.get_unread_count().call().await?;
//! println!("{:?} unread", unread.count);
//!
//! // Every page of a list, without touching a cursor.
//! let mut pages = std::pin::pin!(client.list_messages().page_size(50).pages());
//! while let Some(page) = pages.next().await {
//!     println!("{:?}", page?.messages);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Errors
//! A `code` other than 0 inside an HTTP 200 is an error ([`Error::Api`] with `status` 200).
//! [`Error::is_retryable`] and [`Error::code`] help decide what to do.
//!
//! ## Retries
//! Transport errors, timeouts, HTTP 429/502/503/504 and transient KooDrive codes are retried
//! up to [`RetryPolicy::max_attempts`] times, but only for idempotent operations (GET, PUT,
//! DELETE, and POSTs the spec marks `x-koodrive-idempotent`). createFile, createShare,
//! createJob and every other non-idempotent POST are sent once.
//!
//! ## Cargo features
//! `rustls` (default: rustls with aws-lc-rs, as reqwest's default), `rustls-ring`,
//! `native-tls`, and `schemars` (`JsonSchema` for every generated type). The repository's
//! `BENCHMARKS.md` measures what each costs to build.
//!
//! ## Tracing
//! Each request runs in a `koodrive.request` span with the operation, method, path template,
//! status, attempt, duration and trace id. Tokens and secrets are never recorded.
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod download;
pub mod envelope;
pub mod error;
pub mod hooks;
pub mod operation;
pub mod paginate;
pub mod retry;
pub mod upload;

/// The generated client (progenitor, from `spec/`). Never edit: change the spec instead.
/// Its doc comments are the spec's descriptions, which quote the docs' `<placeholders>`
/// and bare URLs, hence the rustdoc allowances.
#[allow(missing_docs, clippy::all, unused_imports, dead_code)]
#[allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::redundant_explicit_links
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/koodrive_client.rs"));
}

pub use client::{ClientBuilder, CN_ENDPOINT, INTL_ENDPOINT};
pub use error::{Error, ErrorCode};
pub use generated::{builder, operations, types, ByteStream, Client, ClientInfo, ResponseValue};
pub use operation::{Operation, OperationExt};
pub use paginate::Paginate;
/// progenitor's own error type, returned by the builders' `.send()`.
pub use progenitor_client::Error as RawError;
pub use retry::RetryPolicy;
