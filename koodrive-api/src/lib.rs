//! # koodrive-api
//!
//! A typed Rust client for Huawei Cloud KooDrive, the enterprise cloud drive.
//!
//! The client is **generated at build time** from the curated OpenAPI spec in the
//! repository's `spec/` folder (see `build.rs` and the `koodrive-codegen` crate); the
//! generated code lives in `$OUT_DIR` and is never edited by hand. Every operation is a
//! method on [`Client`] returning a builder:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use koodrive_api::{Client, hooks::ClientState};
//!
//! let client = Client::new("https://intl.myhuaweicloud-koodrive.com", ClientState::default());
//! let unread = client.get_unread_count().send().await?;
//! println!("{} unread messages", unread.into_inner().count.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! Hand-written modules sit beside the generated code:
//! - [`envelope`]: the `{code, msg}` result code, decoded from an integer or a string;
//! - [`hooks`]: what every request gets (trace id, no `api-version`).
#![warn(missing_docs)]

pub mod envelope;
pub mod hooks;

/// The generated client (progenitor, from `spec/`). Never edit: change the spec instead.
#[allow(missing_docs, clippy::all, unused_imports, dead_code)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/koodrive_client.rs"));
}

pub use generated::*;
