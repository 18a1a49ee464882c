//! Netskope tenants (`/api/settings/tenants`) and Netskope CTE configurations
//! (`/api/cte/plugins/configurations/netskope`), checked on save against the in-process simulator.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_netskope::{NetskopeConnector, RetryPolicy};
use netskope_sim::{Privilege, SimConfig, SimHandle, SimToken};
use serde_json::{json, Value};

use crate::harness::*;

const TENANTS: &str = "/api/settings/tenants";
const CREATE_NS: &str = "/api/cte/plugins/configurations/netskope";
const CONFIGS: &str = "/api/cte/plugins/configurations";

/// Full privileges.
const GOOD: &str = "good-v2-secret-7f3a";
/// Read on the malsite alerts endpoint only: no malware alerts.
const MALSITE_ONLY: &str = "malsite-only-v2-9c1e";
/// A V1 token (never checked on save: it is only used for file-hash lists).
const V1: &str = "v1-secret-51b0";
const MALWARE_ENDPOINT: &str = "/api/v2/events/dataexport/alerts/malware";

struct Env {
    app: TestApp,
    sim: SimHandle,
}

async fn env() -> Env {
    let sim = netskope_sim::spawn(SimConfig {
        tokens: vec![
            SimToken::full(GOOD),
            SimToken::with(
                MALSITE_ONLY,
                &[("/api/v2/events/dataexport/alerts/malsite", Privilege::Read)],
            ),
        ],
        wait_time: 0,
        ..SimConfig::default()
    })
    .await
    .expect("start simulator");
    let connector = NetskopeConnector {
        retry: Some(RetryPolicy::none()),
    };
    let app = TestApp::with_connector(Arc::new(connector)).await;
    Env { app, sim }
}

impl Env {
    fn tenant_body(&self, name: &str, v2: &str) -> Value {
        json!({
            "name": name,
            "tenantName": self.sim.base_url,
            "token": V1,
            "v2token": v2,
            "initialRange": 3,
            "useSystemProxy": false,
        })
    }

