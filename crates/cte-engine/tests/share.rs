//! Pushing lists to the simulated tenant: create, append, replace, placeholder, rejected entries,
//! zero calls when nothing changed, hash lists.

use cte_core::tenant::UrlListType;
use cte_engine::share::{push_hash_list, push_url_list, HashPush, UrlListTarget};
use cte_netskope::{NetskopeClient, RetryPolicy, Secret, TenantSettings};
use netskope_sim::{SimConfig, SimHandle};

async fn sim() -> (SimHandle, NetskopeClient) {
    let sim = netskope_sim::spawn(SimConfig {
        hash_lists: vec!["ce-hashes".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut settings = TenantSettings::new(&sim.base_url, Secret::new("test-token")).unwrap();
    settings.v1_token = Some(Secret::new("test-v1-token"));
    settings.retry = RetryPolicy::none();
    let client = NetskopeClient::new(settings).unwrap();
    (sim, client)
}

fn target() -> UrlListTarget {
    UrlListTarget {
        list: "ce-iocs".into(),
        list_type: UrlListType::Exact,
        placeholder: "cedefaultpush.io".into(),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn writes(sim: &SimHandle) -> usize {
    sim.state()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

#[tokio::test]
async fn url_list_is_created_then_changed_minimally_and_always_deployed() {
    let (sim, client) = sim().await;
    let t = target();

    // Nothing to share yet: the list is created with the placeholder.
    let p = push_url_list(&client, &t, &[], None).await.unwrap();
    assert!(p.deployed);
    assert_eq!(
        sim.state().deployed_urls("ce-iocs").unwrap(),
        s(&["cedefaultpush.io"])
    );

    // Real entries replace the placeholder.
    let ack = p.content;
    let p = push_url_list(&client, &t, &s(&["a.example", "b.example"]), Some(&ack))
        .await
        .unwrap();
    assert_eq!(
        sorted(sim.state().deployed_urls("ce-iocs").unwrap()),
        s(&["a.example", "b.example"])
    );

    // Only a new entry: appended.
    sim.state().clear_requests();
    let ack = p.content;
    let p = push_url_list(
        &client,
        &t,
        &s(&["c.example", "a.example", "b.example"]),
        Some(&ack),
    )
    .await
    .unwrap();
    let bodies: Vec<String> = sim
        .state()
        .requests()
        .iter()
        .filter_map(|r| r.body.clone())
        .collect();
    assert!(sim
        .state()
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/append")));
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("c.example") && !b.contains("a.example")),
        "{bodies:?}"
    );
    assert_eq!(sim.state().deployed_urls("ce-iocs").unwrap().len(), 3);

    // Nothing changed: zero tenant calls.
    sim.state().clear_requests();
    let ack = p.content;
    let p = push_url_list(
        &client,
        &t,
        &s(&["a.example", "b.example", "c.example"]),
        Some(&ack),
    )
    .await
    .unwrap();
    assert_eq!((p.calls, sim.state().requests().len()), (0, 0));

    // An entry leaves: replace with the remainder.
    let ack = p.content;
    push_url_list(&client, &t, &s(&["a.example"]), Some(&ack))
        .await
        .unwrap();
    assert_eq!(
        sim.state().deployed_urls("ce-iocs").unwrap(),
        s(&["a.example"])
    );
    assert!(writes(&sim) > 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn rejected_entries_are_dropped_reported_and_the_push_retried_once() {
    let (sim, client) = sim().await;
    let t = target();
    let wanted = s(&["good.example", "2001:db8::1", "also.example"]);
    let p = push_url_list(&client, &t, &wanted, None).await.unwrap();
    assert_eq!(p.rejected.len(), 1, "{:?}", p.rejected);
    assert_eq!(p.rejected[0].0, "2001:db8::1");
    assert!(!p.rejected[0].1.is_empty());
    assert_eq!(p.content, s(&["good.example", "also.example"]));
    assert_eq!(
        sorted(sim.state().deployed_urls("ce-iocs").unwrap()),
        s(&["also.example", "good.example"])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn hash_list_is_replaced_and_skipped_when_identical() {
    let (sim, client) = sim().await;
    let h1 = "0123456789abcdef0123456789abcdef".to_string();
    let h2 = "f".repeat(64);
    let got = push_hash_list(&client, "ce-hashes", &[h1.clone(), h2.clone()], None)
        .await
        .unwrap();
    assert_eq!(got, HashPush::Updated);
    assert_eq!(sim.state().hash_list("ce-hashes").unwrap().len(), 2);
    sim.state().clear_requests();
    let ack = [h2.clone(), h1.clone()];
    let got = push_hash_list(&client, "ce-hashes", &[h1.clone(), h2.clone()], Some(&ack))
        .await
        .unwrap();
    assert_eq!((got, sim.state().requests().len()), (HashPush::Skipped, 0));
    // Unknown acknowledgement (e.g. after a crash): sent again, and the tenant says nothing changed.
    let got = push_hash_list(&client, "ce-hashes", &[h1, h2], None)
        .await
        .unwrap();
    assert_eq!(got, HashPush::Unchanged);
    sim.shutdown().await;
}
