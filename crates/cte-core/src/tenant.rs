//! The tenant port: what the engine needs from a Netskope tenant (alert pull through the Data
//! Export iterator, URL lists, the v1 file-hash list, a token check), in core types only.
//!
//! Adapters (`cte-netskope`) implement [`TenantClient`] over HTTP; tests implement it in memory.
//! Nothing here does IO. The wire facts these types mirror (from the tenant API research notes,
//! `netskope-tenant-api.md`, whose real-tenant audit wins): URL-list changes stay
//! *pending* until a deploy, a file-hash-list update replaces the whole list, and the iterator
//! is paged by the server (one call is one page).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

/// The alert sub-types the Threat Exchange pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlertType {
    /// Malware alerts: carry file hashes (`md5`, `sha256`, `local_*`).
    Malware,
    /// Malicious-site alerts: carry a `url`.
    Malsite,
}

impl AlertType {
    /// Every alert type, in the order CE lists them.
    pub const ALL: [AlertType; 2] = [AlertType::Malware, AlertType::Malsite];

    /// The path segment of the Data Export endpoint (`malware`, `malsite`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Malware => "malware",
            AlertType::Malsite => "malsite",
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one call of the Data Export iterator asks the server to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IteratorOp {
    /// The first page the tenant still holds.
    Head,
    /// The latest page.
    Tail,
    /// The page after the last one returned to this iterator.
    Next,
    /// The last page again (used after a broken transfer).
    Resend,
    /// Position the iterator as if it had just finished the data up to this epoch second.
    Epoch(i64),
}

impl fmt::Display for IteratorOp {
    /// The value of the `operation` query parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IteratorOp::Head => f.write_str("head"),
            IteratorOp::Tail => f.write_str("tail"),
            IteratorOp::Next => f.write_str("next"),
            IteratorOp::Resend => f.write_str("resend"),
            IteratorOp::Epoch(t) => write!(f, "{t}"),
        }
    }
}

/// One alert record with the fields CE's Netskope plugin reads, plus the raw record.
///
/// Parsing is lenient because no client package pins the record shape: missing or oddly typed
/// fields become `None`, numbers given as strings are accepted, and `malsite_category` may be a
/// string or a list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alert {
    /// `_id`.
    pub id: Option<String>,
    /// `alert_type` as sent (CE compares it lower-cased).
    pub alert_type: Option<String>,
    /// `severity` as sent.
    pub severity: Option<String>,
    /// `timestamp`, epoch seconds.
    pub timestamp: Option<i64>,
    /// `md5`.
    pub md5: Option<String>,
    /// `local_md5`.
    pub local_md5: Option<String>,
    /// `sha256`.
    pub sha256: Option<String>,
    /// `local_sha256`.
    pub local_sha256: Option<String>,
    /// `malware_name`.
    pub malware_name: Option<String>,
    /// `malware_type`.
    pub malware_type: Option<String>,
    /// `object` (the file or page the alert is about).
    pub object: Option<String>,
    /// `url`.
    pub url: Option<String>,
    /// `malsite_category`; empty when absent.
    pub malsite_category: Vec<String>,
    /// The record as received.
    pub raw: Value,
}

impl Alert {
    /// Reads the known fields out of a record; never fails.
    pub fn from_value(raw: Value) -> Alert {
        let text = |key: &str| -> Option<String> {
            match raw.get(key)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let timestamp = match raw.get("timestamp") {
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .ok()
                .or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64)),
            _ => None,
        };
        let malsite_category = match raw.get("malsite_category") {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Alert {
            id: text("_id"),
            alert_type: text("alert_type"),
            severity: text("severity"),
            timestamp,
            md5: text("md5"),
            local_md5: text("local_md5"),
            sha256: text("sha256"),
            local_sha256: text("local_sha256"),
            malware_name: text("malware_name"),
            malware_type: text("malware_type"),
            object: text("object"),
            url: text("url"),
            malsite_category,
            raw,
        }
    }
}

/// One page of the Data Export iterator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertPage {
    /// The records of this page (`result`), possibly empty.
    pub alerts: Vec<Alert>,
    /// Seconds the server asks the caller to wait before the next call (`wait_time`).
    pub wait_time: Option<u64>,
    /// Epoch second up to which the iterator has delivered data (`timestamp_hwm`).
    pub timestamp_hwm: Option<i64>,
    /// Set when the rate-limit headers said no request is left: how long until the window resets.
    pub rate_limit_reset: Option<Duration>,
}

