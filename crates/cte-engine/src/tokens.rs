//! API tokens: creation with secrets from the OS's CSPRNG, login (`client_credentials`) with
//! constant-time comparison and CE's lockout schedule, and bearer-token checks.
//!
//! Secrets are 64 random characters from `[a-z0-9]` (about 330 bits), so a plain SHA-256 of the
//! secret is a safe stored form: there is nothing to brute-force that a slow hash would protect.

use chrono::{DateTime, Duration, Utc};
use cte_core::auth::{lockout_after, AccessGrant, ApiToken, Scope, ACCESS_TOKEN_LIFETIME_MINUTES};
use cte_core::store::Store;
use cte_core::StoreError;
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_string(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Hex SHA-256 of a secret or bearer token: the only form in which they are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A token just created: the record and the secret, which is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The stored record.
    pub token: ApiToken,
    /// The secret.
    pub client_secret: String,
}

/// Creates and stores an API token. `expire_after_minutes`: `None` or a negative value = never.
pub fn create_token(
    store: &dyn Store,
    description: &str,
    scopes: Vec<Scope>,
    expire_after_minutes: Option<i64>,
    now: DateTime<Utc>,
) -> Result<NewToken, StoreError> {
    if scopes.is_empty() {
        return Err(StoreError::Invalid(
            "a token needs at least one scope (cte_read, cte_write, admin)".into(),
        ));
    }
    // A client-chosen lifetime: out-of-range values are refused, not a panic in chrono.
    let expires_at = match expire_after_minutes.filter(|m| *m >= 0) {
        None => None,
        Some(m) => Some(
            Duration::try_minutes(m)
                .and_then(|d| now.checked_add_signed(d))
                .ok_or_else(|| {
                    StoreError::Invalid(format!("expire_after of {m} minutes is out of range"))
                })?,
        ),
    };
    let client_secret = random_string(64);
    let token = ApiToken {
        client_id: random_string(32),
        secret_hash: hash_secret(&client_secret),
        description: description.trim().to_string(),
        scopes,
        created_at: now,
        expires_at,
        failed_attempts: 0,
        locked_until: None,
    };
    store.insert_api_token(&token)?;
    Ok(NewToken {
        token,
        client_secret,
    })
}

/// Why a login or a bearer token was refused. The messages are CE's.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown client id, wrong secret or expired token.
    #[error("Invalid client_id/client_secret provided.")]
    InvalidClient,
    /// Too many failures.
    #[error("This account has been locked due to multiple login failures. Please retry after {}.", cte_core::time::format_datetime(*.0))]
    Locked(DateTime<Utc>),
    /// The login asked for a scope the token does not have.
    #[error("Unauthorized")]
    ScopeNotGranted,
    /// Missing, unknown or expired bearer token.
    #[error("Could not validate credentials.")]
    InvalidBearer,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bearer token just issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The bearer token (shown once; stored as a hash).
    pub access_token: String,
    /// Scopes it carries.
    pub scopes: Vec<Scope>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// `client_credentials` login. `requested`: empty = every scope of the token.
pub fn login(
    store: &dyn Store,
    client_id: &str,
    client_secret: &str,
    requested: &[Scope],
    now: DateTime<Utc>,
) -> Result<IssuedToken, AuthError> {
    let token = store
        .api_token(client_id)?
        .ok_or(AuthError::InvalidClient)?;
    if let Some(until) = token.locked_until.filter(|u| *u > now) {
        return Err(AuthError::Locked(until));
    }
    let given = hash_secret(client_secret);
    let matches: bool = given.as_bytes().ct_eq(token.secret_hash.as_bytes()).into();
    if !matches {
        let failures = token.failed_attempts.saturating_add(1);
        let locked_until = lockout_after(failures).map(|d| now + d);
        store.set_login_failures(client_id, failures, locked_until)?;
        return Err(match locked_until {
            Some(until) => AuthError::Locked(until),
            None => AuthError::InvalidClient,
        });
    }
    if token.is_expired(now) {
        return Err(AuthError::InvalidClient);
    }
    if token.failed_attempts != 0 || token.locked_until.is_some() {
        store.set_login_failures(client_id, 0, None)?;
    }
    let scopes = if requested.is_empty() {
        token.scopes.clone()
    } else if requested.iter().all(|s| token.scopes.contains(s)) {
        requested.to_vec()
    } else {
        return Err(AuthError::ScopeNotGranted);
    };
    let access_token = random_string(64);
    let expires_at = now + Duration::minutes(ACCESS_TOKEN_LIFETIME_MINUTES);
    let expires_at = match token.expires_at {
        Some(t) if t < expires_at => t,
        _ => expires_at,
    };
    store.insert_access_grant(
        &AccessGrant {
            token_hash: hash_secret(&access_token),
            client_id: client_id.to_string(),
            scopes: scopes.clone(),
            expires_at,
        },
        now,
    )?;
    Ok(IssuedToken {
        access_token,
        scopes,
        expires_at,
    })
}

/// Checks a bearer token and returns its grant.
pub fn authorize(
    store: &dyn Store,
    bearer: &str,
    now: DateTime<Utc>,
) -> Result<AccessGrant, AuthError> {
    let grant = store
        .access_grant(&hash_secret(bearer))?
        .ok_or(AuthError::InvalidBearer)?;
    if grant.expires_at <= now {
        return Err(AuthError::InvalidBearer);
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use cte_store_sqlite::SqliteStore;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn login_locks_after_five_failures_and_honours_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).unwrap();
        let new = create_token(&store, "feed", vec![Scope::CteRead], Some(60), t0()).unwrap();
        let id = new.token.client_id.clone();
        assert_eq!(id.len(), 32);
        assert_eq!(new.client_secret.len(), 64);
        assert_ne!(new.token.secret_hash, new.client_secret);

        let ok = login(&store, &id, &new.client_secret, &[], t0()).unwrap();
        assert_eq!(ok.scopes, vec![Scope::CteRead]);
        assert_eq!(
            ok.expires_at,
            t0() + Duration::minutes(60),
            "capped by the token's expiry"
        );
        assert!(authorize(&store, &ok.access_token, t0()).is_ok());
        assert!(matches!(
            authorize(&store, &ok.access_token, t0() + Duration::minutes(61)),
            Err(AuthError::InvalidBearer)
        ));
        assert!(matches!(
            login(&store, &id, &new.client_secret, &[Scope::CteWrite], t0()),
            Err(AuthError::ScopeNotGranted)
        ));

        for _ in 0..4 {
            assert!(matches!(
                login(&store, &id, "wrong", &[], t0()),
                Err(AuthError::InvalidClient)
            ));
        }
        assert!(matches!(
            login(&store, &id, "wrong", &[], t0()),
            Err(AuthError::Locked(_))
        ));
        // Even the right secret is refused while locked.
        assert!(matches!(
            login(
                &store,
                &id,
                &new.client_secret,
                &[],
                t0() + Duration::minutes(1)
            ),
            Err(AuthError::Locked(_))
        ));
        assert!(login(
            &store,
            &id,
            &new.client_secret,
            &[],
            t0() + Duration::minutes(3)
        )
        .is_ok());
        assert!(matches!(
            login(
                &store,
                &id,
                &new.client_secret,
                &[],
                t0() + Duration::minutes(60)
            ),
            Err(AuthError::InvalidClient)
        ));
    }
}
