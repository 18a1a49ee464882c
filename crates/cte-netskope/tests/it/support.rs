//! Shared fixtures: a simulator on 127.0.0.1:0 and a client with fast retries pointed at it.

use std::time::Duration;

use cte_netskope::{NetskopeClient, RetryPolicy, Secret, TenantSettings, Timeouts};
use netskope_sim::{RequestRecord, SimConfig, SimHandle};

/// The full-privilege v2 token of `SimConfig::default()`.
pub const TOKEN: &str = "test-token";
/// The v1 token of `SimConfig::default()`.
pub const V1_TOKEN: &str = "test-v1-token";

/// Retries fast enough for tests: 4 retries, 10 ms doubling to 80 ms, 5 s in all.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
        max_elapsed: Duration::from_secs(5),
    }
}

/// Settings for `base_url` with the given v2 token, the default v1 token and fast retries.
pub fn settings(base_url: &str, token: &str) -> TenantSettings {
    let mut settings = TenantSettings::new(base_url, Secret::new(token)).unwrap();
    settings.v1_token = Some(Secret::new(V1_TOKEN));
    settings.retry = fast_retry();
    settings.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    settings
}

pub struct Fixture {
    pub sim: SimHandle,
    pub client: NetskopeClient,
}

impl Fixture {
    /// The requests the simulator received, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.sim.state().requests()
    }

    /// `(method, path, status)` of each request received.
    pub fn request_summary(&self) -> Vec<(String, String, u16)> {
        self.requests()
            .into_iter()
            .map(|r| (r.method, r.path, r.status))
            .collect()
    }

    /// A second client on the same simulator with other settings.
    pub fn client_with(&self, edit: impl FnOnce(&mut TenantSettings)) -> NetskopeClient {
        let mut s = settings(&self.sim.base_url, TOKEN);
        edit(&mut s);
        NetskopeClient::new(s).unwrap()
    }
}

/// A simulator with `config` and a full-privilege client.
pub async fn start(config: SimConfig) -> Fixture {
    let sim = netskope_sim::spawn(config).await.unwrap();
    let client = NetskopeClient::new(settings(&sim.base_url, TOKEN)).unwrap();
    Fixture { sim, client }
}

/// A default simulator and client.
pub async fn start_default() -> Fixture {
    start(SimConfig::default()).await
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