    async fn tenant(&self, name: &str) -> Value {
        let (s, v) = self
            .app
            .post(&self.app.admin, TENANTS, self.tenant_body(name, GOOD))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// A tenant stored without the save-time check, with `v2` as its token.
    fn tenant_unchecked(&self, name: &str, v2: &str) {
        self.app.insert_tenant_unchecked(&NetskopeTenant {
            name: name.into(),
            tenant_name: self.sim.base_url.clone(),
            v1_token: None,
            v2_token: Token::new(v2),
            initial_range_days: 7,
            use_system_proxy: false,
            created_at: t0(),
        });
    }
}

/// Panics if any token string appears in `text`.
#[track_caller]
fn assert_no_token(what: &str, text: &str) {
    for t in [GOOD, MALSITE_ONLY, V1] {
        assert!(!text.contains(t), "{what} leaks a token: {text}");
    }
}

#[tokio::test]
async fn tenant_crud_never_returns_tokens() {
    let e = env().await;
    let app = &e.app;
    let body = e.tenant_body("Prod", GOOD);
    let (s, text) = app
        .send_text(Method::POST, TENANTS, Some(&app.admin), Some(&body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    assert_no_token("POST tenant", &text);
    let created: Value = serde_json::from_str(&text).unwrap();
    let want = json!({
        "name": "Prod",
        "tenantName": e.sim.base_url,
        "initialRange": 3,
        "useSystemProxy": false,
        "hasV1Token": true,
        "createdAt": fmt(t0()),
    });
    assert_eq!(created, want);

    // Readers may list; the listing has no tokens either.
    let reader = app.login_new(RO).await;
    let (s, text) = app
        .send_text(Method::GET, TENANTS, Some(&reader), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_no_token("GET tenants", &text);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!([want]));

    // PATCH without a token keeps the stored ones; an empty V1 token removes it.
    let (s, text) = app
        .send_text(
            Method::PATCH,
            TENANTS,
            Some(&app.admin),
            Some(&json!({"name": "Prod", "initialRange": 30, "useSystemProxy": true, "token": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_no_token("PATCH tenant", &text);
    let mut want2 = want.clone();
    want2["initialRange"] = json!(30);
    want2["useSystemProxy"] = json!(true);
    want2["hasV1Token"] = json!(false);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), want2);

    // Changing the V2 token re-checks it: a good one is accepted.
    let (s, text) = app
        .send_text(
            Method::PATCH,
            TENANTS,
            Some(&app.admin),
            Some(&json!({"name": "Prod", "v2token": GOOD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_no_token("PATCH tenant v2token", &text);

    // A configuration on it: neither its creation, listing, nor update shows a token.
    let cfg = json!({"name": "NS", "tenant": "Prod", "parameters": {"threat_data_type": "Both"}});
    for (method, uri, body) in [
        (Method::POST, CREATE_NS, Some(cfg)),
        (Method::GET, CONFIGS, None),
        (
            Method::PATCH,
            CONFIGS,
            Some(json!({"name": "NS", "parameters": {"threat_data_type": ["URL"]}})),
        ),
    ] {
        let (s, text) = app
            .send_text(method.clone(), uri, Some(&app.admin), body.as_ref())
            .await;
        assert!(s.is_success(), "{method} {uri}: {s} {text}");
        assert_no_token(&format!("{method} {uri}"), &text);
    }
    // Errors do not echo tokens either.
    for (method, body) in [
        (Method::POST, e.tenant_body("Prod", GOOD)),
        (Method::POST, e.tenant_body("Weak", MALSITE_ONLY)),
        (Method::POST, e.tenant_body("Wrong", "wrong-token-xyz")),
        (
            Method::PATCH,
            json!({"name": "Prod", "v2token": MALSITE_ONLY}),
        ),
        (Method::PATCH, json!({"name": "Nope", "v2token": GOOD})),
        (Method::DELETE, json!({"name": "Prod"})),
    ] {
        let (s, text) = app
            .send_text(method.clone(), TENANTS, Some(&app.admin), Some(&body))
            .await;
        assert!(s.is_client_error(), "{method} {body}: {s} {text}");
        assert_no_token(&format!("{method} {body}"), &text);
    }

    // Deleting the configuration frees the tenant.
    let (s, v) = app
        .delete(&app.admin, "/api/cte/configuration", json!({"name": "NS"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .delete(&app.admin, TENANTS, json!({"name": "Prod"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.get(&app.admin, TENANTS).await.1, json!([]));
    let (s, v) = app
        .delete(&app.admin, TENANTS, json!({"name": "Prod"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn saving_a_tenant_checks_its_v2_token() {
    let e = env().await;
    let app = &e.app;

    // Token without the malware alerts privilege: 400 naming the endpoint and the privilege.
    let (s, v) = app
        .post(&app.admin, TENANTS, e.tenant_body("Weak", MALSITE_ONLY))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("Weak"), "{detail}");
    assert!(detail.contains(MALWARE_ENDPOINT), "{detail}");
    assert!(detail.contains("Read privilege"), "{detail}");

    // A token the tenant does not know: 400.
    let (s, v) = app
        .post(
            &app.admin,
            TENANTS,
            e.tenant_body("Wrong", "wrong-token-xyz"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("refused"), "{v}");

    // An unreachable tenant (a closed loopback port): 400.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut body = e.tenant_body("Gone", GOOD);
    body["tenantName"] = json!(format!("http://127.0.0.1:{closed}"));
    let (s, v) = app.post(&app.admin, TENANTS, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("Gone"), "{v}");

    // Nothing was stored.
    assert_eq!(app.get(&app.admin, TENANTS).await.1, json!([]));

    // A PATCH to a weaker token is refused and keeps the old one.
    e.tenant("Prod").await;
    let before = app.get(&app.admin, TENANTS).await.1;
    let (s, v) = app
        .patch(
            &app.admin,
            TENANTS,
            json!({"name": "Prod", "v2token": MALSITE_ONLY}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains(MALWARE_ENDPOINT),
        "{v}"
    );
    let (s, v) = app
        .patch(
            &app.admin,
            TENANTS,
            json!({"name": "Prod", "tenantName": format!("http://127.0.0.1:{closed}")}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(app.get(&app.admin, TENANTS).await.1, before);
    // The kept token still works: a configuration pulling malware is accepted.
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Prod", "parameters": {"threat_data_type": ["MD5"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn tenant_bodies_are_validated() {
    let e = env().await;
    let app = &e.app;
    e.tenant("Prod").await;
    let before = app.get(&app.admin, TENANTS).await.1;
    let base = e.tenant_body("New", GOOD);
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        b
    };
    for body in [
        with("name", Value::Null),
        with("name", json!("")),
        with("name", json!("a/b")),
        with("name", json!("Prod")),
        with("tenantName", Value::Null),
        with("tenantName", json!("  ")),
        with("v2token", Value::Null),
        with("v2token", json!(" ")),
        with("initialRange", json!(-1)),
        with("initialRange", json!(366)),
        with("initialRange", json!("7")),
        with("useSystemProxy", json!("yes")),
        with("bogus", json!(1)),
        json!([]),
    ] {
        let (s, v) = app.post(&app.admin, TENANTS, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    for body in [
        json!({"initialRange": 3}),
        json!({"name": "Prod", "initialRange": 400}),
        json!({"name": "Prod", "v2token": ""}),
        json!({"name": "Prod", "colour": "red"}),
    ] {
        let (s, v) = app.patch(&app.admin, TENANTS, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (s, v) = app
        .patch(
            &app.admin,
            TENANTS,
            json!({"name": "Nope", "initialRange": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app.delete(&app.admin, TENANTS, json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.get(&app.admin, TENANTS).await.1, before);
    // Limits are inclusive.
    for (name, days) in [("Zero", 0), ("Max", 365)] {
        let mut body = with("initialRange", json!(days));
        body["name"] = json!(name);
        let (s, v) = app.post(&app.admin, TENANTS, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

#[tokio::test]
async fn tenant_routes_need_their_scopes() {
    let e = env().await;
    let app = &e.app;
    e.tenant("Prod").await;
    let rw = app.login_new(RW).await;
    let ro = app.login_new(RO).await;
    // Write without read may not list.
    let write_only = app.login_new(&[cte_core::auth::Scope::CteWrite]).await;
    for bearer in [&rw, &ro] {
        for (method, body) in [
            (Method::POST, e.tenant_body("New", GOOD)),
            (Method::PATCH, json!({"name": "Prod", "initialRange": 1})),
            (Method::DELETE, json!({"name": "Prod"})),
        ] {
            let got = app
                .send(method.clone(), TENANTS, Some(bearer), Some(&body))
                .await;
            assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
        }
    }
    let (s, _) = app.get(&rw, TENANTS).await;
    assert_eq!(s, StatusCode::OK);
    let got = app.get(&write_only, TENANTS).await;
    assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
    let (s, v) = app.send(Method::GET, TENANTS, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, v) = app.send(Method::GET, TENANTS, Some("junk"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        app.get(&app.admin, TENANTS)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_tenant_in_use_cannot_be_deleted() {
    let e = env().await;
    let app = &e.app;
    e.tenant("Prod").await;
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Prod"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .delete(&app.admin, TENANTS, json!({"name": "Prod"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("'NS'"), "{v}");
    assert_eq!(
        app.get(&app.admin, TENANTS)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn netskope_configuration_with_defaults_and_seed_spellings() {
    let e = env().await;
    let app = &e.app;
    e.tenant("Prod").await;
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Prod", "ageAfterDays": 30, "reputation": 7}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["plugin"], "netskope");
    assert_eq!(v["tenant"], "Prod");
    assert_eq!(v["ageAfterDays"], 30);
    assert_eq!(v["reputation"], 7);
    assert_eq!(v["pollInterval"], 10);
    assert_eq!(v["pollIntervalUnit"], "minutes");
    assert_eq!(
        v["parameters"],
        json!({"is_pull_required": "Yes", "threat_data_type": ["MD5", "SHA256", "URL"], "days": 7, "enable_tagging": "yes"})
    );
    for (name, given, stored) in [
        ("Mal", json!("Malware"), json!(["MD5", "SHA256"])),
        ("Url", json!("URL"), json!(["URL"])),
        ("Both", json!("Both"), json!(["MD5", "SHA256", "URL"])),
        ("List", json!(["sha256", "URL"]), json!(["SHA256", "URL"])),
    ] {
        let (s, v) = app
            .post(
                &app.admin,
                CREATE_NS,
                json!({"name": name, "tenant": "Prod", "parameters": {
                    "threat_data_type": given, "is_pull_required": "No", "days": 0, "enable_tagging": "no"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {v}");
        assert_eq!(
            v["parameters"],
            json!({"is_pull_required": "No", "threat_data_type": stored, "days": 0, "enable_tagging": "no"}),
            "{name}"
        );
    }
    let (_, list) = app.get(&app.admin, CONFIGS).await;
    assert_eq!(list.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn netskope_configuration_is_checked_against_its_tenant() {
    let e = env().await;
    let app = &e.app;
    e.tenant_unchecked("Weak", MALSITE_ONLY);

    // Pulling MD5 needs the malware endpoint, which the token lacks.
    let before = app.get(&app.admin, CONFIGS).await.1;
    for types in [
        json!(["MD5"]),
        json!("Malware"),
        json!("Both"),
        json!(["SHA256"]),
    ] {
        let (s, v) = app
            .post(
                &app.admin,
                CREATE_NS,
                json!({"name": "NS", "tenant": "Weak", "parameters": {"threat_data_type": types}}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{types}: {v}");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains(MALWARE_ENDPOINT), "{detail}");
        assert!(detail.contains("Read privilege"), "{detail}");
        assert!(detail.contains("Weak"), "{detail}");
    }
    assert_eq!(app.get(&app.admin, CONFIGS).await.1, before);

    // URL only needs malsite, which it has.
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Weak", "parameters": {"threat_data_type": ["URL"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Without polling, nothing is pulled, so nothing is checked.
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "Off", "tenant": "Weak", "parameters": {"threat_data_type": ["MD5"], "is_pull_required": "No"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // PATCH re-checks when the parameters change...
    let snapshot = app.get(&app.admin, CONFIGS).await.1;
    let (s, v) = app
        .patch(
            &app.admin,
            CONFIGS,
            json!({"name": "NS", "parameters": {"threat_data_type": ["MD5", "URL"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains(MALWARE_ENDPOINT),
        "{v}"
    );
    let (s, v) = app
        .patch(
            &app.admin,
            CONFIGS,
            json!({"name": "Off", "parameters": {"threat_data_type": ["MD5"], "is_pull_required": "Yes"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // ... and when the tenant changes.
    let (s, v) = app
        .patch(&app.admin, CONFIGS, json!({"name": "NS", "tenant": "Nope"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        v["detail"],
        json!("Tenant with name 'Nope' does not exist.")
    );
    assert_eq!(app.get(&app.admin, CONFIGS).await.1, snapshot);

    // Moving it to a tenant with a full token makes MD5 possible.
    e.tenant("Prod").await;
    let (s, v) = app
        .patch(
            &app.admin,
            CONFIGS,
            json!({"name": "NS", "tenant": "Prod", "parameters": {"threat_data_type": ["MD5", "URL"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tenant"], "Prod");
    assert_eq!(v["parameters"]["threat_data_type"], json!(["MD5", "URL"]));

    // A 403 injected at the tenant on save is reported the same way.
    e.sim.inject_fault(netskope_sim::Fault::fail(
        403,
        1,
        Some("/api/v2/events/dataexport/alerts/malware"),
    ));
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS2", "tenant": "Prod", "parameters": {"threat_data_type": ["MD5"]}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains(MALWARE_ENDPOINT),
        "{v}"
    );
}

#[tokio::test]
async fn netskope_configuration_bodies_are_validated() {
    let e = env().await;
    let app = &e.app;
    e.tenant("Prod").await;
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Nope"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        v["detail"],
        json!("Tenant with name 'Nope' does not exist.")
    );

    let pull = "Invalid value provided for the configuration parameter 'is_pull_required'. Allowed values are 'Yes', 'No'.";
    let types = "Invalid value provided for the configuration parameter 'threat_data_type'. Allowed values are 'MD5', 'SHA256', 'URL' (or 'Malware', 'Both').";
    let days = "Invalid value provided for the configuration parameter 'days'. It must be an integer between 0 and 365.";
    let tagging = "Invalid value provided for the configuration parameter 'enable_tagging'. Allowed values are 'yes', 'no'.";
    for (params, detail) in [
        (json!({"is_pull_required": "maybe"}), pull),
        (json!({"threat_data_type": ["SHA1"]}), types),
        (json!({"threat_data_type": "Neither"}), types),
        (
            json!({"threat_data_type": []}),
            "`threat_data_type` is a required configuration parameter.",
        ),
        (json!({"days": 366}), days),
        (json!({"days": -1}), days),
        (json!({"days": "many"}), days),
        (json!({"enable_tagging": 3}), tagging),
    ] {
        let got = app
            .post(
                &app.admin,
                CREATE_NS,
                json!({"name": "NS", "tenant": "Prod", "parameters": params}),
            )
            .await;
        assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, detail);
    }
    for body in [
        json!({"name": "NS"}),
        json!({"name": "NS", "tenant": "Prod", "parameters": {"colour": "red"}}),
        json!({"name": "NS", "tenant": "Prod", "parameters": "Both"}),
        json!({"name": "NS", "tenant": "Prod", "reputation": 11}),
        json!({"name": "NS", "tenant": "Prod", "ageAfterDays": 366}),
        json!({"name": "NS", "tenant": "Prod", "pollInterval": 5, "pollIntervalUnit": "minutes"}),
        json!({"tenant": "Prod"}),
    ] {
        let (s, v) = app.post(&app.admin, CREATE_NS, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_eq!(app.get(&app.admin, CONFIGS).await.1, json!([]));

    // The same messages on PATCH, which changes nothing.
    let (s, v) = app
        .post(
            &app.admin,
            CREATE_NS,
            json!({"name": "NS", "tenant": "Prod"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let before = app.get(&app.admin, CONFIGS).await.1;
    let got = app
        .patch(
            &app.admin,
            CONFIGS,
            json!({"name": "NS", "parameters": {"days": 400}}),
        )
        .await;
    assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, days);
    assert_eq!(app.get(&app.admin, CONFIGS).await.1, before);

    // Writers without admin may manage configurations (CE: cte_write); readers may not.
    let rw = app.login_new(RW).await;
    let ro = app.login_new(RO).await;
    let (s, v) = app
        .post(&rw, CREATE_NS, json!({"name": "NS-rw", "tenant": "Prod"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let got = app
        .post(&ro, CREATE_NS, json!({"name": "NS-ro", "tenant": "Prod"}))
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
}
