//! Environment proxies are used only with `use_system_proxy`. A test binary of its own, because
//! it sets process-wide environment variables.

use cte_core::tenant::{TenantClient, TenantError};
use cte_netskope::{NetskopeClient, Secret, TenantSettings};
use netskope_sim::SimConfig;

#[tokio::test]
async fn environment_proxies_are_used_only_when_asked() {
    let sim = netskope_sim::spawn(SimConfig::default()).await.unwrap();
    for name in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(name, &sim.base_url);
    }
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(name);
    }
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = TenantSettings::new(
        &format!("http://127.0.0.1:{dead_port}"),
        Secret::new("test-token"),
    )
    .unwrap();
    settings.retry.max_retries = 0;

    let direct = NetskopeClient::new(settings.clone()).unwrap();
    let err = direct.url_list_refs().await.unwrap_err();
    assert!(matches!(err, TenantError::Transport(_)), "{err:?}");
    assert!(sim.state().requests().is_empty(), "the env proxy was used");

    settings.use_system_proxy = true;
    let proxied = NetskopeClient::new(settings).unwrap();
    proxied.url_list_refs().await.unwrap();
    assert_eq!(sim.state().requests().len(), 1);
}
