//! The test harness: a router over a SQLite store on a temp file, a clock tests can move, API tokens
//! made through the engine, and a request helper that refuses any 5xx and any error without
//! `{"detail"}`.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_api::{router, AppState, Clock, Limits};
use cte_core::auth::Scope;
use cte_core::store::Store;
use cte_core::tenant_config::{NetskopeTenant, TenantConnector};
use cte_store_sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

/// Where every test's clock starts: the day after the seed's example dates.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 5, 20, 0, 0, 0).unwrap()
}

/// CE's datetime format as the API writes it.
pub fn fmt(t: DateTime<Utc>) -> String {
    cte_core::time::format_datetime(t)
}

pub const ALL: &[Scope] = &[Scope::CteRead, Scope::CteWrite, Scope::Admin];
pub const RW: &[Scope] = &[Scope::CteRead, Scope::CteWrite];
pub const RO: &[Scope] = &[Scope::CteRead];

/// An API token made directly through the engine.
pub struct Creds {
    pub client_id: String,
    pub client_secret: String,
}

pub struct TestApp {
    _dir: TempDir,
    store: Arc<SqliteStore>,
    clock: Arc<Mutex<DateTime<Utc>>>,
    router: Router,
    /// A bearer with every scope, for setup and state snapshots.
    pub admin: String,
}

impl TestApp {
    /// A fresh app at `t0()` with one admin token logged in.
    pub async fn new() -> TestApp {
        TestApp::build(None, Limits::default()).await
    }

    /// Like [`TestApp::new`], with a tenant connector so that tenants and Netskope
    /// configurations are checked against a (simulated) tenant on save.
    pub async fn with_connector(connector: Arc<dyn TenantConnector>) -> TestApp {
        TestApp::build(Some(connector), Limits::default()).await
    }

    /// Like [`TestApp::new`], with other request limits.
    pub async fn with_limits(limits: Limits) -> TestApp {
        TestApp::build(None, limits).await
    }

