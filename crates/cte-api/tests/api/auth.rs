//! `POST /api/auth` and the bearer-token check.

use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use serde_json::json;

use crate::harness::*;

const INVALID_CLIENT: &str = "Invalid client_id/client_secret provided.";
const INVALID_BEARER: &str = "Could not validate credentials.";

fn creds_form(c: &Creds) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", &c.client_id),
        ("client_secret", &c.client_secret),
    ]
}

#[tokio::test]
async fn login_returns_ce_token_shape() {
    let app = TestApp::new().await;
    let c = app.token(RW, Some(60));
    let (status, body) = app.auth(&creds_form(&c)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 32);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scopes"], json!(["cte_read", "cte_write"]));
    // The bearer works.
    let (s, v) = app.get(token, "/api/cte/indicators/").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!([]));
}

#[tokio::test]
async fn login_refuses_unknown_id_wrong_secret_and_expired_token() {
    let app = TestApp::new().await;
    let c = app.token(RW, Some(10));

    let unknown = app
        .auth(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nosuchclient"),
            ("client_secret", &c.client_secret),
        ])
        .await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, INVALID_CLIENT);

    let wrong = app
        .auth(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, INVALID_CLIENT);

    app.advance(Duration::minutes(11));
    let expired = app.auth(&creds_form(&c)).await;
    assert_error(&expired, StatusCode::UNAUTHORIZED, INVALID_CLIENT);
}

