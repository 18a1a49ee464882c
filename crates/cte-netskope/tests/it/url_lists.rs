//! URL lists: the whole lifecycle, pending-until-deploy, rejected entries and byte-identical bodies.

use cte_core::tenant::{TenantClient, TenantError, UrlListPatch, UrlListType};
use cte_netskope::{named_url_list_body, url_list_body};

use crate::support::{start_default, strings};

#[tokio::test]
async fn url_list_lifecycle_create_patch_update_deploy_delete() {
    let fx = start_default().await;
    let c = &fx.client;

    let created = c
        .create_url_list("ce_block", &strings(&["a.example.com"]), UrlListType::Exact)
        .await
        .unwrap();
    assert_eq!(created.name, "ce_block");
    assert_eq!(created.urls, strings(&["a.example.com"]));
    assert_eq!(created.list_type, UrlListType::Exact);
    assert!(created.pending);
    assert_eq!(created.modify_type.as_deref(), Some("Created"));
    let id = created.id;

    let refs = c.url_list_refs().await.unwrap();
    assert!(
        refs.iter().any(|r| r.id == id && r.name == "ce_block"),
        "{refs:?}"
    );

    let appended = c
        .patch_url_list(
            id,
            UrlListPatch::Append,
            &strings(&["b.example.com", "c.example.com"]),
            UrlListType::Exact,
        )
        .await
        .unwrap();
    assert_eq!(
        appended.urls,
        strings(&["a.example.com", "b.example.com", "c.example.com"])
    );

    let removed = c
        .patch_url_list(
            id,
            UrlListPatch::Remove,
            &strings(&["b.example.com"]),
            UrlListType::Exact,
        )
        .await
        .unwrap();
    assert_eq!(removed.urls, strings(&["a.example.com", "c.example.com"]));

    let replaced = c
        .patch_url_list(
            id,
            UrlListPatch::Replace,
            &strings(&["d.example.com"]),
            UrlListType::Exact,
        )
        .await
        .unwrap();
    assert_eq!(replaced.urls, strings(&["d.example.com"]));

    let fetched = c.url_list(id).await.unwrap();
    assert_eq!(fetched, replaced);
    let all = c.url_lists().await.unwrap();
    assert_eq!(
        all.iter().find(|l| l.id == id).unwrap().urls,
        strings(&["d.example.com"])
    );

    let deployed = c.deploy_url_lists().await.unwrap();
    assert!(
        deployed.iter().any(|l| l.id == id && !l.pending),
        "{deployed:?}"
    );
    assert_eq!(fx.sim.state().deploy_count(), 1);
    assert_eq!(
        fx.sim.state().deployed_urls("ce_block"),
        Some(strings(&["d.example.com"]))
    );
    assert!(!c.url_list(id).await.unwrap().pending);

    let updated = c
        .update_url_list(
            id,
            "ce_block_2",
            &strings(&["e.example.com"]),
            UrlListType::Exact,
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "ce_block_2");
    assert!(updated.pending);
    assert_eq!(updated.modify_type.as_deref(), Some("Edited"));

    // Deletion is pending too: the list is still listed until a deploy.
    let deleted = c.delete_url_list(id).await.unwrap();
    assert_eq!(deleted.modify_type.as_deref(), Some("Deleted"));
    assert!(c.url_list_refs().await.unwrap().iter().any(|r| r.id == id));
    c.deploy_url_lists().await.unwrap();
    assert!(!c.url_list_refs().await.unwrap().iter().any(|r| r.id == id));
    let err = c.url_list(id).await.unwrap_err();
    assert!(matches!(err, TenantError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn changes_are_pending_until_deploy() {
    let fx = start_default().await;
    let c = &fx.client;
    let list = c
        .create_url_list("ce_pending", &strings(&["one.example"]), UrlListType::Exact)
        .await
        .unwrap();
    assert_eq!(fx.sim.state().deployed_urls("ce_pending"), None);
    c.deploy_url_lists().await.unwrap();
    assert_eq!(
        fx.sim.state().deployed_urls("ce_pending"),
        Some(strings(&["one.example"]))
    );

    let after = c
        .patch_url_list(
            list.id,
            UrlListPatch::Append,
            &strings(&["two.example"]),
            UrlListType::Exact,
        )
        .await
        .unwrap();
    assert!(after.pending);
    // Reads return the pending content; the tenant still enforces the deployed one.
    assert_eq!(
        c.url_list(list.id).await.unwrap().urls,
        strings(&["one.example", "two.example"])
    );
    assert_eq!(
        fx.sim.state().deployed_urls("ce_pending"),
        Some(strings(&["one.example"]))
    );

    c.deploy_url_lists().await.unwrap();
    assert_eq!(
        fx.sim.state().deployed_urls("ce_pending"),
        Some(strings(&["one.example", "two.example"]))
    );
}

#[tokio::test]
async fn rejected_entries_come_back_with_reasons_and_change_nothing() {
    let fx = start_default().await;
    let c = &fx.client;
    let list = c
        .create_url_list("ce_rej", &strings(&["ok.example"]), UrlListType::Exact)
        .await
        .unwrap();
    fx.sim.state().clear_requests();

    let err = c
        .patch_url_list(
            list.id,
            UrlListPatch::Append,
            &strings(&["fine.example", "bad host", "ftp://x.example"]),
            UrlListType::Exact,
        )
        .await
        .unwrap_err();
    let TenantError::EntriesRejected { rejected } = err else {
        panic!("{err:?}")
    };
    let values: Vec<&str> = rejected.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, vec!["bad host", "ftp://x.example"]);
    assert!(
        rejected.iter().all(|(_, reason)| !reason.is_empty()),
        "{rejected:?}"
    );
    // A 400 is final: exactly one request.
    assert_eq!(fx.requests().len(), 1);
    assert_eq!(
        c.url_list(list.id).await.unwrap().urls,
        strings(&["ok.example"])
    );

    // Create rejects the same way.
    let err = c
        .create_url_list("ce_rej2", &strings(&["bad host"]), UrlListType::Exact)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::EntriesRejected { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn sent_bodies_are_the_preview_bytes() {
    let fx = start_default().await;
    let c = &fx.client;
    let first = strings(&["z.example", "a.example"]);
    let list = c
        .create_url_list("ce_bytes", &first, UrlListType::Exact)
        .await
        .unwrap();
    let more = strings(&["m.example", "b.example/path?q=1&r=ü"]);
    c.patch_url_list(list.id, UrlListPatch::Append, &more, UrlListType::Exact)
        .await
        .unwrap();

    let requests = fx.requests();
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "/api/v2/policy/urllist")
        .unwrap();
    assert_eq!(
        create.body.as_deref().unwrap().as_bytes(),
        named_url_list_body("ce_bytes", &first, UrlListType::Exact).as_slice()
    );
    let append = requests.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(
        append.path,
        format!("/api/v2/policy/urllist/{}/append", list.id)
    );
    assert_eq!(
        append.body.as_deref().unwrap().as_bytes(),
        url_list_body(&more, UrlListType::Exact).as_slice()
    );
}

#[tokio::test]
async fn forbidden_list_names_are_refused_before_sending() {
    let fx = start_default().await;
    let err = fx
        .client
        .create_url_list("ce.block/1", &strings(&["a.example"]), UrlListType::Exact)
        .await
        .unwrap_err();
    assert!(matches!(err, TenantError::InvalidInput(_)), "{err:?}");
    assert!(fx.requests().is_empty());
}

#[tokio::test]
async fn regex_lists_round_trip() {
    let fx = start_default().await;
    let list = fx
        .client
        .create_url_list(
            "ce_regex",
            &strings(&[r".*\.bad\.example"]),
            UrlListType::Regex,
        )
        .await
        .unwrap();
    assert_eq!(list.list_type, UrlListType::Regex);
    assert_eq!(
        fx.client.url_list(list.id).await.unwrap().list_type,
        UrlListType::Regex
    );
}

#[tokio::test]
async fn create_whose_answer_was_lost_is_not_reported_as_a_name_clash() {
    let fx = start_default().await;
    let urls = strings(&["lost.example"]);
    // Stand-in for an attempt the tenant applied before answering 503: the list already exists
    // with exactly this content, so the retry meets the taken name.
    fx.client
        .create_url_list("ce_lost", &urls, UrlListType::Exact)
        .await
        .unwrap();
    fx.sim.state().clear_requests();
    fx.sim.inject_fault(netskope_sim::Fault::fail(
        503,
        1,
        Some("/api/v2/policy/urllist"),
    ));
    let list = fx
        .client
        .create_url_list("ce_lost", &urls, UrlListType::Exact)
        .await
        .unwrap();
    assert_eq!((list.name.as_str(), list.urls.clone()), ("ce_lost", urls));
    let summary: Vec<(String, u16)> = fx
        .request_summary()
        .into_iter()
        .map(|(m, _, s)| (m, s))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("POST".into(), 503),
            ("POST".into(), 400),
            ("GET".into(), 200)
        ]
    );

    // Without a possibly-applied attempt, or with other content, the clash is reported.
    let err = fx
        .client
        .create_url_list("ce_lost", &strings(&["lost.example"]), UrlListType::Exact)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    fx.sim.inject_fault(netskope_sim::Fault::fail(
        503,
        1,
        Some("/api/v2/policy/urllist"),
    ));
    let err = fx
        .client
        .create_url_list("ce_lost", &strings(&["other.example"]), UrlListType::Exact)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TenantError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(fx.sim.state().url_lists().len(), 1);
}