    async fn build(connector: Option<Arc<dyn TenantConnector>>, limits: Limits) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(dir.path().join("cte.db")).expect("open store"));
        let clock = Arc::new(Mutex::new(t0()));
        let c = clock.clone();
        let clock_fn: Clock = Arc::new(move || *c.lock().unwrap());
        let mut state = AppState::with_clock(store.clone(), clock_fn).with_limits(limits);
        if let Some(c) = connector {
            state = state.with_connector(c);
        }
        let router = router(state);
        let mut app = TestApp {
            _dir: dir,
            store,
            clock,
            router,
            admin: String::new(),
        };
        // The API token never expires; its bearer does after 120 minutes, so tests that move
        // the clock further call `relogin_admin`.
        app.admin = app.login_new(ALL).await;
        app
    }

    /// The database file under the API.
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("cte.db")
    }

    /// The store under the API, for setup the API cannot do offline (tenants checked live).
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.clock.lock().unwrap()
    }

    pub fn advance(&self, d: Duration) {
        *self.clock.lock().unwrap() += d;
    }

    /// Creates an API token with `scopes`; `expire_minutes` `None` = never.
    pub fn token(&self, scopes: &[Scope], expire_minutes: Option<i64>) -> Creds {
        let new = cte_engine::tokens::create_token(
            self.store.as_ref(),
            "test token",
            scopes.to_vec(),
            expire_minutes,
            self.now(),
        )
        .expect("create token");
        Creds {
            client_id: new.token.client_id,
            client_secret: new.client_secret,
        }
    }

    /// `POST /api/auth` with a form body.
    pub async fn auth(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/auth")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.call(req).await
    }

    /// Logs in with client credentials and returns the bearer token.
    pub async fn login(&self, creds: &Creds) -> String {
        let (status, body) = self
            .auth(&[
                ("grant_type", "client_credentials"),
                ("client_id", &creds.client_id),
                ("client_secret", &creds.client_secret),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates a never-expiring token with `scopes` and logs in with it.
    pub async fn login_new(&self, scopes: &[Scope]) -> String {
        let creds = self.token(scopes, None);
        self.login(&creds).await
    }

    /// A fresh admin bearer (after moving the clock past the old one's lifetime).
    pub async fn relogin_admin(&mut self) {
        self.admin = self.login_new(ALL).await;
    }

    /// Stores a tenant directly, skipping the API's check against the tenant (to set up a tenant
    /// whose token has since lost a privilege).
    pub fn insert_tenant_unchecked(&self, tenant: &NetskopeTenant) {
        self.store.insert_tenant(tenant).expect("insert tenant");
    }

    /// Sends `req` and returns its status and raw body text, without checks.
    pub async fn call_text(&self, req: Request<Body>) -> (StatusCode, String) {
        let (status, _, text) = self.call_with_headers(req).await;
        (status, text)
    }

    /// Sends `req` and returns its status, headers and raw body text, without checks.
    pub async fn call_with_headers(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Sends `req` and returns its status and JSON body (`Value::Null` for an empty body).
    /// Panics on any 5xx, on a non-JSON body or one not labelled `application/json`, and on an
    /// error without a `detail` key.
    pub async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, headers, text) = self.call_with_headers(req).await;
        let bytes = text.as_bytes();
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            assert_eq!(
                headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"application/json"[..]),
                "{what}: content type of {text}"
            );
            serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text}"))
        };
        assert!(
            !status.is_server_error(),
            "{what} answered {status}: {body}"
        );
        if status.is_client_error() {
            assert!(
                body.get("detail").is_some(),
                "{what} answered {status} without a detail: {body}"
            );
        }
        (status, body)
    }

    /// `GET` with an optional bearer, returning the status, headers and raw body (for
    /// non-JSON answers and response headers).
    pub async fn get_raw(
        &self,
        bearer: Option<&str>,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut b = Request::builder().method(Method::GET).uri(uri);
        if let Some(t) = bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .expect("infallible");
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        assert!(
            !parts.status.is_server_error(),
            "GET {uri}: {}",
            parts.status
        );
        (parts.status, parts.headers, bytes)
    }

    /// A request with an optional bearer and an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.call(request(method, uri, bearer, body)).await
    }

    /// Like [`TestApp::send`], returning the raw body text unchecked.
    pub async fn send_text(
        &self,
        method: Method,
        uri: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, String) {
        self.call_text(request(method, uri, bearer, body)).await
    }

    /// A request with a raw body and content type.
    pub async fn send_raw(
        &self,
        method: Method,
        uri: &str,
        bearer: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(req).await
    }

    pub async fn get(&self, bearer: &str, uri: &str) -> (StatusCode, Value) {
        self.send(Method::GET, uri, Some(bearer), None).await
    }

    pub async fn post(&self, bearer: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, uri, Some(bearer), Some(&body))
            .await
    }

    pub async fn patch(&self, bearer: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, uri, Some(bearer), Some(&body))
            .await
    }

    pub async fn delete(&self, bearer: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::DELETE, uri, Some(bearer), Some(&body))
            .await
    }

    // ----- setup helpers (as admin, asserting success) -----

    /// Creates an API Source configuration with the given extra fields.
    pub async fn source(&self, name: &str, extra: Value) -> Value {
        let mut body = json!({ "name": name });
        if let Value::Object(m) = extra {
            body.as_object_mut().unwrap().extend(m);
        }
        let (s, v) = self
            .post(
                &self.admin,
                "/api/cte/plugins/configurations/api_sources",
                body,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "create source {name}: {v}");
        v
    }

    pub async fn tag(&self, name: &str) {
        let (s, v) = self
            .post(&self.admin, "/api/cte/tags", json!({ "name": name }))
            .await;
        assert_eq!(s, StatusCode::OK, "create tag {name}: {v}");
    }

    /// Posts indicators and expects 201.
    pub async fn ingest(&self, batch: Value) -> Value {
        let (s, v) = self.post(&self.admin, "/api/cte/indicators/", batch).await;
        assert_eq!(s, StatusCode::CREATED, "ingest: {v}");
        v
    }

    /// One indicator by stored value (from a full listing).
    pub async fn indicator(&self, value: &str) -> Option<Value> {
        self.indicators()
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["value"] == value)
            .cloned()
    }

    /// Every indicator, sorted by value (tests keep fewer than 100).
    pub async fn indicators(&self) -> Value {
        let (s, v) = self
            .get(&self.admin, "/api/cte/indicators/?limit=100&sort=value")
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn count(&self) -> u64 {
        let (s, v) = self
            .get(&self.admin, "/api/cte/indicators/?aggregate=true")
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["count"].as_u64().unwrap()
    }

    /// Everything a client can read, to check that a failed request changed nothing.
    pub async fn snapshot(&self) -> Value {
        let (_, tags) = self.get(&self.admin, "/api/cte/tags").await;
        let (_, configs) = self
            .get(&self.admin, "/api/cte/plugins/configurations")
            .await;
        let (_, tokens) = self.get(&self.admin, "/api/users/tokens").await;
        json!({
            "count": self.count().await,
            "indicators": self.indicators().await,
            "tags": tags,
            "configurations": configs,
            "tokens": tokens,
        })
    }
}

fn request(method: Method, uri: &str, bearer: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// Asserts that nothing a client can read changed since `before` (from [`TestApp::snapshot`]),
/// printing at most a short excerpt of each side.
#[track_caller]
pub fn assert_unchanged(before: &Value, after: &Value) {
    if before != after {
        let short = |v: &Value| v.to_string().chars().take(3000).collect::<String>();
        panic!(
            "stored state changed\nbefore: {}\nafter:  {}",
            short(before),
            short(after)
        );
    }
}

/// Percent-encodes for forms and query strings.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Asserts an error status and exact detail text.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, detail: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["detail"], json!(detail), "{}", got.1);
}
