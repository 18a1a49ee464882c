//! Simulator configuration: tokens and their privileges, pre-created hash lists, alert data, limits and faults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::Method;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Everything the simulated tenant needs to start. `SimConfig::default()` is a usable tenant with one full-privilege
/// token (`test-token`), one v1 token (`test-v1-token`), no hash lists and a small alert set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Plain HTTP listen address. Must be a loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Also serve HTTPS with a self-signed certificate for `IP:127.0.0.1` (needed by the official CLI).
    pub tls: bool,
    /// HTTPS listen address, used when `tls` is true. Must be a loopback address.
    pub tls_listen: SocketAddr,
    /// Where to write the generated certificate (PEM) so clients can trust it.
    pub cert_out: Option<PathBuf>,
    /// REST API v2 tokens (`Netskope-Api-Token` header).
    pub tokens: Vec<SimToken>,
    /// REST API v1 tokens (sent in the JSON body of `/api/v1/updateFileHashList`).
    pub v1_tokens: Vec<String>,
    /// File hash lists that exist in the tenant. The v1 API cannot create lists, only replace their content.
    pub hash_lists: Vec<String>,
    /// Global rate limit in requests per second over all `/api/` requests; `None` means unlimited.
    pub rate_limit_rps: Option<u32>,
    /// Seeded alert data served by the Data Export iterator.
    pub alerts: AlertSpec,
    /// Records per Data Export chunk.
    pub page_size: usize,
    /// `wait_time` (seconds) sent once an iterator has caught up with the data.
    pub wait_time: u64,
    /// Serve `POST /api/v2/policy/deploy` as an alias of `POST /api/v2/policy/urllist/deploy`. Off by default because
    /// the real gateway has no such path (reference §2.1); the released SDK and CLI `deploy` commands need it.
    pub legacy_deploy_alias: bool,
    /// Value of `modify_by` in URL list records.
    pub modify_by: String,
    /// Faults armed at startup.
    pub faults: Vec<Fault>,
    /// JSON snapshot loaded at startup when the file exists and written at shutdown.
    pub snapshot: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            tls_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cert_out: None,
            tokens: vec![SimToken::full("test-token")],
            v1_tokens: vec!["test-v1-token".to_owned()],
            hash_lists: Vec::new(),
            rate_limit_rps: None,
            alerts: AlertSpec::default(),
            page_size: 100,
            wait_time: 1,
            legacy_deploy_alias: false,
            modify_by: "Netskope API".to_owned(),
            faults: Vec::new(),
            snapshot: None,
        }
    }
}

/// A REST API v2 token and the endpoints it may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimToken {
    /// The secret sent in the `Netskope-Api-Token` header.
    pub token: String,
    /// Endpoint prefixes (e.g. `/api/v2/policy/urllist`) with the privilege granted on them. A request is allowed
    /// when its path equals a prefix or continues it with `/`, and the method is covered by the privilege.
    pub privileges: Vec<(String, Privilege)>,
}

impl SimToken {
    /// A token with Read+Write on every `/api/v2` endpoint.
    pub fn full(token: impl Into<String>) -> Self {
        SimToken {
            token: token.into(),
            privileges: vec![("/api/v2".to_owned(), Privilege::ReadWrite)],
        }
    }

    /// A token with the given endpoint privileges.
    pub fn with(token: impl Into<String>, privileges: &[(&str, Privilege)]) -> Self {
        SimToken {
            token: token.into(),
            privileges: privileges
                .iter()
                .map(|(p, v)| ((*p).to_owned(), *v))
                .collect(),
        }
    }

    /// Parses the `--token` flag syntax: `TOKEN` (full privileges) or
    /// `TOKEN:/api/v2/policy/urllist=rw,/api/v2/events/dataexport=r`.
    pub fn parse(spec: &str) -> Result<Self, SimError> {
        let Some((token, privs)) = spec.split_once(':') else {
            if spec.is_empty() {
                return Err(SimError::Config("empty token".into()));
            }
            return Ok(SimToken::full(spec));
        };
        if token.is_empty() {
            return Err(SimError::Config(format!("empty token in {spec:?}")));
        }
        let mut privileges = Vec::new();
        for item in privs.split(',').filter(|s| !s.is_empty()) {
            let (prefix, level) = item.split_once('=').unwrap_or((item, "rw"));
            if !prefix.starts_with('/') {
                return Err(SimError::Config(format!(
                    "endpoint {prefix:?} must start with /"
                )));
            }
            let level = match level.to_ascii_lowercase().as_str() {
                "r" | "read" => Privilege::Read,
                "rw" | "readwrite" | "read+write" => Privilege::ReadWrite,
                other => {
                    return Err(SimError::Config(format!(
                        "unknown privilege {other:?} (use r or rw)"
                    )))
                }
            };
            privileges.push((prefix.trim_end_matches('/').to_owned(), level));
        }
        Ok(SimToken {
            token: token.to_owned(),
            privileges,
        })
    }

    /// Whether this token may call `method` on `path`.
    pub fn allows(&self, method: &Method, path: &str) -> bool {
        self.privileges
            .iter()
            .any(|(prefix, level)| path_covers(prefix, path) && level.covers(method))
    }
}

