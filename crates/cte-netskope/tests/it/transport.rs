//! TLS validation and proxies.

use cte_core::tenant::{TenantClient, TenantError};
use cte_netskope::{NetskopeClient, SettingsError};
use netskope_sim::SimConfig;

use crate::support::{settings, start, start_default, TOKEN};

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn tls_is_validated_unless_disabled_or_the_ca_is_given() {
    let fx = start(SimConfig {
        tls: true,
        ..SimConfig::default()
    })
    .await;
    let https = fx.sim.tls_base_url.clone().unwrap();

    let mut strict = settings(&https, TOKEN);
    strict.retry.max_retries = 0;
    let err = NetskopeClient::new(strict.clone())
        .unwrap()
        .url_list_refs()
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::Transport(_)), "{err:?}");

    let mut trusting = strict.clone();
    trusting.extra_ca_pem = fx.sim.cert_pem.clone();
    NetskopeClient::new(trusting)
        .unwrap()
        .url_list_refs()
        .await
        .unwrap();

    let mut lax = strict.clone();
    lax.ssl_validation = false;
    NetskopeClient::new(lax)
        .unwrap()
        .url_list_refs()
        .await
        .unwrap();
    assert!(fx.requests().iter().all(|r| r.tls));

    let mut bad = strict;
    bad.extra_ca_pem = Some("not a certificate".to_owned());
    assert!(matches!(
        NetskopeClient::new(bad),
        Err(SettingsError::InvalidCertificate(_))
    ));
}

#[tokio::test]
async fn an_explicit_proxy_carries_every_request() {
    let fx = start_default().await;
    // The tenant address is dead; only the proxy (here the simulator itself) answers.
    let client = fx.client_with(|s| {
        s.base_url = format!("http://127.0.0.1:{}", closed_port())
            .parse()
            .unwrap();
        s.proxy = Some(fx.sim.base_url.clone());
    });
    client.url_list_refs().await.unwrap();
    assert_eq!(fx.requests().len(), 1);

    let mut s = settings(&fx.sim.base_url, TOKEN);
    s.proxy = Some("::not a url::".to_owned());
    assert!(matches!(
        NetskopeClient::new(s),
        Err(SettingsError::InvalidProxy(_))
    ));
}
