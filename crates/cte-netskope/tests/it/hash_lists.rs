//! The v1 file hash list: replace, the duplicate answer, token and name errors, exact bytes.

use cte_core::tenant::{HashListOutcome, TenantClient, TenantError};
use cte_netskope::{hash_list_body, Secret};
use netskope_sim::SimConfig;

use crate::support::{start, strings, V1_TOKEN};

const MD5_A: &str = "0123456789abcdef0123456789abcdef";
const MD5_B: &str = "fedcba9876543210fedcba9876543210";
const SHA_C: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn with_hash_list() -> SimConfig {
    SimConfig {
        hash_lists: vec!["ce_hashes".to_owned()],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn replace_then_duplicate_is_unchanged() {
    let fx = start(with_hash_list()).await;
    let hashes = strings(&[MD5_A, SHA_C]);
    let outcome = fx
        .client
        .replace_file_hash_list("ce_hashes", &hashes)
        .await
        .unwrap();
    assert_eq!(outcome, HashListOutcome::Updated);
    assert_eq!(fx.sim.state().hash_list("ce_hashes"), Some(hashes.clone()));

    let outcome = fx
        .client
        .replace_file_hash_list("ce_hashes", &hashes)
        .await
        .unwrap();
    assert_eq!(outcome, HashListOutcome::Unchanged);

    // Replace semantics: the new content is exactly what was sent.
    let outcome = fx
        .client
        .replace_file_hash_list("ce_hashes", &strings(&[MD5_B]))
        .await
        .unwrap();
    assert_eq!(outcome, HashListOutcome::Updated);
    assert_eq!(
        fx.sim.state().hash_list("ce_hashes"),
        Some(strings(&[MD5_B]))
    );

    // The v1 call carries its token in the body, not in the v2 header, and the body is the
    // preview function's bytes.
    let requests = fx.requests();
    assert!(requests
        .iter()
        .all(|r| r.path == "/api/v1/updateFileHashList"));
    assert_eq!(
        requests[0].body.as_deref().unwrap().as_bytes(),
        hash_list_body("ce_hashes", &hashes, &Secret::new(V1_TOKEN)).as_slice()
    );
}

#[tokio::test]
async fn v1_errors_are_typed() {
    let fx = start(with_hash_list()).await;
    let hashes = strings(&[MD5_A]);

    let err = fx
        .client
        .replace_file_hash_list("no_such_list", &hashes)
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::NotFound { .. }), "{err:?}");

    let bad_token = fx.client_with(|s| s.v1_token = Some(Secret::new("wrong")));
    let err = bad_token
        .replace_file_hash_list("ce_hashes", &hashes)
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::Unauthorized { .. }), "{err:?}");

    let err = fx
        .client
        .replace_file_hash_list("ce_hashes", &strings(&["not-a-hash"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::Rejected { status: 200, .. }),
        "{err:?}"
    );
    // None of those is retried.
    assert_eq!(fx.requests().len(), 3);

    let no_token = fx.client_with(|s| s.v1_token = None);
    let err = no_token
        .replace_file_hash_list("ce_hashes", &hashes)
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::InvalidInput(_)), "{err:?}");
    assert_eq!(fx.requests().len(), 3, "nothing sent without a v1 token");
}

#[tokio::test]
async fn oversized_hash_list_fails_before_sending() {
    let fx = start(with_hash_list()).await;
    let small = fx.client_with(|s| s.limits.hash_list_bytes = 40);
    let err = small
        .replace_file_hash_list("ce_hashes", &strings(&[MD5_A, MD5_B]))
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::ListTooLarge { .. }), "{err:?}");
    assert!(fx.requests().is_empty());
}
