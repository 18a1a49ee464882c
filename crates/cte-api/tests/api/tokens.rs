//! `/api/users/tokens`: create, list, delete.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{json, Value};

use crate::harness::*;

fn is_id(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[tokio::test]
async fn create_token_with_description_expiry_and_scopes() {
    let app = TestApp::new().await;
    let (s, body) = app
        .post(
            &app.admin,
            &format!(
                "/api/users/tokens?description={}&expire_after=30&scopes=cte_read",
                enc("feed one")
            ),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["client_id"].as_str().unwrap().to_string();
    let secret = body["client_secret"].as_str().unwrap().to_string();
    assert!(is_id(&id, 32), "{id}");
    assert!(is_id(&secret, 64), "{secret}");
    assert_eq!(body["description"], "feed one");
    assert_eq!(body["scopes"], json!(["cte_read"]));
    assert_eq!(body["expiresAt"], json!(fmt(t0() + Duration::minutes(30))));

    let bearer = app
        .login(&Creds {
            client_id: id,
            client_secret: secret,
        })
        .await;
    assert_eq!(app.get(&bearer, "/api/cte/tags").await.0, StatusCode::OK);
    assert_eq!(
        app.post(&bearer, "/api/cte/tags", json!({"name": "x"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn create_token_defaults_and_never_expiring() {
    let app = TestApp::new().await;
    let (s, body) = app
        .send(Method::POST, "/api/users/tokens", Some(&app.admin), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["scopes"], json!(["cte_read", "cte_write"]));
    assert_eq!(body["description"], "");
    assert_eq!(body["expiresAt"], json!(fmt(t0() + Duration::minutes(60))));

    let (s, body) = app
        .send(
            Method::POST,
            "/api/users/tokens?expire_after=-1&scopes=cte_read,cte_write,admin",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["expiresAt"], Value::Null);
    assert_eq!(body["scopes"], json!(["cte_read", "cte_write", "admin"]));
}

#[tokio::test]
async fn create_token_refuses_bad_parameters_and_stores_nothing() {
    let app = TestApp::new().await;
    let before = app.snapshot().await;
    for q in [
        "scopes=root",
        "scopes=",
        "expire_after=soon",
        "expire_after=99999999999999999",
        "expire_after=9223372036854775807",
    ] {
        let (s, v) = app
            .send(
                Method::POST,
                &format!("/api/users/tokens?{q}"),
                Some(&app.admin),
                None,
            )
            .await;
        let want = if q.starts_with("scopes=root") {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(s, want, "{q}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn list_tokens_never_shows_secrets() {
    let app = TestApp::new().await;
    let c = app.token(RO, Some(5));
    let (s, list) = app.get(&app.admin, "/api/users/tokens").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "the harness's admin token and this one");
    let mine = list
        .iter()
        .find(|t| t["client_id"] == c.client_id.as_str())
        .expect("listed");
    assert_eq!(
        *mine,
        json!({
            "client_id": c.client_id,
            "description": "test token",
            "scopes": ["cte_read"],
            "createdAt": fmt(t0()),
            "expiresAt": fmt(t0() + Duration::minutes(5)),
        })
    );
    let text = Value::Array(list.clone()).to_string();
    assert!(!text.contains(&c.client_secret));
    assert!(!text.contains("secret"));
    assert!(!text.contains(&cte_engine::tokens::hash_secret(&c.client_secret)));
}

#[tokio::test]
async fn delete_token_revokes_its_bearers() {
    let app = TestApp::new().await;
    let c = app.token(RW, None);
    let bearer = app.login(&c).await;
    assert_eq!(app.get(&bearer, "/api/cte/tags").await.0, StatusCode::OK);

    let (s, v) = app
        .delete(
            &app.admin,
            "/api/users/tokens",
            json!({"client_id": c.client_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({}));

    assert_error(
        &app.get(&bearer, "/api/cte/tags").await,
        StatusCode::UNAUTHORIZED,
        "Could not validate credentials.",
    );
    let again = app
        .auth(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ])
        .await;
    assert_error(
        &again,
        StatusCode::UNAUTHORIZED,
        "Invalid client_id/client_secret provided.",
    );
    let (_, list) = app.get(&app.admin, "/api/users/tokens").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let before = app.snapshot().await;
    let unknown = app
        .delete(
            &app.admin,
            "/api/users/tokens",
            json!({"client_id": c.client_id}),
        )
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
    let malformed = app
        .delete(&app.admin, "/api/users/tokens", json!({"id": "x"}))
        .await;
    assert_eq!(
        malformed.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        malformed.1
    );
    assert_unchanged(&before, &app.snapshot().await);
}