/// How the tenant matches the entries of a URL list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UrlListType {
    /// Entries are hosts or URLs matched exactly (`"exact"`).
    #[default]
    Exact,
    /// Entries are regular expressions (`"regex"`).
    Regex,
}

impl UrlListType {
    /// The wire value (`exact`, `regex`).
    pub fn as_str(self) -> &'static str {
        match self {
            UrlListType::Exact => "exact",
            UrlListType::Regex => "regex",
        }
    }

    /// Parses the wire value, ignoring case (CE's UI says `Exact`/`Regex`).
    pub fn parse(s: &str) -> Option<UrlListType> {
        if s.eq_ignore_ascii_case("exact") {
            Some(UrlListType::Exact)
        } else if s.eq_ignore_ascii_case("regex") {
            Some(UrlListType::Regex)
        } else {
            None
        }
    }
}

impl fmt::Display for UrlListType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id and name of a URL list, as the cheap listing (`field=id,name`) returns them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlListRef {
    /// Tenant-assigned id.
    pub id: i64,
    /// List name.
    pub name: String,
}

/// A URL list as the tenant reports it. Reads return the *pending* content until a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlList {
    /// Tenant-assigned id.
    pub id: i64,
    /// List name.
    pub name: String,
    /// Entries (`data.urls`).
    pub urls: Vec<String>,
    /// Match type (`data.type`).
    pub list_type: UrlListType,
    /// True while the list has changes not yet applied by a deploy.
    pub pending: bool,
    /// `Created`, `Edited` or `Deleted`, when reported.
    pub modify_type: Option<String>,
    /// Last change time as the tenant formats it, when reported.
    pub modify_time: Option<String>,
    /// Who made the last change, when reported.
    pub modify_by: Option<String>,
}

/// A partial change to a URL list (`PATCH /urllist/{id}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UrlListPatch {
    /// Add the entries.
    Append,
    /// Make the entries the whole content.
    Replace,
    /// Remove the entries.
    Remove,
}

impl UrlListPatch {
    /// The action path segment (`append`, `replace`, `remove`).
    pub fn as_str(self) -> &'static str {
        match self {
            UrlListPatch::Append => "append",
            UrlListPatch::Replace => "replace",
            UrlListPatch::Remove => "remove",
        }
    }
}

impl fmt::Display for UrlListPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters a URL-list name must not contain (the tenant answers 400 otherwise).
pub const URL_LIST_NAME_FORBIDDEN: &[char] = &[
    '<', '>', '/', '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '{', '}', ';', '+', '=', ',',
    '?', '.', '|', ':', '\'', '"',
];

/// Checks a URL-list name before it is first pushed: non-empty after trimming and free of
/// [`URL_LIST_NAME_FORBIDDEN`]. The error is a sentence fit for a user.
pub fn validate_url_list_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the URL list name is empty".to_owned());
    }
    let mut bad: Vec<char> = Vec::new();
    for c in name.chars() {
        if URL_LIST_NAME_FORBIDDEN.contains(&c) && !bad.contains(&c) {
            bad.push(c);
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    let shown: String = bad.iter().map(|c| format!(" {c}")).collect();
    Err(format!(
        "the URL list name {name:?} contains characters the tenant refuses:{shown}"
    ))
}

/// What a file-hash-list replace achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashListOutcome {
    /// The list now holds exactly the hashes sent.
    Updated,
    /// The list already held exactly these hashes; the tenant answered
    /// "Duplicate request, no change in file hashes", which counts as success.
    Unchanged,
}

/// A tenant capability that [`TenantClient::check_access`] can probe without changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessProbe {
    /// Read access to the Data Export alerts endpoint of this type (probed with one read of a
    /// dedicated iterator).
    Alerts(AlertType),
    /// Access to the URL-list endpoint (probed with a read).
    UrlLists,
    /// A v1 token is configured (the v1 hash-list call replaces the list, so it cannot be probed).
    FileHashList,
}

impl AccessProbe {
    /// What CE checks when a tenant is saved: both alert endpoints.
    pub const TENANT: &'static [AccessProbe] = &[
        AccessProbe::Alerts(AlertType::Malware),
        AccessProbe::Alerts(AlertType::Malsite),
    ];
}

