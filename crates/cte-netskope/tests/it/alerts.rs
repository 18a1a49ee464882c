//! The Data Export iterator: head, next, resend, tail and epoch positioning, page fields.

use cte_core::tenant::{AlertType, IteratorOp, TenantClient};
use netskope_sim::{generate_alerts, AlertSpec, SimConfig};
use serde_json::Value;

use crate::support::start;

fn config() -> SimConfig {
    SimConfig {
        alerts: AlertSpec {
            seed: 7,
            malware_count: 25,
            malsite_count: 5,
            ..AlertSpec::default()
        },
        page_size: 10,
        wait_time: 3,
        ..SimConfig::default()
    }
}

fn ids(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v["_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn iterator_pages_through_head_next_resend() {
    let config = config();
    let (malware, _) = generate_alerts(&config.alerts);
    let fx = start(config).await;
    let c = &fx.client;
    let page_ids = |page: &cte_core::tenant::AlertPage| -> Vec<String> {
        page.alerts.iter().map(|a| a.id.clone().unwrap()).collect()
    };

    let head = c
        .alerts_page(AlertType::Malware, "ce_mw", IteratorOp::Head)
        .await
        .unwrap();
    assert_eq!(page_ids(&head), ids(&malware[0..10]));
    assert_eq!(head.wait_time, Some(0));
    assert_eq!(head.timestamp_hwm, malware[9]["timestamp"].as_i64());
    assert_eq!(head.alerts[0].raw, malware[0]);

    let next = c
        .alerts_page(AlertType::Malware, "ce_mw", IteratorOp::Next)
        .await
        .unwrap();
    assert_eq!(page_ids(&next), ids(&malware[10..20]));
    let again = c
        .alerts_page(AlertType::Malware, "ce_mw", IteratorOp::Resend)
        .await
        .unwrap();
    assert_eq!(page_ids(&again), page_ids(&next));

    let last = c
        .alerts_page(AlertType::Malware, "ce_mw", IteratorOp::Next)
        .await
        .unwrap();
    assert_eq!(page_ids(&last), ids(&malware[20..25]));
    assert_eq!(
        last.wait_time,
        Some(3),
        "caught up: the tenant asks to wait"
    );
    let empty = c
        .alerts_page(AlertType::Malware, "ce_mw", IteratorOp::Next)
        .await
        .unwrap();
    assert!(empty.alerts.is_empty());
    assert!(empty.timestamp_hwm.unwrap() >= malware[24]["timestamp"].as_i64().unwrap());

    // Malware alerts carry hashes the way CE reads them.
    let alert = &head.alerts[0];
    assert_eq!(
        alert
            .alert_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("malware")
    );
    assert!(alert.md5.is_some() || alert.local_md5.is_some());
    assert!(alert.timestamp.is_some());

    // Iterators are independent by name, and one that was never positioned has nothing to send
    // until it is: the client must position (head, tail or an epoch) before paging with next.
    let other = c
        .alerts_page(AlertType::Malware, "ce_other", IteratorOp::Next)
        .await
        .unwrap();
    assert!(other.alerts.is_empty(), "{:?}", page_ids(&other));
    assert_eq!(other.wait_time, Some(3));
    let other = c
        .alerts_page(AlertType::Malware, "ce_other", IteratorOp::Head)
        .await
        .unwrap();
    assert_eq!(page_ids(&other), ids(&malware[0..10]));
}

#[tokio::test]
async fn epoch_and_tail_position_the_iterator() {
    let config = config();
    let (malware, malsite) = generate_alerts(&config.alerts);
    let fx = start(config).await;
    let c = &fx.client;

    let epoch = malware[15]["timestamp"].as_i64().unwrap();
    let from = malware.partition_point(|a| a["timestamp"].as_i64().unwrap() < epoch);
    let page = c
        .alerts_page(AlertType::Malware, "ce_epoch", IteratorOp::Epoch(epoch))
        .await
        .unwrap();
    let got: Vec<String> = page.alerts.iter().map(|a| a.id.clone().unwrap()).collect();
    assert_eq!(got, ids(&malware[from..(from + 10).min(malware.len())]));

    // tail answers the newest page and leaves the iterator after it.
    let tail = c
        .alerts_page(AlertType::Malware, "ce_tail", IteratorOp::Tail)
        .await
        .unwrap();
    let got: Vec<String> = tail.alerts.iter().map(|a| a.id.clone().unwrap()).collect();
    assert_eq!(got, ids(&malware[15..25]));
    let after = c
        .alerts_page(AlertType::Malware, "ce_tail", IteratorOp::Next)
        .await
        .unwrap();
    assert!(after.alerts.is_empty(), "nothing after the newest page");

    let sites = c
        .alerts_page(AlertType::Malsite, "ce_sites", IteratorOp::Head)
        .await
        .unwrap();
    assert_eq!(sites.alerts.len(), malsite.len());
    assert!(sites.alerts.iter().all(|a| a.url.is_some()));

    let queries: Vec<String> = fx.requests().into_iter().filter_map(|r| r.query).collect();
    assert!(
        queries.contains(&format!("index=ce_epoch&operation={epoch}")),
        "{queries:?}"
    );
}

#[tokio::test]
async fn exhausted_rate_limit_is_reported_on_the_page() {
    let mut config = config();
    config.rate_limit_rps = Some(1);
    let fx = start(config).await;
    let page = fx
        .client
        .alerts_page(AlertType::Malware, "ce_rl", IteratorOp::Head)
        .await
        .unwrap();
    assert_eq!(
        page.rate_limit_reset,
        Some(std::time::Duration::from_secs(1))
    );
}
