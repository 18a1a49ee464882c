//! Connection settings of one tenant: address, tokens, TLS, proxy, timeouts, retry policy and
//! list size limits.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

/// A token or password. `Debug` prints `***`; there is no `Display`, so it cannot end up in a log
/// line by accident. Read it with [`Secret::expose`] at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for the request that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

/// Why tenant settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The tenant name or URL is not usable; the message says why.
    #[error("invalid tenant address {input:?}: {reason}")]
    InvalidTenant {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A CA certificate is not usable PEM.
    #[error("invalid CA certificate: {0}")]
    InvalidCertificate(String),
    /// The proxy URL is not usable.
    #[error("invalid proxy: {0}")]
    InvalidProxy(String),
    /// The HTTP client could not be built (e.g. the TLS backend failed to initialise).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Per-request time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Limit for establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// Limit for one whole request, from sending to the end of the body. The Data Export client
    /// of Netskope uses 120 s.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(120),
        }
    }
}

/// How transient failures (429, 5xx, transport errors) are retried inside one call.
///
/// The delay before retry `n` (0-based) is the server's hint (`Retry-After`, else
/// `ratelimit-reset`) when there is one, otherwise `base_delay * 2^n` capped at `max_delay`.
/// A retry is made only while fewer than `max_retries` retries were made and the call, including
/// the coming wait, stays within `max_elapsed`. 400, 401, 403 and 404 are never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` sends at most).
    pub max_retries: u32,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Cap of the computed backoff (a server hint is not capped, only bounded by `max_elapsed`).
    pub max_delay: Duration,
    /// Bound of the whole call: no retry is started whose wait would end after it.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The computed backoff before retry number `retry` (0-based), ignoring server hints.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }

    /// The wait before the next attempt, or `None` to give up with `error`.
    ///
    /// `retries_done` counts retries already made, `elapsed` is the time since the call began,
    /// and `hint` is the server's requested wait.
    pub fn delay_before_retry(
        &self,
        retries_done: u32,
        elapsed: Duration,
        error: &cte_core::tenant::TenantError,
        hint: Option<Duration>,
    ) -> Option<Duration> {
        if !error.is_retryable() || retries_done >= self.max_retries {
            return None;
        }
        let delay = hint.unwrap_or_else(|| self.backoff(retries_done));
        if elapsed.saturating_add(delay) > self.max_elapsed {
            return None;
        }
        Some(delay)
    }
}

/// Size limits checked before a whole list is sent, so an oversized list fails without a call.
///
/// Sizes are of the entries joined by commas (what the v1 hash list sends as `list`; for URL
/// lists the same measure CE's plugin uses up to a few bytes per entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Largest URL list sent by create, replace or update (CE: 7 MB).
    pub url_list_bytes: usize,
    /// Largest file hash list (the tenant refuses more than 8 MB).
    pub hash_list_bytes: usize,
}