#[tokio::test]
async fn five_failures_lock_the_token_for_two_minutes() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);
    let bad = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    for _ in 0..4 {
        assert_error(
            &app.auth(&bad).await,
            StatusCode::UNAUTHORIZED,
            INVALID_CLIENT,
        );
    }
    let locked = app.auth(&bad).await;
    assert_eq!(locked.0, StatusCode::UNAUTHORIZED);
    let msg = locked.1["detail"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "This account has been locked due to multiple login failures. Please retry after"
        ),
        "{msg}"
    );
    // Even the right secret is refused while locked.
    app.advance(Duration::seconds(119));
    let still = app.auth(&creds_form(&c)).await;
    assert_eq!(still.0, StatusCode::UNAUTHORIZED);
    assert!(still.1["detail"]
        .as_str()
        .unwrap()
        .starts_with("This account has been locked"));

    app.advance(Duration::seconds(2));
    let ok = app.auth(&creds_form(&c)).await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);

    // A success resets the counter: four more failures do not lock.
    for _ in 0..4 {
        assert_error(
            &app.auth(&bad).await,
            StatusCode::UNAUTHORIZED,
            INVALID_CLIENT,
        );
    }
    assert_eq!(app.auth(&creds_form(&c)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn scope_parameter_narrows_and_refuses_what_the_token_lacks() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);

    let mut form = creds_form(&c);
    form.push(("scope", "cte_read"));
    let (s, body) = app.auth(&form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scopes"], json!(["cte_read"]));
    let read_only = body["access_token"].as_str().unwrap().to_string();
    app.source("DW", json!({})).await;
    let denied = app
        .post(
            &read_only,
            "/api/cte/indicators/",
            json!([{"value": "1.2.3.4", "type": "ipv4", "source": "DW"}]),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "Not enough permissions.");
    assert_eq!(app.count().await, 0);

    // OAuth2 spells scope lists with spaces.
    let mut form = creds_form(&c);
    form.push(("scope", "cte_read cte_write"));
    let (s, body) = app.auth(&form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["scopes"], json!(["cte_read", "cte_write"]));

    for scope in ["admin", "cte_read admin", "root"] {
        let mut form = creds_form(&c);
        form.push(("scope", scope));
        assert_error(
            &app.auth(&form).await,
            StatusCode::FORBIDDEN,
            "Unauthorized",
        );
    }
}

#[tokio::test]
async fn grant_types_other_than_client_credentials_are_refused() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);

    let (s, v) = app
        .auth(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "admin"),
        ])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // CE's default grant type is password.
    let (s, v) = app
        .auth(&[
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let unknown = app
        .auth(&[
            ("grant_type", "implicit"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ])
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "grant_type not supported.",
    );
}

#[tokio::test]
async fn login_with_missing_fields_or_wrong_encoding_is_refused() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);
    let no_secret = app
        .auth(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
        ])
        .await;
    assert_error(&no_secret, StatusCode::UNAUTHORIZED, INVALID_CLIENT);
    let no_id = app
        .auth(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &c.client_secret),
        ])
        .await;
    assert_error(&no_id, StatusCode::UNAUTHORIZED, INVALID_CLIENT);

    // A JSON body is not a form.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/auth")
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            json!({"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret})
                .to_string(),
        ))
        .unwrap();
    let (s, v) = app.call(req).await;
    assert!(s.is_client_error(), "{s} {v}");

    // GET is not a login.
    let (s, _) = app.send(Method::GET, "/api/auth", None, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn bearer_must_be_present_and_valid() {
    let app = TestApp::new().await;
    let missing = app
        .send(Method::GET, "/api/cte/indicators/", None, None)
        .await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "Not authenticated");

    let bad = app.get("not-a-token", "/api/cte/indicators/").await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, INVALID_BEARER);

    for header_value in [
        "Basic abc",
        "Bearer",
        "Bearer ",
        &format!("Token {}", app.admin),
    ] {
        let req = Request::builder()
            .uri("/api/cte/tags")
            .header(header::AUTHORIZATION, header_value)
            .body(axum::body::Body::empty())
            .unwrap();
        assert_error(
            &app.call(req).await,
            StatusCode::UNAUTHORIZED,
            INVALID_BEARER,
        );
    }

    // The scheme is case-insensitive.
    let req = Request::builder()
        .uri("/api/cte/tags")
        .header(header::AUTHORIZATION, format!("bearer {}", app.admin))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.call(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bearer_expires_after_120_minutes() {
    let app = TestApp::new().await;
    let bearer = app.login_new(RW).await;
    app.advance(Duration::minutes(119));
    assert_eq!(app.get(&bearer, "/api/cte/tags").await.0, StatusCode::OK);
    app.advance(Duration::minutes(2));
    assert_error(
        &app.get(&bearer, "/api/cte/tags").await,
        StatusCode::UNAUTHORIZED,
        INVALID_BEARER,
    );
}

#[tokio::test]
async fn bearer_never_outlives_its_api_token() {
    let app = TestApp::new().await;
    let c = app.token(RW, Some(30));
    let bearer = app.login(&c).await;
    app.advance(Duration::minutes(29));
    assert_eq!(app.get(&bearer, "/api/cte/tags").await.0, StatusCode::OK);
    app.advance(Duration::minutes(2));
    assert_error(
        &app.get(&bearer, "/api/cte/tags").await,
        StatusCode::UNAUTHORIZED,
        INVALID_BEARER,
    );
}

#[tokio::test]
async fn each_route_checks_its_scope() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.tag("t").await;
    app.ingest(json!([{"value": "1.2.3.4", "type": "ipv4", "source": "DW", "tags": ["t"]}]))
        .await;
    let reader = app.login_new(RO).await;
    let writer = app.login_new(RW).await;
    let write_only = app.login_new(&[cte_core::auth::Scope::CteWrite]).await;
    let before = app.snapshot().await;

    let write_routes = [
        (
            Method::POST,
            "/api/cte/indicators/",
            json!([{"value": "5.6.7.8", "type": "ipv4", "source": "DW"}]),
        ),
        (Method::POST, "/api/cte/indicators", json!([])),
        (
            Method::PATCH,
            "/api/cte/indicators/",
            json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW", "reputation": 9}),
        ),
        (
            Method::PATCH,
            "/api/cte/indicators/bulk",
            json!({"locator": {"values": ["1.2.3.4"]}, "tags": {"remove": ["t"]}}),
        ),
        (
            Method::DELETE,
            "/api/cte/indicators/bulk",
            json!({"values": ["1.2.3.4"]}),
        ),
        (Method::POST, "/api/cte/tags", json!({"name": "u"})),
        (Method::DELETE, "/api/cte/tags", json!({"name": "t"})),
        (
            Method::POST,
            "/api/cte/plugins/configurations/api_sources",
            json!({"name": "X"}),
        ),
        (
            Method::PATCH,
            "/api/cte/plugins/configurations",
            json!({"name": "DW", "reputation": 3}),
        ),
        (
            Method::DELETE,
            "/api/cte/configuration",
            json!({"name": "DW", "keepData": false}),
        ),
    ];
    for (method, uri, body) in &write_routes {
        let got = app
            .send(method.clone(), uri, Some(&reader), Some(body))
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
    }
    let admin_routes = [
        (Method::GET, "/api/users/tokens", None),
        (Method::POST, "/api/users/tokens?description=x", None),
        (
            Method::DELETE,
            "/api/users/tokens",
            Some(json!({"client_id": "x"})),
        ),
    ];
    for (method, uri, body) in &admin_routes {
        for bearer in [&reader, &writer] {
            let got = app
                .send(method.clone(), uri, Some(bearer), body.as_ref())
                .await;
            assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
        }
    }
    // A token with only cte_write cannot read.
    assert_error(
        &app.get(&write_only, "/api/cte/indicators/").await,
        StatusCode::FORBIDDEN,
        "Not enough permissions.",
    );
    assert_unchanged(&before, &app.snapshot().await);
}