/// Errors of the tenant port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantError {
    /// The token was refused (HTTP 401, or the v1 API said the token is invalid).
    #[error("the tenant refused the API token: {message}")]
    Unauthorized {
        /// What the tenant said.
        message: String,
    },
    /// The token is valid but lacks a privilege (HTTP 403).
    #[error("{message}")]
    MissingPrivilege {
        /// The endpoint as it appears in the token's endpoint list, e.g.
        /// `/api/v2/events/dataexport/alerts/malware`.
        endpoint: String,
        /// The privilege to grant, e.g. `Read` or `Read+Write`.
        privilege: String,
        /// A sentence naming the endpoint, the privilege and where to grant it
        /// (Settings > Tools > REST API v2).
        message: String,
    },
    /// The tenant's rate limit was hit and retries did not get through.
    #[error("the tenant rate limit was reached{}", match retry_after {
        Some(d) => format!("; retry after {} s", d.as_secs()),
        None => String::new(),
    })]
    RateLimited {
        /// How long the tenant asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The list would exceed the tenant's size limit; nothing was changed.
    #[error("the list is too large: {message}")]
    ListTooLarge {
        /// Sizes involved, in words.
        message: String,
    },
    /// The tenant refused some entries of a URL-list change and applied none of them.
    #[error("the tenant rejected {} entr{}", rejected.len(), if rejected.len() == 1 { "y" } else { "ies" })]
    EntriesRejected {
        /// `(value, reason)` for each refused entry.
        rejected: Vec<(String, String)>,
    },
    /// The list (or other object) does not exist (HTTP 404, or no list of that name).
    #[error("not found: {message}")]
    NotFound {
        /// What was looked for.
        message: String,
    },
    /// The tenant failed (HTTP 5xx).
    #[error("the tenant answered HTTP {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// What the tenant said.
        message: String,
    },
    /// The tenant refused the request for another reason (other 4xx, an `ok: 0` or
    /// `status: error` answer). `status` is the HTTP status (200 for refusals inside a 200).
    #[error("the tenant refused the request (HTTP {status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// What the tenant said.
        message: String,
    },
    /// The request was not sent because the input or the settings cannot work
    /// (e.g. a forbidden list name, no v1 token for the hash list).
    #[error("{0}")]
    InvalidInput(String),
    /// The tenant could not be reached or the connection broke (DNS, connect, TLS, timeout, reset).
    #[error("cannot reach the tenant: {0}")]
    Transport(String),
    /// The tenant answered something this client does not understand.
    #[error("unexpected answer from the tenant: {0}")]
    InvalidResponse(String),
}

impl TenantError {
    /// Whether trying again later may succeed: rate limits, server errors and transport errors.
    /// Authentication, privilege, validation and not-found errors are final.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            TenantError::RateLimited { .. }
                | TenantError::Server { .. }
                | TenantError::Transport(_)
        )
    }
}

/// The tenant port. One method is one logical tenant call; adapters retry transient failures
/// inside a call, so an error returned here is what remains after their retry policy.
///
/// URL-list changes (create, patch, replace, delete) take effect only after
/// [`TenantClient::deploy_url_lists`]; reads return the pending content before that.
#[async_trait]
pub trait TenantClient: Send + Sync {
    /// Fetches one page of the named Data Export iterator for `alert_type`.
    async fn alerts_page(
        &self,
        alert_type: AlertType,
        iterator: &str,
        op: IteratorOp,
    ) -> Result<AlertPage, TenantError>;

    /// Ids and names of all URL lists.
    async fn url_list_refs(&self) -> Result<Vec<UrlListRef>, TenantError>;

    /// All URL lists with their entries.
    async fn url_lists(&self) -> Result<Vec<UrlList>, TenantError>;

    /// One URL list; `NotFound` if the id is unknown.
    async fn url_list(&self, id: i64) -> Result<UrlList, TenantError>;

