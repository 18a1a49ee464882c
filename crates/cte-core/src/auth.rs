//! API tokens (client id + secret), access tokens and scopes; the lockout policy after repeated
//! failures. Secrets are generated and hashed at the edge; this module only holds the records and rules.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// A permission an access token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// Read IoCs, tags, configurations, rules.
    CteRead,
    /// Write them.
    CteWrite,
    /// Manage API tokens and settings.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::CteRead, Scope::CteWrite, Scope::Admin];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CteRead => "cte_read",
            Scope::CteWrite => "cte_write",
            Scope::Admin => "admin",
        }
    }

    /// Parses a comma- or space-separated list of scopes; duplicates are dropped.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let mut out: Vec<Scope> = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let scope: Scope = part.parse()?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        out.sort();
        Ok(out)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown scope '{s}' (expected cte_read, cte_write or admin)"))
    }
}

/// A stored API token. The secret is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Public identifier (32 characters `[a-z0-9]`).
    pub client_id: String,
    /// Hash of the secret (hex SHA-256).
    pub secret_hash: String,
    /// What the token is for.
    pub description: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; `None` = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Consecutive failed logins.
    pub failed_attempts: u32,
    /// Locked until then after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// True once `expires_at` has passed.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// A bearer access token issued by `POST /api/auth`. The token itself is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// Hash of the bearer token (hex SHA-256).
    pub token_hash: String,
    /// The API token it was issued to.
    pub client_id: String,
    /// Scopes granted.
    pub scopes: Vec<Scope>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// How long an access token is valid (CE: 120 minutes).
pub const ACCESS_TOKEN_LIFETIME_MINUTES: i64 = 120;

/// CE's lockout schedule: after 5 consecutive failures 2 minutes, after 10 five minutes, then six
/// hours at every further 5th failure. Returns how long to lock after `failures` failures, if at all.
pub fn lockout_after(failures: u32) -> Option<Duration> {
    match failures {
        5 => Some(Duration::minutes(2)),
        10 => Some(Duration::minutes(5)),
        n if n > 10 && n % 5 == 0 => Some(Duration::hours(6)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_schedule_follows_ce() {
        assert_eq!(lockout_after(4), None);
        assert_eq!(lockout_after(5), Some(Duration::minutes(2)));
        assert_eq!(lockout_after(6), None);
        assert_eq!(lockout_after(10), Some(Duration::minutes(5)));
        assert_eq!(lockout_after(15), Some(Duration::hours(6)));
        assert_eq!(lockout_after(16), None);
    }

    #[test]
    fn scope_lists_parse() {
        assert_eq!(
            Scope::parse_list("cte_write,cte_read cte_read").unwrap(),
            vec![Scope::CteRead, Scope::CteWrite]
        );
        assert!(Scope::parse_list("cte_read,root").is_err());
    }
}