/// Whether `path` is `prefix` or lies below it, compared by whole segments: `/api/v2/events/data` covers
/// `/api/v2/events/data/audit` but not `/api/v2/events/dataexport/alerts/malware`. A trailing `/` on the prefix
/// is ignored.
pub(crate) fn path_covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Privilege levels of the REST API v2 token UI ("Read" = GET; "Read+Write" = GET, PUT, POST, PATCH, DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Privilege {
    /// GET (and HEAD) only.
    Read,
    /// GET, PUT, POST, PATCH and DELETE.
    ReadWrite,
}

impl Privilege {
    /// Whether the privilege covers the HTTP method.
    pub fn covers(self, method: &Method) -> bool {
        match self {
            Privilege::Read => method == Method::GET || method == Method::HEAD,
            Privilege::ReadWrite => true,
        }
    }
}

/// What alerts the tenant holds. Generation is deterministic given the same spec (see [`crate::generate_alerts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSpec {
    /// PRNG seed.
    pub seed: u64,
    /// Number of malware alerts.
    pub malware_count: usize,
    /// Number of malsite alerts.
    pub malsite_count: usize,
    /// First possible alert timestamp (epoch seconds, inclusive).
    pub start_epoch: i64,
    /// Last possible alert timestamp (epoch seconds, inclusive).
    pub end_epoch: i64,
}

impl Default for AlertSpec {
    fn default() -> Self {
        // 2024-01-01T00:00:00Z .. +7 days.
        AlertSpec {
            seed: 1,
            malware_count: 50,
            malsite_count: 50,
            start_epoch: 1_704_067_200,
            end_epoch: 1_704_672_000,
        }
    }
}

/// A fault to inject. Faults apply only to `/api/` requests, in the order they were armed; the first matching
/// fault with uses left is consumed. `path_prefix` matches whole path segments (see [`Fault::matches`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Delay matching requests by `millis` before handling them; `count: None` means every request.
    Latency {
        /// Added delay in milliseconds.
        millis: u64,
        /// Only requests to this path or below it.
        #[serde(default)]
        path_prefix: Option<String>,
        /// Number of requests affected; `None` means unlimited.
        #[serde(default)]
        count: Option<u32>,
    },
    /// Answer the next `count` matching requests with `status` and a `{"status":"error","message":...}` body.
    /// A 429 carries what the tenant sends with one (reference §5, §10.5): `Retry-After`, `ratelimit-remaining: 0`
    /// and `ratelimit-reset`, all `retry_after` seconds (1 when unset). Another status carries `Retry-After` only,
    /// and only when `retry_after` is set.
    Fail {
        /// HTTP status to answer with.
        status: u16,
        /// Number of requests affected.
        #[serde(default = "one")]
        count: u32,
        /// Only requests to this path or below it.
        #[serde(default)]
        path_prefix: Option<String>,
        /// Seconds to ask the client to wait (see above).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Close the connection of the next `count` matching requests without sending a response.
    Drop {
        /// Number of requests affected.
        #[serde(default = "one")]
        count: u32,
        /// Only requests to this path or below it.
        #[serde(default)]
        path_prefix: Option<String>,
    },
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Shorthand for [`Fault::Fail`] without `retry_after`.
    pub fn fail(status: u16, count: u32, path_prefix: Option<&str>) -> Self {
        Fault::Fail {
            status,
            count,
            path_prefix: path_prefix.map(str::to_owned),
            retry_after: None,
        }
    }

    /// A [`Fault::Fail`] with status 429 whose `Retry-After` and `ratelimit-reset` say `retry_after` seconds.
    pub fn rate_limited(count: u32, retry_after: u64, path_prefix: Option<&str>) -> Self {
        Fault::Fail {
            status: 429,
            count,
            path_prefix: path_prefix.map(str::to_owned),
            retry_after: Some(retry_after),
        }
    }

    /// Shorthand for [`Fault::Drop`].
    pub fn drop_connection(count: u32, path_prefix: Option<&str>) -> Self {
        Fault::Drop {
            count,
            path_prefix: path_prefix.map(str::to_owned),
        }
    }

    /// Shorthand for [`Fault::Latency`].
    pub fn latency(delay: Duration, count: Option<u32>, path_prefix: Option<&str>) -> Self {
        Fault::Latency {
            millis: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            path_prefix: path_prefix.map(str::to_owned),
            count,
        }
    }

    pub(crate) fn path_prefix(&self) -> Option<&str> {
        match self {
            Fault::Latency { path_prefix, .. }
            | Fault::Fail { path_prefix, .. }
            | Fault::Drop { path_prefix, .. } => path_prefix.as_deref(),
        }
    }

    /// Whether the fault applies to a request for `path`: always without a `path_prefix`, else when `path` is the
    /// prefix or lies below it by whole segments, so a fault armed for `/api/v2/events/data` leaves
    /// `/api/v2/events/dataexport/...` alone.
    pub fn matches(&self, path: &str) -> bool {
        self.path_prefix()
            .is_none_or(|prefix| path_covers(prefix, path))
    }
}
