//! Transient failures: 5xx, 429 with Retry-After, rate-limit headers, dropped connections and
//! timeouts are retried within the policy's count and time bounds.

use std::time::{Duration, Instant};

use cte_core::tenant::{AlertType, IteratorOp, TenantClient, TenantError};
use cte_netskope::RetryPolicy;
use netskope_sim::{Fault, SimConfig};

use crate::support::{start, start_default};

const LISTS: &str = "/api/v2/policy/urllist";

fn statuses(fx: &crate::support::Fixture) -> Vec<u16> {
    fx.requests().iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let fx = start_default().await;
    fx.sim.inject_fault(Fault::fail(503, 2, Some(LISTS)));
    fx.sim.inject_fault(Fault::fail(500, 1, Some(LISTS)));
    fx.client.url_list_refs().await.unwrap();
    assert_eq!(statuses(&fx), vec![503, 503, 500, 200]);
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let fx = start_default().await;
    fx.sim.inject_fault(Fault::fail(502, 100, Some(LISTS)));
    let err = fx.client.url_list_refs().await.unwrap_err();
    assert!(
        matches!(err, TenantError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(statuses(&fx), vec![502; 5], "1 try + 4 retries");
}

#[tokio::test]
async fn retries_stop_at_max_elapsed() {
    let fx = start_default().await;
    fx.sim.inject_fault(Fault::fail(503, 1000, Some(LISTS)));
    let client = fx.client_with(|s| {
        s.retry = RetryPolicy {
            max_retries: 1000,
            base_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(40),
            max_elapsed: Duration::from_millis(300),
        }
    });
    let started = Instant::now();
    let err = client.url_list_refs().await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let n = fx.requests().len();
    assert!((2..=9).contains(&n), "{n} requests");
}

/// Makes a fresh client (which has not seen the rate-limit headers) meet a used-up window:
/// another client spends the one request of the second first. Only the fresh client's
/// requests stay in the log. The simulator's windows are
/// whole seconds, so if the window turned over in between, the scenario is tried again.
async fn meet_a_used_up_window(
    fx: &crate::support::Fixture,
    edit: impl Fn(&mut cte_netskope::TenantSettings),
) -> (
    Result<Vec<cte_core::tenant::UrlListRef>, TenantError>,
    Duration,
) {
    for _ in 0..5 {
        let spender = fx.client_with(|_| {});
        let fresh = fx.client_with(&edit);
        spender.url_list_refs().await.unwrap();
        fx.sim.state().clear_requests();
        let started = Instant::now();
        let result = fresh.url_list_refs().await;
        if statuses(fx).contains(&429) {
            return (result, started.elapsed());
        }
    }
    panic!("never met a used-up rate-limit window");
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after_then_succeeds() {
    let fx = start(SimConfig {
        rate_limit_rps: Some(1),
        ..SimConfig::default()
    })
    .await;
    let (result, waited) = meet_a_used_up_window(&fx, |_| {}).await;
    result.unwrap();
    assert_eq!(statuses(&fx), vec![429, 200]);
    // The backoff alone would be 10 ms; Retry-After says 1 s.
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn too_many_requests_gives_up_when_the_wait_exceeds_the_budget() {
    let fx = start(SimConfig {
        rate_limit_rps: Some(1),
        ..SimConfig::default()
    })
    .await;
    let (result, _) =
        meet_a_used_up_window(&fx, |s| s.retry.max_elapsed = Duration::from_millis(200)).await;
    assert_eq!(
        result.unwrap_err(),
        TenantError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert_eq!(statuses(&fx), vec![429]);
}

/// Issue 23, item 5: the tenant's 429 carries `Retry-After`, `ratelimit-remaining: 0` and
/// `ratelimit-reset`; the simulator's injected 429s now do too, and the client waits what they
/// say (once, not once per header) instead of its own 10 ms backoff.
#[tokio::test]
async fn injected_429_waits_retry_after_then_succeeds() {
    let fx = start_default().await;
    fx.sim.inject_fault(Fault::rate_limited(1, 2, Some(LISTS)));
    let started = Instant::now();
    fx.client.url_list_refs().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(statuses(&fx), vec![429, 200]);
    assert!(
        (Duration::from_secs(2)..Duration::from_millis(3500)).contains(&waited),
        "{waited:?}"
    );
}

#[tokio::test]
async fn injected_429_on_the_iterator_is_waited_out() {
    let fx = start_default().await;
    fx.sim
        .inject_fault(Fault::rate_limited(1, 1, Some("/api/v2/events/dataexport")));
    let started = Instant::now();
    let page = fx
        .client
        .alerts_page(AlertType::Malware, "ce_429", IteratorOp::Head)
        .await
        .unwrap();
    assert!(!page.alerts.is_empty());
    assert_eq!(statuses(&fx), vec![429, 200]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A 429 asking for longer than the retry budget fails at once with the tenant's wait, and its
/// `ratelimit-remaining: 0` still holds the next request back (for at most the budget).
#[tokio::test]
async fn injected_429_over_the_budget_fails_at_once_and_holds_back_the_next_request() {
    let fx = start_default().await;
    let client = fx.client_with(|s| s.retry.max_elapsed = Duration::from_secs(1));
    fx.sim.inject_fault(Fault::rate_limited(1, 30, Some(LISTS)));
    let started = Instant::now();
    let err = client.url_list_refs().await.unwrap_err();
    assert_eq!(
        err,
        TenantError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(statuses(&fx), vec![429]);
    let started = Instant::now();
    client.url_list_refs().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(statuses(&fx), vec![429, 200]);
}

#[tokio::test]
async fn exhausted_window_delays_the_next_request_instead_of_hitting_429() {
    let fx = start(SimConfig {
        rate_limit_rps: Some(2),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..5 {
        fx.client.url_list_refs().await.unwrap();
    }
    assert_eq!(
        statuses(&fx),
        vec![200; 5],
        "ratelimit-remaining: 0 makes the client wait"
    );
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let fx = start_default().await;
    fx.sim.inject_fault(Fault::drop_connection(2, Some(LISTS)));
    fx.client.url_list_refs().await.unwrap();
    assert_eq!(fx.requests().len(), 3);

    fx.sim.state().clear_requests();
    fx.sim
        .inject_fault(Fault::drop_connection(100, Some(LISTS)));
    let client = fx.client_with(|s| s.retry.max_retries = 2);
    let err = client.url_list_refs().await.unwrap_err();
    assert!(matches!(err, TenantError::Transport(_)), "{err:?}");
    assert_eq!(fx.requests().len(), 3);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let fx = start_default().await;
    fx.sim
        .inject_fault(Fault::latency(Duration::from_secs(3), Some(1), Some(LISTS)));
    let client = fx.client_with(|s| s.timeouts.request = Duration::from_millis(300));
    let started = Instant::now();
    client.url_list_refs().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    fx.sim
        .inject_fault(Fault::latency(Duration::from_secs(3), None, Some(LISTS)));
    let client = fx.client_with(|s| {
        s.timeouts.request = Duration::from_millis(200);
        s.retry.max_retries = 1;
    });
    let err = client.url_list_refs().await.unwrap_err();
    let TenantError::Transport(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("timed out"), "{message}");
    fx.sim.clear_faults();
}

#[tokio::test]
async fn unreachable_tenant_is_a_transport_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fx = start_default().await;
    let client = fx.client_with(|s| {
        s.base_url = format!("http://127.0.0.1:{port}").parse().unwrap();
        s.retry.max_retries = 1;
    });
    let err = client.url_list_refs().await.unwrap_err();
    assert!(
        matches!(err, TenantError::Transport(ref m) if m.contains("connect")),
        "{err:?}"
    );
}