    /// Creates a URL list (pending until deploy). A list cannot be created empty on the tenant,
    /// so `urls` should hold at least one entry.
    async fn create_url_list(
        &self,
        name: &str,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError>;

    /// Appends, replaces or removes entries (pending until deploy). `EntriesRejected` means
    /// nothing was applied; the caller may drop the rejected values and try again.
    async fn patch_url_list(
        &self,
        id: i64,
        patch: UrlListPatch,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError>;

    /// Replaces name, entries and type in one call (`PUT`, pending until deploy).
    async fn update_url_list(
        &self,
        id: i64,
        name: &str,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError>;

    /// Deletes a URL list (pending until deploy: the list is still listed until then).
    async fn delete_url_list(&self, id: i64) -> Result<UrlList, TenantError>;

    /// Applies all pending URL-list changes; returns the lists deployed.
    async fn deploy_url_lists(&self) -> Result<Vec<UrlList>, TenantError>;

    /// Replaces the content of the named file-hash list (v1 API; needs the v1 token).
    async fn replace_file_hash_list(
        &self,
        name: &str,
        hashes: &[String],
    ) -> Result<HashListOutcome, TenantError>;

    /// Checks that the configured tokens can do what `probes` name, without changing lists or
    /// the iterators the worker pulls with (alert probes read a page of a dedicated iterator).
    /// The first missing privilege comes back as [`TenantError::MissingPrivilege`] naming it.
    async fn check_access(&self, probes: &[AccessProbe]) -> Result<(), TenantError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iterator_op_renders_as_the_operation_parameter() {
        assert_eq!(IteratorOp::Head.to_string(), "head");
        assert_eq!(IteratorOp::Tail.to_string(), "tail");
        assert_eq!(IteratorOp::Next.to_string(), "next");
        assert_eq!(IteratorOp::Resend.to_string(), "resend");
        assert_eq!(IteratorOp::Epoch(1_700_000_000).to_string(), "1700000000");
    }

    #[test]
    fn alert_reads_known_fields_leniently() {
        let raw = json!({
            "_id": "a1", "alert_type": "Malware", "severity": "High", "timestamp": "1700000000",
            "md5": "", "local_md5": "0123", "sha256": null, "malsite_category": "Phishing",
            "object": 42
        });
        let alert = Alert::from_value(raw.clone());
        assert_eq!(alert.id.as_deref(), Some("a1"));
        assert_eq!(alert.timestamp, Some(1_700_000_000));
        assert_eq!(alert.md5, None);
        assert_eq!(alert.local_md5.as_deref(), Some("0123"));
        assert_eq!(alert.sha256, None);
        assert_eq!(alert.object.as_deref(), Some("42"));
        assert_eq!(alert.malsite_category, vec!["Phishing".to_owned()]);
        assert_eq!(alert.raw, raw);

        let alert = Alert::from_value(json!({"timestamp": 1.7e9, "malsite_category": ["a", "b"]}));
        assert_eq!(alert.timestamp, Some(1_700_000_000));
        assert_eq!(alert.malsite_category, vec!["a".to_owned(), "b".to_owned()]);

        let alert = Alert::from_value(json!("not an object"));
        assert_eq!(alert.id, None);
    }

    #[test]
    fn url_list_names_with_forbidden_characters_are_refused() {
        assert!(validate_url_list_name("ce_iocs-1 block").is_ok());
        assert!(validate_url_list_name("  ").is_err());
        let err = validate_url_list_name("ce.iocs/2").unwrap_err();
        assert!(err.contains(". /"), "{err}");
    }

    #[test]
    fn url_list_type_parses_any_case() {
        assert_eq!(UrlListType::parse("Exact"), Some(UrlListType::Exact));
        assert_eq!(UrlListType::parse("REGEX"), Some(UrlListType::Regex));
        assert_eq!(UrlListType::parse("glob"), None);
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(TenantError::RateLimited { retry_after: None }.is_retryable());
        assert!(TenantError::Transport("reset".into()).is_retryable());
        assert!(TenantError::Server {
            status: 503,
            message: String::new()
        }
        .is_retryable());
        assert!(!TenantError::Unauthorized {
            message: String::new()
        }
        .is_retryable());
        assert!(!TenantError::NotFound {
            message: String::new()
        }
        .is_retryable());
        assert!(!TenantError::EntriesRejected { rejected: vec![] }.is_retryable());
    }

    #[test]
    fn rate_limited_message_names_the_wait() {
        let e = TenantError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            e.to_string(),
            "the tenant rate limit was reached; retry after 3 s"
        );
    }
}
