//! Building a [`Client`]: base URL, timeouts, user agent, credentials, retries.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::auth::{AppCredentials, Credentials, Secret};
use crate::hooks::{ClientState, Shared, TOKEN_LIFETIME};
use crate::retry::RetryPolicy;
use crate::Client;

/// The Chinese site's endpoint.
pub const CN_ENDPOINT: &str = "https://cn.myhuaweicloud-koodrive.com";
/// The international site's endpoint.
pub const INTL_ENDPOINT: &str = "https://intl.myhuaweicloud-koodrive.com";

/// Builds a [`Client`]. Start with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
    timeout: Option<Duration>,
    user_agent: String,
    http: Option<reqwest::Client>,
    credentials: Credentials,
    language: Option<String>,
    retry: RetryPolicy,
    auto_refresh: bool,
    token_lifetime: Duration,
}

impl ClientBuilder {
    fn new(base_url: impl Into<String>) -> Self {
        ClientBuilder {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Some(Duration::from_secs(30)),
            timeout: Some(Duration::from_secs(60)),
            user_agent: format!("koodrive-rs/{}", env!("CARGO_PKG_VERSION")),
            http: None,
            credentials: Credentials::None,
            language: None,
            retry: RetryPolicy::default(),
            auto_refresh: false,
            token_lifetime: TOKEN_LIFETIME,
        }
    }

    /// Connect timeout (default 10 s). Ignored with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Longest wait for the next bytes of a response (default 30 s; `None` for no limit).
    /// Ignored with [`http_client`](Self::http_client).
    pub fn read_timeout(mut self, d: Option<Duration>) -> Self {
        self.read_timeout = d;
        self
    }

    /// Timeout of one attempt, from sending to the end of the body (default 60 s; `None` for
    /// no limit, e.g. for large downloads). Ignored with [`http_client`](Self::http_client).
    pub fn timeout(mut self, d: Option<Duration>) -> Self {
        self.timeout = d;
        self
    }

    /// The `User-Agent` (default `koodrive-rs/<version>`). Ignored with
    /// [`http_client`](Self::http_client).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Use your own `reqwest::Client` (proxies, TLS roots, timeouts of your choosing).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Authenticate with a user access token (the session APIs' `accessToken`, with or without
    /// its `Bearer ` prefix), and the session id that can refresh it (`None` without one).
    pub fn user_token(mut self, token: impl Into<Secret>, session_id: Option<&str>) -> Self {
        self.credentials = Credentials::UserToken {
            token: token.into(),
            session_id: session_id.map(Secret::new),
        };
        self
    }

    /// Authenticate with HMAC app auth.
    pub fn app_credentials(
        mut self,
        app_id: impl Into<String>,
        app_secret: impl Into<Secret>,
        user_id: impl Into<String>,
    ) -> Self {
        self.credentials = Credentials::App(AppCredentials {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            user_id: user_id.into(),
        });
        self
    }

    /// Authenticate with an application access token (`Bearer {app_access_token}`).
    pub fn app_token(mut self, token: impl Into<Secret>, user_id: Option<String>) -> Self {
        self.credentials = Credentials::AppToken {
            token: token.into(),
            user_id,
        };
        self
    }

    /// Any [`Credentials`].
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The `language` header for every request, e.g. `zh-CN` or `en-US`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// The retry policy (default: 3 attempts, jittered exponential backoff).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Refresh the user session automatically (needs a session id): before a call when the
    /// token has been idle for nearly its lifetime, and once after an HTTP 401.
    pub fn auto_refresh(mut self, on: bool) -> Self {
        self.auto_refresh = on;
        self
    }

    /// How long a user token lives after its last use (default 20 minutes, as documented).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.token_lifetime = d;
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client, reqwest::Error> {
        let http = match self.http {
            Some(c) => c,
            None => {
                // With ring as the provider, reqwest takes the process default: install ring
                // unless the application installed a provider of its own.
                #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut b = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .user_agent(self.user_agent);
                if let Some(t) = self.timeout {
                    b = b.timeout(t);
                }
                if let Some(t) = self.read_timeout {
                    b = b.read_timeout(t);
                }
                b.build()?
            }
        };
        let shared = Shared {
            credentials: RwLock::new(self.credentials),
            last_use: Mutex::new(None),
            auto_refresh: self.auto_refresh,
            token_lifetime: self.token_lifetime,
            language: self.language.and_then(|l| HeaderValue::from_str(&l).ok()),
            retry: self.retry,
            refresh_lock: tokio::sync::Mutex::new(()),
        };
        Ok(Client::new_with_client(
            &self.base_url,
            http,
            ClientState {
                shared: Arc::new(shared),
                share_folder_id: None,
            },
        ))
    }
}

impl Client {
    /// Start building a client for `base_url`: [`CN_ENDPOINT`], [`INTL_ENDPOINT`], or any URL
    /// (a local emulator).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url)
    }

    /// Replace the user access token (and session id) on a live client; every clone sees it.
    pub fn set_user_token(&self, token: impl Into<Secret>, session_id: Option<&str>) {
        let mut creds = self
            .inner
            .shared
            .credentials
            .write()
            .expect("credentials lock");
        let session_id = session_id.map(Secret::new).or(match &*creds {
            Credentials::UserToken { session_id, .. } => session_id.clone(),
            _ => None,
        });
        *creds = Credentials::UserToken {
            token: token.into(),
            session_id,
        };
        *self.inner.shared.last_use.lock().expect("last-use lock") =
            Some(std::time::Instant::now());
    }

    /// Replace the credentials on a live client.
    pub fn set_credentials(&self, credentials: Credentials) {
        *self
            .inner
            .shared
            .credentials
            .write()
            .expect("credentials lock") = credentials;
    }

    /// A client whose requests work inside the shared folder `folder_id`
    /// (`x-hw-share-folder-id`). It shares credentials and settings with `self`.
    pub fn in_shared_folder(&self, folder_id: &str) -> Client {
        let mut state = self.inner.clone();
        state.share_folder_id = HeaderValue::from_str(folder_id).ok();
        Client::new_with_client(&self.baseurl, self.client.clone(), state)
    }

    /// Refresh the user session now (refreshSession with the session id).
    pub async fn refresh_now(&self) -> Result<(), crate::Error> {
        self.refresh_session_token()
            .await
            .map_err(|reason| crate::Error::Auth {
                operation_id: "refreshSession",
                reason,
            })
    }
}