/// Issue 22 item 4: the bearer and its scope are checked before the body is read, so a caller
/// without the scope gets 403 (not 422 for bad JSON), nobody gets 401, and neither makes the
/// server read a byte of the body (a 30 MB upload is refused unread). Every route that takes a
/// body, with the scope its OpenAPI operation names.
#[tokio::test]
async fn scopes_are_checked_before_the_body_is_read() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use axum::body::Body;
    use http_body_util::{BodyExt, Full};

    let app = TestApp::new().await;
    let (_, _, doc) = app.get_raw(None, "/api/openapi.json").await;
    let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    let mut checked = 0;
    for (method, path) in cte_api::routes() {
        if method == "GET" || path == "/api/auth" {
            continue;
        }
        let op = &doc["paths"][&path][method.to_lowercase()];
        let scopes: Vec<cte_core::auth::Scope> = op["security"][0]["bearer"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no bearer requirement"))
            .iter()
            .map(|s| s.as_str().unwrap().parse().unwrap())
            .collect();
        let lacking: Vec<_> = cte_core::auth::Scope::ALL
            .into_iter()
            .filter(|s| !scopes.contains(s))
            .collect();
        let lacking = app.login_new(&lacking).await;
        let uri = path.replace("{plugin_id}", "api_sources");
        for (bearer, status) in [
            (Some(lacking.as_str()), StatusCode::FORBIDDEN),
            (None, StatusCode::UNAUTHORIZED),
        ] {
            // Not JSON: a handler that parsed it would answer 422.
            let read = Arc::new(AtomicBool::new(false));
            let flag = read.clone();
            let body =
                Full::new(axum::body::Bytes::from_static(b"{\"not json")).map_frame(move |frame| {
                    flag.store(true, Ordering::SeqCst);
                    frame
                });
            let mut req = Request::builder()
                .method(method.as_str())
                .uri(&uri)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(b) = bearer {
                req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
            }
            let (got, _, text) = app
                .call_with_headers(req.body(Body::new(body)).unwrap())
                .await;
            assert_eq!(got, status, "{method} {path}: {text}");
            assert!(
                !read.load(Ordering::SeqCst),
                "{method} {path} read the body before answering {status}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2 * 15, "only {checked} requests");
}

#[tokio::test]
async fn ten_failures_lock_for_five_minutes() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);
    let bad = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    let locked = |v: &serde_json::Value| {
        v["detail"]
            .as_str()
            .unwrap()
            .starts_with("This account has been locked")
    };
    for _ in 0..5 {
        app.auth(&bad).await;
    }
    app.advance(Duration::minutes(3));
    for _ in 0..4 {
        assert_error(
            &app.auth(&bad).await,
            StatusCode::UNAUTHORIZED,
            INVALID_CLIENT,
        );
    }
    let (s, v) = app.auth(&bad).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(locked(&v), "{v}");
    app.advance(Duration::minutes(4));
    let (s, v) = app.auth(&creds_form(&c)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(locked(&v), "{v}");
    app.advance(Duration::minutes(2));
    assert_eq!(app.auth(&creds_form(&c)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn each_token_has_a_write_budget_and_429_says_when_to_retry() {
    let app = TestApp::with_limits(cte_api::Limits {
        write_budget_per_minute: 3,
        ..cte_api::Limits::default()
    })
    .await;
    let writer = app.login_new(RW).await;
    let tag = |n: u32| json!({"name": format!("t{n}"), "color": "#000000"});
    for n in 0..3 {
        let (s, body) = app.post(&writer, "/api/cte/tags", tag(n)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let req = axum::http::Request::post("/api/cte/tags")
        .header("authorization", format!("Bearer {writer}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(tag(3).to_string()))
        .unwrap();
    let (s, headers, text) = app.call_with_headers(req).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{text}");
    assert_eq!(headers["retry-after"], "20", "3 a minute: one every 20 s");
    assert!(
        text.contains("budget of 3 write requests a minute"),
        "{text}"
    );
    // Reads are not budgeted, other tokens have their own budget, and time refills it.
    let (s, _) = app.get(&writer, "/api/cte/tags").await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app.post(&app.admin, "/api/cte/tags", tag(4)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.advance(chrono::Duration::seconds(20));
    let (s, body) = app.post(&writer, "/api/cte/tags", tag(3)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        cte_core::store::Store::tags(app.store()).unwrap().len(),
        5,
        "the refused write stored nothing"
    );
}
