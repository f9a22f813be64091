//! Retries: bounded, jittered exponential backoff, for idempotent operations only.
//!
//! Retried: transport errors, timeouts, HTTP 429/502/503/504 and transient KooDrive codes
//! ([`ErrorCode::is_transient`](crate::ErrorCode::is_transient)), and only when the operation
//! is idempotent: GET, PUT, DELETE, or a POST the spec marks `x-koodrive-idempotent: true`.
//! A non-idempotent POST (createFile, createShare, createJob …) is sent exactly once.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries). Default 3, like aws-sdk-rust.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles each time. Default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff. Default 2 s.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (1 for the first retry): "full jitter", a random
    /// duration between zero and `min(max_backoff, initial_backoff * 2^(retry-1))`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20));
        let cap = exp.min(self.max_backoff);
        let mut h = RandomState::new().build_hasher();
        h.write_u32(retry);
        let fraction = (h.finish() % 1_000_001) as f64 / 1_000_000.0;
        cap.mul_f64(fraction)
    }
}

/// HTTP statuses worth a retry.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy::default();
        for retry in 1..30 {
            assert!(p.backoff(retry) <= p.max_backoff);
        }
        // The cap of retry 1 is 100 ms; over many draws the largest is close to it and none exceeds it.
        let max1 = (0..200).map(|_| p.backoff(1)).max().unwrap();
        assert!(
            max1 <= Duration::from_millis(100) && max1 > Duration::from_millis(50),
            "{max1:?}"
        );
        let max4 = (0..200).map(|_| p.backoff(4)).max().unwrap();
        assert!(max4 > Duration::from_millis(400), "{max4:?}");
    }
}
