//! Final errors: 401, 403 with the privilege to grant, 400 and 404 never retried, access checks.

use cte_core::tenant::{
    AccessProbe, AlertType, IteratorOp, TenantClient, TenantError, UrlListType,
};
use netskope_sim::{Privilege, SimConfig, SimToken};

use crate::support::{start, start_default, strings};

#[tokio::test]
async fn wrong_token_is_unauthorized_and_not_retried() {
    let fx = start_default().await;
    let client = fx.client_with(|s| s.v2_token = "wrong-token".into());
    let err = client.url_list_refs().await.unwrap_err();
    assert!(matches!(err, TenantError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        fx.request_summary(),
        vec![("GET".into(), "/api/v2/policy/urllist".into(), 401)]
    );
    // The token is sent in the header the tenant expects, never in the URL.
    assert!(fx.requests().iter().all(|r| !r
        .query
        .clone()
        .unwrap_or_default()
        .contains("wrong-token")));
}

fn limited_tenant() -> SimConfig {
    SimConfig {
        tokens: vec![
            SimToken::full("test-token"),
            // Can manage URL lists but not read alerts.
            SimToken::with(
                "lists-only",
                &[("/api/v2/policy/urllist", Privilege::ReadWrite)],
            ),
            // Can read URL lists only.
            SimToken::with("lists-read", &[("/api/v2/policy/urllist", Privilege::Read)]),
            // Can read alerts only.
            SimToken::with(
                "alerts-only",
                &[("/api/v2/events/dataexport", Privilege::Read)],
            ),
        ],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn forbidden_names_the_endpoint_and_privilege_to_grant() {
    let fx = start(limited_tenant()).await;
    let client = fx.client_with(|s| s.v2_token = "lists-only".into());
    let err = client
        .alerts_page(AlertType::Malware, "it", IteratorOp::Head)
        .await
        .unwrap_err();
    let TenantError::MissingPrivilege {
        endpoint,
        privilege,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(endpoint, "/api/v2/events/dataexport/alerts/malware");
    assert_eq!(privilege, "Read");
    assert!(
        message.contains("Settings > Tools > REST API v2"),
        "{message}"
    );
    assert!(
        message.contains("/api/v2/events/dataexport/alerts/malware"),
        "{message}"
    );
    assert_eq!(fx.requests().len(), 1, "403 must not be retried");

    let client = fx.client_with(|s| s.v2_token = "lists-read".into());
    assert!(client.url_list_refs().await.is_ok());
    let err = client
        .create_url_list("ce_x", &strings(&["a.example"]), UrlListType::Exact)
        .await
        .unwrap_err();
    let TenantError::MissingPrivilege {
        endpoint,
        privilege,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (endpoint.as_str(), privilege.as_str()),
        ("/api/v2/policy/urllist", "Read+Write")
    );
    let err = client.deploy_url_lists().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Read+Write privilege on /api/v2/policy/urllist/deploy"),
        "{err}"
    );
}

#[tokio::test]
async fn check_access_probes_without_changing_lists() {
    let fx = start(limited_tenant()).await;
    fx.client.check_access(AccessProbe::TENANT).await.unwrap();
    fx.client
        .check_access(&[AccessProbe::UrlLists, AccessProbe::FileHashList])
        .await
        .unwrap();

    let alerts_only = fx.client_with(|s| s.v2_token = "alerts-only".into());
    alerts_only.check_access(AccessProbe::TENANT).await.unwrap();
    let err = alerts_only
        .check_access(&[AccessProbe::UrlLists])
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::MissingPrivilege { ref endpoint, .. } if endpoint == "/api/v2/policy/urllist"),
        "{err:?}"
    );

    let lists_only = fx.client_with(|s| s.v2_token = "lists-only".into());
    let err = lists_only
        .check_access(AccessProbe::TENANT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::MissingPrivilege { ref endpoint, .. } if endpoint.ends_with("/malware")),
        "{err:?}"
    );

    let no_v1 = fx.client_with(|s| s.v1_token = None);
    let err = no_v1
        .check_access(&[AccessProbe::FileHashList])
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::InvalidInput(_)), "{err:?}");

    assert!(
        fx.requests().iter().all(|r| r.method == "GET"),
        "probes only read"
    );
    assert!(fx.sim.state().url_lists().is_empty());
}

#[tokio::test]
async fn bad_request_and_not_found_are_never_retried() {
    let fx = start_default().await;
    // The tenant refuses an empty list.
    let err = fx
        .client
        .create_url_list("ce_empty", &[], UrlListType::Exact)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(fx.requests().len(), 1);

    fx.sim.state().clear_requests();
    let err = fx.client.url_list(424242).await.unwrap_err();
    assert!(matches!(err, TenantError::NotFound { .. }), "{err:?}");
    assert_eq!(
        fx.request_summary(),
        vec![("GET".into(), "/api/v2/policy/urllist/424242".into(), 404)]
    );
}

#[tokio::test]
async fn injected_400_is_not_retried() {
    let fx = start_default().await;
    fx.sim.inject_fault(netskope_sim::Fault::fail(
        400,
        3,
        Some("/api/v2/policy/urllist"),
    ));
    let err = fx.client.url_list_refs().await.unwrap_err();
    assert!(
        matches!(err, TenantError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(fx.requests().len(), 1);
}