impl Default for ListLimits {
    fn default() -> ListLimits {
        ListLimits {
            url_list_bytes: 7 * 1024 * 1024,
            hash_list_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Everything needed to talk to one tenant.
#[derive(Clone)]
pub struct TenantSettings {
    /// `scheme://host[:port]/`; see [`resolve_base_url`].
    pub base_url: Url,
    /// REST API v2 token, sent as `Netskope-Api-Token`.
    pub v2_token: Secret,
    /// REST API v1 token, needed only for the file hash list (sent in the body).
    pub v1_token: Option<Secret>,
    /// Verify the tenant's TLS certificate (CE's "Enable SSL Verification").
    pub ssl_validation: bool,
    /// Extra CA certificates (PEM) trusted besides the built-in roots, e.g. a TLS-inspecting
    /// proxy's CA or a test tenant's self-signed CA.
    pub extra_ca_pem: Option<String>,
    /// Proxy URL (`http://`, `https://` or `socks5://` as supported). When set, every request
    /// goes through it.
    pub proxy: Option<String>,
    /// When no `proxy` is set: use the proxies of the environment (`HTTPS_PROXY`, ...) if true,
    /// connect directly if false. Environment proxies are never picked up silently.
    pub use_system_proxy: bool,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Size limits checked before sending.
    pub limits: ListLimits,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl TenantSettings {
    /// Settings with defaults: TLS verified, no proxy, default timeouts, retries and limits.
    pub fn new(tenant: &str, v2_token: Secret) -> Result<TenantSettings, SettingsError> {
        Ok(TenantSettings {
            base_url: resolve_base_url(tenant)?,
            v2_token,
            v1_token: None,
            ssl_validation: true,
            extra_ca_pem: None,
            proxy: None,
            use_system_proxy: false,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            limits: ListLimits::default(),
            user_agent: concat!("cte-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
        })
    }
}

impl fmt::Debug for TenantSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantSettings")
            .field("base_url", &self.base_url.as_str())
            .field("v2_token", &self.v2_token)
            .field("v1_token", &self.v1_token)
            .field("ssl_validation", &self.ssl_validation)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(|_| "<pem>"))
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .field("use_system_proxy", &self.use_system_proxy)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// A proxy URL with any password replaced by `***`, for logs.
pub(crate) fn redact_userinfo(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparsable>".to_owned(),
    }
}

/// Turns what a user types as the tenant into the base URL.
///
/// - `tenant.goskope.com` or `tenant.goskope.com:8443` ⇒ `https://tenant.goskope.com[:8443]`
///   (the tenant API is HTTPS).
/// - An explicit `https://host[:port]` is kept.
/// - An explicit `http://` URL is accepted only for a loopback host (a local simulator), because
///   tokens would otherwise cross the network in clear text.
///
/// A path other than `/`, a query, a fragment or user info is refused.
pub fn resolve_base_url(tenant: &str) -> Result<Url, SettingsError> {
    let input = tenant.trim();
    let refuse = |reason: &str| SettingsError::InvalidTenant {
        input: tenant.to_owned(),
        reason: reason.to_owned(),
    };
    if input.is_empty() {
        return Err(refuse("it is empty"));
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| refuse(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| refuse("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(refuse("plain http is only allowed for a loopback address")),
        _ => return Err(refuse("the scheme must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("it must not contain user info"));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(refuse("it must not have a path"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("it must not have a query or fragment"));
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cte_core::tenant::TenantError;

    #[test]
    fn tenant_names_become_https_urls() {
        let url = resolve_base_url("acme.goskope.com").unwrap();
        assert_eq!(url.as_str(), "https://acme.goskope.com/");
        let url = resolve_base_url(" https://acme.goskope.com/ ").unwrap();
        assert_eq!(url.as_str(), "https://acme.goskope.com/");
        let url = resolve_base_url("acme.goskope.com:8443").unwrap();
        assert_eq!(url.as_str(), "https://acme.goskope.com:8443/");
        let url = resolve_base_url("http://127.0.0.1:4010").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:4010/");
        assert!(resolve_base_url("http://[::1]:4010").is_ok());
        assert!(resolve_base_url("http://localhost:4010").is_ok());
    }

    #[test]
    fn unsafe_or_odd_tenant_addresses_are_refused() {
        for bad in [
            "",
            "http://acme.goskope.com",
            "ftp://acme.goskope.com",
            "https://acme.goskope.com/api",
            "https://u:p@acme.goskope.com",
            "https://acme.goskope.com/?x=1",
        ] {
            assert!(resolve_base_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let mut settings =
            TenantSettings::new("acme.goskope.com", Secret::new("v2-secret")).unwrap();
        settings.v1_token = Some(Secret::new("v1-secret"));
        settings.proxy = Some("http://user:pw-secret@proxy.local:3128".to_owned());
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_elapsed: Duration::from_secs(10),
        };
        let delays: Vec<u128> = (0..5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
    }

    #[test]
    fn retry_decisions_respect_kind_count_time_and_hints() {
        let policy = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(5),
        };
        let server = TenantError::Server {
            status: 503,
            message: String::new(),
        };
        let zero = Duration::ZERO;
        assert_eq!(
            policy.delay_before_retry(0, zero, &server, None),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            policy.delay_before_retry(1, zero, &server, None),
            Some(Duration::from_millis(200))
        );
        assert_eq!(policy.delay_before_retry(2, zero, &server, None), None);
        // A hint wins over the backoff and is not capped by max_delay ...
        assert_eq!(
            policy.delay_before_retry(0, zero, &server, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        // ... but the whole call stays within max_elapsed.
        assert_eq!(
            policy.delay_before_retry(
                0,
                Duration::from_secs(3),
                &server,
                Some(Duration::from_secs(3))
            ),
            None
        );
        let final_errors = [
            TenantError::Unauthorized {
                message: String::new(),
            },
            TenantError::NotFound {
                message: String::new(),
            },
            TenantError::Rejected {
                status: 400,
                message: String::new(),
            },
        ];
        for error in final_errors {
            assert_eq!(policy.delay_before_retry(0, zero, &error, None), None);
        }
        assert_eq!(
            RetryPolicy::none().delay_before_retry(0, zero, &server, None),
            None
        );
    }
}
