//! Credentials and request signing.
//!
//! Three kinds of auth, as documented (see `spec/openapi.yaml`, `securitySchemes`):
//! - **user access token** ([`Credentials::UserToken`]): `Authorization: Bearer …`, valid for 20
//!   minutes after the last call. The session APIs return the complete header value, with a
//!   `Bearer ` or `Bearer+` prefix; a bare token gets `Bearer ` added ([`bearer_value`]).
//! - **HMAC app auth** ([`AppCredentials`]): `X-User-Id`, `X-Date` and `Host` headers and
//!   `Authorization: HMAC-SHA256 AppId=…,SignedHeaders=…,Signature=…` over a canonical request
//!   ([`sign`]).
//! - **application access token** ([`Credentials::AppToken`]): `Bearer {app_access_token}`, for
//!   the operations that require it.
//!
//! Secrets are [`Secret`]s: their `Debug` and `Display` print `[redacted]`, and the headers
//! built from them are marked sensitive.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A secret string (token, app secret). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

/// The application identity for HMAC app auth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppCredentials {
    /// The app id (`AppId=` in the Authorization header).
    pub app_id: String,
    /// The app secret that keys the HMAC.
    pub app_secret: Secret,
    /// The KooDrive user on whose behalf calls are made (`X-User-Id`).
    pub user_id: String,
}

/// The Authorization header value for a user or application token: the session APIs return
/// it complete (`Bearer 6ebb…`, `Bearer+013b…`), which is kept as is; a bare token is
/// prefixed with `Bearer `.
pub fn bearer_value(token: &str) -> String {
    let t = token.trim();
    if t.starts_with("Bearer ") || t.starts_with("Bearer+") {
        t.to_owned()
    } else {
        format!("Bearer {t}")
    }
}

/// A UTC calendar time (what `X-Date` and the emulator's timestamps print).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: i64,
    /// Day of the month, 1 to 31.
    pub day: i64,
    /// Hour, 0 to 23.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
}

impl UtcTime {
    /// The calendar time of `time` (whole seconds; times before 1970 count as 1970).
    pub fn of(time: SystemTime) -> UtcTime {
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0) as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` for a time (UTC), the `X-Date` format.
pub fn x_date(time: SystemTime) -> String {
    let t = UtcTime::of(time);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encode everything but `A-Z a-z 0-9 - _ . ~`, upper-case hex (RFC 3986).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The parts of a request that the signature covers.
#[derive(Debug, Clone)]
pub struct SigningInput<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The URL path as sent (percent-encoded segments).
    pub path: &'a str,
    /// The raw query string, without `?` (may be empty).
    pub query: &'a str,
    /// The headers to sign, any case; `host`, `x-date` and `x-user-id` at least.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body (empty for none).
    pub body: &'a [u8],
}

/// The canonical request (koodrive_05_0035): method, canonical URI (each segment encoded,
/// with a trailing `/`), sorted canonical query, canonical headers, signed headers and the
/// hex SHA-256 of the body, separated by newlines.
pub fn canonical_request(input: &SigningInput<'_>) -> (String, String) {
    let mut uri: String = input
        .path
        .split('/')
        .map(|seg| encode(&decode(seg)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut query: Vec<(String, String)> = input
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                encode(&decode(&k.replace('+', " "))),
                encode(&decode(&v.replace('+', " "))),
            )
        })
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let payload = hex(&Sha256::digest(input.body));
    (
        format!(
            "{}\n{uri}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload}",
            input.method.to_ascii_uppercase()
        ),
        signed_headers,
    )
}

/// The `Authorization` value for HMAC app auth:
/// `HMAC-SHA256 AppId=<id>,SignedHeaders=<h;…>,Signature=<hex HMAC-SHA256(secret, StringToSign)>`
/// where `StringToSign = "HMAC-SHA256\n" + hex(SHA-256(canonical request))`.
pub fn sign(app_id: &str, app_secret: &Secret, input: &SigningInput<'_>) -> String {
    let (canonical, signed_headers) = canonical_request(input);
    let string_to_sign = format!(
        "HMAC-SHA256\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    let signature = hex(&mac.finalize().into_bytes());
    format!("HMAC-SHA256 AppId={app_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// What the client authenticates with.
#[derive(Clone, Debug, Default)]
pub enum Credentials {
    /// No credentials: only operations that need none can be called.
    #[default]
    None,
    /// A user access token, optionally with the session id that refreshes it.
    UserToken {
        /// The token or complete header value.
        token: Secret,
        /// The session id from createSession, for refreshSession.
        session_id: Option<Secret>,
    },
    /// HMAC app auth.
    App(AppCredentials),
    /// An application access token (`Bearer {app_access_token}`), with the user to act for.
    AppToken {
        /// The application token.
        token: Secret,
        /// `X-User-Id`, when the operation needs it.
        user_id: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_date_formats_utc() {
        // 2024-09-09T03:33:25Z, the docs' example X-Date.
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_725_852_805);
        assert_eq!(x_date(t), "20240909T033325Z");
        assert_eq!(x_date(UNIX_EPOCH), "19700101T000000Z");
        // A leap day.
        assert_eq!(
            x_date(UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn bearer_prefixes_are_kept_or_added() {
        assert_eq!(bearer_value("Bearer 6ebb62"), "Bearer 6ebb62");
        assert_eq!(bearer_value("Bearer+013b4d"), "Bearer+013b4d");
        assert_eq!(bearer_value(" abc "), "Bearer abc");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        let c = Credentials::UserToken {
            token: s,
            session_id: Some("sess-42".into()),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("sess-42"),
            "{shown}"
        );
    }
}
