//! Fault injection, for the client's reliability tests: HTTP 500/502/503/429, delays, a
//! connection dropped mid-body, truncated or malformed JSON, a wrong content type, a `code`
//! other than 0 inside HTTP 200, and an oversized body; per route and by probability.
//!
//! Faults come from [`Config::faults`](crate::Config::faults) and, at runtime, from
//! [`Emulator::inject`](crate::Emulator::inject) and
//! [`Emulator::clear_faults`](crate::Emulator::clear_faults). For each request the first
//! [`Fault`] whose route matches, whose `times` are not used up and whose probability draw
//! succeeds is applied; the others are left alone. The draws come from a small seeded
//! generator ([`Config::fault_seed`](crate::Config::fault_seed)), so a test that sends the
//! same requests in the same order sees the same faults.
//!
//! Every request is counted under its operation
//! ([`Emulator::requests`](crate::Emulator::requests)), faulted or not, so that a test can
//! assert exactly how often the client sent it.

use std::time::Duration;

/// One fault rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Which requests: an operationId (`getFile`, and `uploadPart` / `downloadFile` for the
    /// emulator's own part and download URLs), a path (starting with `/`, matched exactly, or
    /// as a prefix when it ends with `*`), or `*` for every request.
    pub route: String,
    /// What happens to a request it hits.
    pub kind: FaultKind,
    /// The chance that a matching request is hit, from 0.0 to 1.0.
    pub probability: f64,
    /// How many requests it hits at most; `None` for no limit.
    pub times: Option<u32>,
}

impl Fault {
    /// A fault that hits every matching request.
    pub fn always(route: impl Into<String>, kind: FaultKind) -> Fault {
        Fault {
            route: route.into(),
            kind,
            probability: 1.0,
            times: None,
        }
    }

    /// A fault that hits the next `times` matching requests.
    pub fn times(route: impl Into<String>, kind: FaultKind, times: u32) -> Fault {
        Fault {
            times: Some(times),
            ..Fault::always(route, kind)
        }
    }

    /// Whether the rule applies to a request for `operation` at `path`.
    pub fn matches(&self, operation: &str, path: &str) -> bool {
        let route = self.route.as_str();
        if route == "*" {
            return true;
        }
        if route.starts_with('/') {
            return match route.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == route,
            };
        }
        route == operation
    }
}

/// What an injected fault does. Faults that stand for a failure before the server did
/// anything ([`Status`](FaultKind::Status), [`ApiCode`](FaultKind::ApiCode)) answer without
/// running the handler; faults that stand for a response damaged on its way back run the
/// handler first (its effect on the state stays) and then damage its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer this HTTP status with a plain-text body (as a gateway would, not a KooDrive
    /// `{code, msg}`), without running the handler. For 500, 502, 503, 429 and so on.
    Status(u16),
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Run the handler, send its status, its headers (with the full `Content-Length`) and
    /// the first half of its body, then drop the connection.
    DropMidBody,
    /// Run the handler and send only the first half of its body (with a `Content-Length`
    /// that matches the cut, so the response itself is complete).
    TruncatedJson,
    /// Run the handler and replace its body with text that is not JSON (a JSON-like
    /// syntax error), labelled `application/json`.
    MalformedJson,
    /// Run the handler and send its body as `text/html`.
    WrongContentType,
    /// Answer HTTP 200 with `{"code": <code>, "msg": …}` without running the handler.
    ApiCode(i64),
    /// Answer exactly this, without running the handler: for responses the other kinds do
    /// not cover (say a `code` other than 0 labelled `text/plain`).
    Respond {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type`.
        content_type: String,
        /// The body.
        body: String,
    },
    /// Run the handler and pad its JSON object with a `"_padding"` string member, so that
    /// the body is at least this many bytes.
    OversizedBody(usize),
}

/// The rules in force, how often each has fired and the generator.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Vec<(Fault, u32)>,
    rng: SplitMix64,
}

impl Faults {
    pub fn new(rules: Vec<Fault>, seed: u64) -> Faults {
        Faults {
            rules: rules.into_iter().map(|f| (f, 0)).collect(),
            rng: SplitMix64(seed),
        }
    }

    pub fn add(&mut self, fault: Fault) {
        self.rules.push((fault, 0));
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault to apply to a request, if any (and count it as fired).
    pub fn pick(&mut self, operation: &str, path: &str) -> Option<FaultKind> {
        let Faults { rules, rng } = self;
        for (fault, fired) in rules.iter_mut() {
            if !fault.matches(operation, path) || fault.times.is_some_and(|t| *fired >= t) {
                continue;
            }
            let hit = if fault.probability >= 1.0 {
                true
            } else if fault.probability <= 0.0 {
                false
            } else {
                rng.next_f64() < fault.probability
            };
            if hit {
                *fired += 1;
                return Some(fault.kind.clone());
            }
        }
        None
    }
}

/// SplitMix64 (Steele, Lea and Flood): a tiny, seeded, good-enough generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_by_operation_path_prefix_or_star() {
        let f = |route: &str| Fault::always(route, FaultKind::Status(503));
        assert!(f("getFile").matches("getFile", "/x"));
        assert!(!f("getFile").matches("getFiles", "/x"));
        assert!(f("/a/b").matches("op", "/a/b"));
        assert!(!f("/a/b").matches("op", "/a/bc"));
        assert!(f("/a/*").matches("op", "/a/bc"));
        assert!(f("*").matches("op", "/anything"));
    }

    #[test]
    fn probability_is_seeded_and_times_are_counted() {
        let run = |seed| {
            let mut faults = Faults::new(
                vec![Fault {
                    probability: 0.5,
                    ..Fault::always("op", FaultKind::Status(500))
                }],
                seed,
            );
            (0..64)
                .map(|_| faults.pick("op", "/").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7).iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits}");

        let mut faults = Faults::new(vec![Fault::times("op", FaultKind::ApiCode(1), 2)], 1);
        let picks: Vec<_> = (0..4).map(|_| faults.pick("op", "/").is_some()).collect();
        assert_eq!(picks, [true, true, false, false]);
        assert_eq!(faults.pick("other", "/"), None);
    }
}
