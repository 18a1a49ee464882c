//! Real answers of every route, checked against the document `GET /api/openapi.json` serves: each
//! status a route answers must be listed for its operation, each body must have a content type
//! listed for that status, and each JSON body must validate against the schema listed for it.
//! The hand-written indicator documents (`wire::write_indicator`) are held to `IndicatorOut` here.
//!
//! The check is stricter than JSON Schema reads the document, so that drift shows both ways:
//! - an object may hold only the properties its schema names (`additionalProperties: false` is
//!   added wherever the document leaves objects open);
//! - a nullable property must be present: serde writes a `None` as `null`, and a property that may
//!   be absent is documented as not nullable (`skip_serializing_if` with `nullable = false`).
//!
//! One scenario walks every route through the API itself, with a bearer holding exactly the scopes
//! the operation documents; then every authenticated route is replayed without a bearer, with an
//! invalid one and with one that lacks the documented scope. At the end every route must have
//! answered and every status the document lists must have been seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use cte_core::auth::Scope;
use cte_netskope::{NetskopeConnector, RetryPolicy};
use netskope_sim::{SimConfig, SimHandle, SimToken};
use serde_json::{json, Value};

use crate::harness::*;

const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
const IPV6: &str = "2001:db8::1";

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who<'a> {
    /// A bearer with exactly the scopes the operation documents (none for an open operation).
    Documented,
    /// No `Authorization` header.
    Nobody,
    /// This bearer.
    Bearer(&'a str),
}

/// A request body.
#[derive(Clone)]
enum Payload {
    None,
    Json(Value),
    Raw(&'static str, String),
}

/// A request that succeeded, kept to be replayed with other bearers.
struct Sample {
    method: Method,
    uri: String,
    payload: Payload,
}

struct Checker<'a> {
    app: &'a TestApp,
    doc: Value,
    /// `(method, path)` of every route the router serves, from `cte_api::routes()`.
    routes: Vec<(Method, String)>,
    /// Bearers by the scopes they hold.
    bearers: HashMap<Vec<Scope>, String>,
    validators: HashMap<(String, String, String), jsonschema::Validator>,
    /// The statuses seen per `(method, path)`.
    seen: BTreeMap<(String, String), BTreeSet<String>>,
    samples: BTreeMap<(String, String), Sample>,
    /// How many bodies were validated.
    validated: usize,
}

impl<'a> Checker<'a> {
    async fn new(app: &'a TestApp) -> Checker<'a> {
        let (s, _, body) = app.get_raw(None, "/api/openapi.json").await;
        assert_eq!(s, StatusCode::OK);
        let mut doc: Value = serde_json::from_slice(&body).unwrap();
        strict(&mut doc["components"]);
        let routes = cte_api::routes()
            .into_iter()
            .map(|(m, p)| (m.parse().unwrap(), p))
            .collect();
        Checker {
            app,
            doc,
            routes,
            bearers: HashMap::new(),
            validators: HashMap::new(),
            seen: BTreeMap::new(),
            samples: BTreeMap::new(),
            validated: 0,
        }
    }

    /// The route template `uri` is served by (`/api/cte/plugins/configurations/{plugin_id}`).
    fn route(&self, method: &Method, uri: &str) -> String {
        let path = uri.split('?').next().unwrap();
        let segments: Vec<&str> = path.split('/').collect();
        let matches = |template: &str| {
            let t: Vec<&str> = template.split('/').collect();
            t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
        };
        self.routes
            .iter()
            .find(|(m, p)| m == method && p == path)
            .or_else(|| self.routes.iter().find(|(m, p)| m == method && matches(p)))
            .unwrap_or_else(|| panic!("{method} {uri} is not a route"))
            .1
            .clone()
    }

    fn operation(&self, method: &Method, route: &str) -> &Value {
        let op = &self.doc["paths"][route][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {route} is not in the document");
        op
    }

    /// The scopes the operation's bearer requirement names; `None` for an open operation.
    fn documented_scopes(&self, method: &Method, route: &str) -> Option<Vec<Scope>> {
        let security = self.operation(method, route).get("security")?;
        let mut scopes: Vec<Scope> = security[0]["bearer"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {route}: security without bearer: {security}"))
            .iter()
            .map(|s| s.as_str().unwrap().parse().unwrap())
            .collect();
        scopes.sort();
        Some(scopes)
    }

    async fn bearer(&mut self, scopes: Vec<Scope>) -> String {
        if let Some(b) = self.bearers.get(&scopes) {
            return b.clone();
        }
        let b = self.app.login_new(&scopes).await;
        self.bearers.insert(scopes, b.clone());
        b
    }

    /// Sends a request, asserts its status is `expect`, and checks the answer against the
    /// document. Returns the body (`Value::Null` when it is not JSON).
    async fn send(
        &mut self,
        who: Who<'_>,
        method: Method,
        uri: &str,
        payload: Payload,
        expect: StatusCode,
    ) -> Value {
        let route = self.route(&method, uri);
        let bearer = match who {
            Who::Documented => match self.documented_scopes(&method, &route) {
                Some(scopes) => Some(self.bearer(scopes).await),
                None => None,
            },
            Who::Nobody => None,
            Who::Bearer(b) => Some(b.to_string()),
        };
        let mut req = Request::builder().method(method.clone()).uri(uri);
        if let Some(b) = &bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
        }
        let req = match &payload {
            Payload::None => req.body(Body::empty()),
            Payload::Json(v) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            Payload::Raw(content_type, text) => req
                .header(header::CONTENT_TYPE, *content_type)
                .body(Body::from(text.clone())),
        }
        .unwrap();
        let (status, headers, text) = self.app.call_with_headers(req).await;
        assert_eq!(status, expect, "{method} {uri}: {text}");
        let body = self.check(&method, &route, status, &headers, &text);
        let key = (method.to_string(), route);
        self.seen
            .entry(key.clone())
            .or_default()
            .insert(status.as_str().to_string());
        if status.is_success() && matches!(who, Who::Documented) {
            self.samples.entry(key).or_insert(Sample {
                method,
                uri: uri.to_string(),
                payload,
            });
        }
        body
    }

    /// The checks of one answer against the operation's response for its status.
    fn check(
        &mut self,
        method: &Method,
        route: &str,
        status: StatusCode,
        headers: &axum::http::HeaderMap,
        text: &str,
    ) -> Value {
        let what = format!("{method} {route} answered {status}");
        let response = &self.operation(method, route)["responses"][status.as_str()];
        assert!(
            response.is_object(),
            "{what}, a status the document does not list for it: {text}"
        );
        if text.is_empty() {
            assert!(
                response.get("content").is_none(),
                "{what} with no body, but the document gives it one"
            );
            return Value::Null;
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .unwrap_or_else(|| panic!("{what} without a content type"))
            .to_str()
            .unwrap();
        let media = content_type.split(';').next().unwrap().trim().to_string();
        let content = &response["content"][&media];
        assert!(
            content.is_object(),
            "{what} as {media}, which the document does not list: {response}"
        );
        if media != "application/json" {
            return Value::Null;
        }
        let body: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text}"));
        let key = (
            method.to_string(),
            route.to_string(),
            status.as_str().to_string(),
        );
        if !self.validators.contains_key(&key) {
            let mut schema = content["schema"].clone();
            assert!(schema.is_object(), "{what}: no schema for {media}");
            strict(&mut schema);
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [schema],
                "components": self.doc["components"],
            });
            let validator = jsonschema::draft202012::options()
                .build(&root)
                .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
            self.validators.insert(key.clone(), validator);
        }
        let errors: Vec<String> = self.validators[&key]
            .iter_errors(&body)
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} with a body its schema refuses:\n{}\nbody: {body}",
            errors.join("\n")
        );
        self.validated += 1;
        body
    }

    async fn get(&mut self, uri: &str, expect: StatusCode) -> Value {
        self.send(Who::Documented, Method::GET, uri, Payload::None, expect)
            .await
    }

    async fn json(&mut self, method: Method, uri: &str, body: Value, expect: StatusCode) -> Value {
        self.send(Who::Documented, method, uri, Payload::Json(body), expect)
            .await
    }

    async fn form(&mut self, fields: &[(&str, &str)], expect: StatusCode) -> Value {
        let text = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let payload = Payload::Raw("application/x-www-form-urlencoded", text);
        self.send(Who::Documented, Method::POST, "/api/auth", payload, expect)
            .await
    }

    /// Replays a successful request of every authenticated route without a bearer, with an
    /// invalid one and with one holding every scope but those the operation documents: 401, 401,
    /// 403, each checked like any other answer. Nothing is changed: each is refused.
    async fn refuse_every_authenticated_route(&mut self) {
        let routes = self.routes.clone();
        for (method, route) in routes {
            let Some(scopes) = self.documented_scopes(&method, &route) else {
                continue;
            };
            let key = (method.to_string(), route.clone());
            let Some(sample) = self.samples.get(&key) else {
                panic!("{method} {route} never succeeded, so its refusals were not checked");
            };
            let (uri, payload) = (sample.uri.clone(), sample.payload.clone());
            let m = sample.method.clone();
            let lacking = Scope::ALL
                .into_iter()
                .filter(|s| !scopes.contains(s))
                .collect();
            let lacking = self.bearer(lacking).await;
            for (who, expect) in [
                (Who::Nobody, StatusCode::UNAUTHORIZED),
                (Who::Bearer("not-a-token"), StatusCode::UNAUTHORIZED),
                (Who::Bearer(&lacking), StatusCode::FORBIDDEN),
            ] {
                self.send(who, m.clone(), &uri, payload.clone(), expect)
                    .await;
            }
        }
    }

    /// Spends a fresh token's whole write budget, then sends every route that needs a write scope
    /// with it: 429 with `Retry-After`, checked like any other answer.
    async fn refuse_every_write_over_budget(&mut self) {
        let spent = self.app.login_new(&Scope::ALL).await;
        let budget = cte_api::Limits::default().write_budget_per_minute;
        for _ in 0..budget {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/api/cte/tags")
                .header(header::AUTHORIZATION, format!("Bearer {spent}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let (status, _, text) = self.app.call_with_headers(req).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        }
        let routes = self.routes.clone();
        for (method, route) in routes {
            let Some(scopes) = self.documented_scopes(&method, &route) else {
                continue;
            };
            if scopes.iter().all(|s| *s == Scope::CteRead) {
                continue;
            }
            let key = (method.to_string(), route.clone());
            let sample = &self.samples[&key];
            let (m, uri, payload) = (
                sample.method.clone(),
                sample.uri.clone(),
                sample.payload.clone(),
            );
            self.send(
                Who::Bearer(&spent),
                m,
                &uri,
                payload,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
    }

    /// Every route answered, and every status its operation lists was seen on it (an alias may
    /// leave its errors to its canonical route).
    fn assert_complete(&self) {
        let aliases: HashMap<&str, &str> = [
            ("/api/cte/indicators", "/api/cte/indicators/"),
            ("/api/cte/dashboards", "/api/cte/dashboards/"),
        ]
        .into_iter()
        .collect();
        let mut missing = Vec::new();
        for (method, route) in &self.routes {
            let key = (method.to_string(), route.clone());
            let seen = self.seen.get(&key).cloned().unwrap_or_default();
            if !seen.iter().any(|s| s.starts_with('2')) {
                missing.push(format!("{method} {route}: no 2xx"));
            }
            let canonical = aliases.get(route.as_str()).map(|c| {
                let key = (method.to_string(), c.to_string());
                self.seen.get(&key).cloned().unwrap_or_default()
            });
            let responses = self.operation(method, route)["responses"]
                .as_object()
                .unwrap();
            for status in responses.keys() {
                let on_canonical = canonical.as_ref().is_some_and(|c| c.contains(status));
                if !seen.contains(status) && !on_canonical {
                    missing.push(format!("{method} {route}: {status} never seen"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "documented answers the test did not provoke:\n{}",
            missing.join("\n")
        );
    }
}

/// Closes open objects and makes nullable properties required, in place (see the module doc).
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                let nullable: Vec<Value> = properties
                    .iter()
                    .filter(|(_, p)| is_nullable(p))
                    .map(|(name, _)| json!(name))
                    .collect();
                let required = map.entry("required").or_insert_with(|| json!([]));
                let list = required.as_array_mut().unwrap();
                for name in nullable {
                    if !list.contains(&name) {
                        list.push(name);
                    }
                }
                map.entry("additionalProperties").or_insert(json!(false));
            }
            for (key, value) in map.iter_mut() {
                if key == "properties" {
                    // A map of names to schemas: walk the schemas, not the map.
                    for p in value
                        .as_object_mut()
                        .into_iter()
                        .flat_map(|m| m.values_mut())
                    {
                        strict(p);
                    }
                } else if key != "example" && key != "examples" {
                    strict(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

fn is_nullable(schema: &Value) -> bool {
    let null = json!("null");
    match &schema["type"] {
        Value::String(t) if t == "null" => return true,
        Value::Array(types) if types.contains(&null) => return true,
        _ => {}
    }
    ["oneOf", "anyOf"].iter().any(|k| {
        schema[k]
            .as_array()
            .is_some_and(|alts| alts.iter().any(|a| a["type"] == null))
    })
}

async fn simulator() -> SimHandle {
    netskope_sim::spawn(SimConfig {
        tokens: vec![SimToken::full("test-token")],
        hash_lists: vec!["ce-hashes".into()],
        wait_time: 0,
        ..SimConfig::default()
    })
    .await
    .expect("start simulator")
}

fn connector() -> NetskopeConnector {
    NetskopeConnector {
        retry: Some(RetryPolicy::none()),
    }
}

#[tokio::test]
async fn every_answer_of_every_route_matches_the_document() {
    use StatusCode as S;
    let sim = simulator().await;
    let app = TestApp::with_connector(Arc::new(connector())).await;
    let mut c = Checker::new(&app).await;

    // Tokens and bearers.
    let creds = app.token(RO, None);
    let login = [
        ("grant_type", "client_credentials"),
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.as_str()),
    ];
    c.form(&login, S::OK).await;
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", creds.client_id.as_str()),
        ("client_secret", "wrong"),
    ];
    c.form(&wrong, S::UNAUTHORIZED).await;
    let too_much = [login[0], login[1], login[2], ("scope", "admin")];
    c.form(&too_much, S::FORBIDDEN).await;
    c.form(&[("grant_type", "password")], S::UNPROCESSABLE_ENTITY)
        .await;
    let tokens = "/api/users/tokens";
    let new = c
        .send(
            Who::Documented,
            Method::POST,
            "/api/users/tokens?description=ci&expire_after=-1&scopes=cte_read",
            Payload::None,
            S::CREATED,
        )
        .await;
    let id = new["client_id"].as_str().unwrap().to_string();
    c.send(
        Who::Documented,
        Method::POST,
        "/api/users/tokens?scopes=bogus",
        Payload::None,
        S::BAD_REQUEST,
    )
    .await;
    c.send(
        Who::Documented,
        Method::POST,
        "/api/users/tokens?expire_after=soon",
        Payload::None,
        S::UNPROCESSABLE_ENTITY,
    )
    .await;
    c.get(tokens, S::OK).await;
    let gone = json!({"client_id": id});
    c.json(Method::DELETE, tokens, gone.clone(), S::OK).await;
    c.json(Method::DELETE, tokens, gone, S::NOT_FOUND).await;
    c.json(Method::DELETE, tokens, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;

    // Tenants.
    let tenants = "/api/settings/tenants";
    let tenant = |name: &str, v2: &str| {
        json!({"name": name, "tenantName": sim.base_url, "token": "test-v1-token", "v2token": v2,
               "initialRange": 3, "useSystemProxy": false})
    };
    c.json(
        Method::POST,
        tenants,
        tenant("Prod", "test-token"),
        S::CREATED,
    )
    .await;
    c.json(
        Method::POST,
        tenants,
        tenant("Bad", "wrong"),
        S::BAD_REQUEST,
    )
    .await;
    let duplicate = tenant("Prod", "test-token");
    c.json(Method::POST, tenants, duplicate, S::UNPROCESSABLE_ENTITY)
        .await;
    c.get(tenants, S::OK).await;
    let patch = |body: Value| (Method::PATCH, tenants, body);
    for ((m, uri, body), expect) in [
        (patch(json!({"name": "Prod", "initialRange": 5})), S::OK),
        (
            patch(json!({"name": "Prod", "v2token": "wrong"})),
            S::BAD_REQUEST,
        ),
        (patch(json!({"name": "Nope"})), S::NOT_FOUND),
        (
            patch(json!({"name": "Prod", "initialRange": 999})),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        c.json(m, uri, body, expect).await;
    }
    c.json(
        Method::POST,
        tenants,
        tenant("Spare", "test-token"),
        S::CREATED,
    )
    .await;
    c.json(Method::DELETE, tenants, json!({"name": "Spare"}), S::OK)
        .await;
    c.json(
        Method::DELETE,
        tenants,
        json!({"name": "Spare"}),
        S::NOT_FOUND,
    )
    .await;
    c.json(Method::DELETE, tenants, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;

    // Configurations.
    let configs = "/api/cte/plugins/configurations";
    let sources = "/api/cte/plugins/configurations/api_sources";
    let netskope = "/api/cte/plugins/configurations/netskope";
    c.json(Method::POST, sources, json!({"name": "DW"}), S::CREATED)
        .await;
    c.json(Method::POST, sources, json!({"name": "Spare"}), S::CREATED)
        .await;
    let ns = json!({"name": "NS", "tenant": "Prod"});
    c.json(Method::POST, netskope, ns, S::CREATED).await;
    let no_tenant = json!({"name": "NS2", "tenant": "Nope"});
    c.json(Method::POST, netskope, no_tenant, S::BAD_REQUEST)
        .await;
    let no_plugin = "/api/cte/plugins/configurations/nope";
    c.json(Method::POST, no_plugin, json!({"name": "X"}), S::NOT_FOUND)
        .await;
    c.json(
        Method::POST,
        sources,
        json!({"name": "DW"}),
        S::UNPROCESSABLE_ENTITY,
    )
    .await;
    c.get(configs, S::OK).await;
    c.get(&format!("{configs}?active=maybe"), S::UNPROCESSABLE_ENTITY)
        .await;
    for (body, expect) in [
        (json!({"name": "DW", "reputation": 0}), S::OK),
        (json!({"name": "NS", "tenant": "Nope"}), S::BAD_REQUEST),
        (json!({"name": "Nope"}), S::NOT_FOUND),
        (
            json!({"name": "DW", "reputation": 11}),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        c.json(Method::PATCH, configs, body, expect).await;
    }
    let delete = "/api/cte/configuration";
    c.json(Method::DELETE, delete, json!({"name": "Spare"}), S::OK)
        .await;
    c.json(
        Method::DELETE,
        delete,
        json!({"name": "Spare"}),
        S::NOT_FOUND,
    )
    .await;
    c.json(Method::DELETE, delete, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;
    // A tenant a configuration uses stays.
    c.json(
        Method::DELETE,
        tenants,
        json!({"name": "Prod"}),
        S::BAD_REQUEST,
    )
    .await;

    // Tags.
    let tags = "/api/cte/tags";
    for name in ["t", "allow", "gone"] {
        c.json(Method::POST, tags, json!({"name": name}), S::OK)
            .await;
    }
    c.json(
        Method::POST,
        tags,
        json!({"name": "t"}),
        S::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Indicators.
    let ind = "/api/cte/indicators/";
    let batch = json!([
        {"value": "new.example", "type": "domain", "source": "DW", "tags": ["t"],
         "expiresAt": "2030-01-01T00:00:00Z"},
        {"value": SHA, "type": "sha256", "source": "DW", "severity": "high"},
        {"value": IPV6, "type": "ipv6", "source": "DW"},
        {"value": "1.1.1.1", "type": "ipv4", "source": "DW"},
    ]);
    let stored = c.json(Method::POST, ind, batch, S::CREATED).await;
    assert_eq!(stored.as_array().unwrap().len(), 4, "{stored}");
    let alias = "/api/cte/indicators";
    let one = json!([{"value": "2.2.2.2", "type": "ipv4", "source": "DW"}]);
    c.json(Method::POST, alias, one, S::CREATED).await;
    let refused = json!([{"value": "x", "type": "ipv4", "source": "DW"}, 3]);
    let body = c
        .json(Method::POST, ind, refused, S::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    c.json(Method::POST, ind, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;
    c.send(
        Who::Documented,
        Method::POST,
        ind,
        Payload::Raw("application/json", "[{".into()),
        S::UNPROCESSABLE_ENTITY,
    )
    .await;
    // One byte over the default 64 MiB.
    c.send(
        Who::Documented,
        Method::POST,
        ind,
        Payload::Raw("application/json", " ".repeat((64 << 20) + 1)),
        S::PAYLOAD_TOO_LARGE,
    )
    .await;
    let edit = json!({"value": SHA.to_uppercase(), "type": "sha256", "source": "DW",
                      "reputation": 7, "comments": "edited"});
    let edited = c.json(Method::PATCH, ind, edit.clone(), S::OK).await;
    assert_eq!(edited["comments"], "edited", "{edited}");
    c.json(Method::PATCH, alias, edit, S::OK).await;
    let retract = json!({"value": "2.2.2.2", "source": "DW", "retracted": true});
    assert_eq!(
        c.json(Method::PATCH, ind, retract, S::OK).await,
        json!(true)
    );
    let no_source = json!({"value": SHA, "type": "sha256", "source": "Nope"});
    c.json(Method::PATCH, ind, no_source, S::BAD_REQUEST).await;
    let unknown = json!({"value": "9.9.9.9", "type": "ipv4", "source": "DW"});
    c.json(Method::PATCH, ind, unknown, S::NOT_FOUND).await;
    c.json(Method::PATCH, ind, json!([]), S::UNPROCESSABLE_ENTITY)
        .await;
    let bulk = "/api/cte/indicators/bulk";
    let add = json!({"locator": {"values": ["1.1.1.1"]}, "tags": {"add": ["allow"]}});
    c.json(Method::PATCH, bulk, add, S::CREATED).await;
    let bad_query = json!({"locator": {"query": "not json"}, "tags": {"add": ["t"]}});
    c.json(Method::PATCH, bulk, bad_query, S::BAD_REQUEST).await;
    c.json(
        Method::PATCH,
        bulk,
        json!({"locator": {}}),
        S::UNPROCESSABLE_ENTITY,
    )
    .await;
    c.json(
        Method::DELETE,
        bulk,
        json!({"values": ["2.2.2.2"]}),
        S::CREATED,
    )
    .await;
    let bad_query = json!({"query": "not json"});
    c.json(Method::DELETE, bulk, bad_query, S::BAD_REQUEST)
        .await;
    c.json(Method::DELETE, bulk, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;

    // Business rules.
    let rules = "/api/cte/business_rules";
    let rule = "/api/cte/business_rule";
    let r = json!({
        "name": "r",
        "exceptions": [
            {"name": "allowed", "tags": ["allow"]},
            {"name": "low", "filters": {"query": "severity = low", "mongo": "{}"}},
        ],
        "sharedWith": {"DW": {"NS": [
            {"label": "Add to URL List", "value": "url", "parameters": {
                "list": "create", "name": "ce-iocs", "url_list_type": "Exact",
                "max_url_list_cap": 7, "default_url": "cedefaultpush.io"}},
            {"label": "Add to File Hash List", "value": "file", "parameters": {
                "file_list": "ce-hashes", "max_file_hash_cap": 8}},
        ]}},
    });
    c.json(Method::POST, rules, r, S::OK).await;
    c.json(Method::POST, rules, json!({"name": "spare"}), S::OK)
        .await;
    let bad_filter = json!({"name": "f", "filters": {"query": "", "mongo": "{oops"}});
    c.json(Method::POST, rules, bad_filter, S::BAD_REQUEST)
        .await;
    let muted = json!({"name": "m", "muted": true});
    c.json(Method::POST, rules, muted, S::UNPROCESSABLE_ENTITY)
        .await;
    c.get(rules, S::OK).await;
    for (body, expect) in [
        (json!({"name": "spare", "muted": false}), S::OK),
        (
            json!({"name": "spare", "filters": {"mongo": "{oops"}}),
            S::BAD_REQUEST,
        ),
        (json!({"name": "nope"}), S::NOT_FOUND),
        (
            json!({"name": "spare", "muted": true}),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        c.json(Method::PATCH, rule, body, expect).await;
    }
    c.json(Method::DELETE, rule, json!({"name": "spare"}), S::OK)
        .await;
    c.json(Method::DELETE, rule, json!({"name": "spare"}), S::NOT_FOUND)
        .await;
    c.json(Method::DELETE, rule, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;

    // Tags again, now that a rule refers to one.
    c.get(tags, S::OK).await;
    c.get(&format!("{tags}?filters=%7B"), S::BAD_REQUEST).await;
    c.json(Method::DELETE, tags, json!({"name": "gone"}), S::OK)
        .await;
    c.json(Method::DELETE, tags, json!({"name": "gone"}), S::NOT_FOUND)
        .await;
    c.json(
        Method::DELETE,
        tags,
        json!({"name": "allow"}),
        S::BAD_REQUEST,
    )
    .await;
    c.json(Method::DELETE, tags, json!({}), S::UNPROCESSABLE_ENTITY)
        .await;

    // Share once, so that documents, the preview and the explanation carry statuses; the tenant
    // refuses the IPv6 address in a URL list, which leaves a destination with a reason.
    let clock = {
        let now = app.now();
        move || now
    };
    cte_engine::share::share_all(
        app.store(),
        &connector(),
        &clock,
        &cte_engine::share::ShareLease::new("w"),
        None,
    )
    .await
    .unwrap();
    let listed = c.get(&format!("{ind}?limit=100&sort=value"), S::OK).await;
    let reasons = listed
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["sources"][0]["destinations"].as_array().unwrap())
        .filter(|d| d.get("reason").is_some())
        .count();
    assert!(reasons > 0, "no destination with a reason: {listed}");
    c.get(&format!("{ind}?limit=2"), S::OK).await;
    c.get(&format!("{alias}?limit=2"), S::OK).await;
    c.get(&format!("{ind}?aggregate=true"), S::OK).await;
    c.get(&format!("{ind}?limit=101"), S::BAD_REQUEST).await;
    c.get(&format!("{ind}?limit=x"), S::UNPROCESSABLE_ENTITY)
        .await;

    // Sharing, read-only.
    let test = "/api/cte/business_rules/test";
    c.get(
        &format!("{test}?rule=r&sourceConfiguration=DW&destinationConfiguration=NS"),
        S::OK,
    )
    .await;
    c.get(&format!("{test}?sourceConfiguration=DW"), S::BAD_REQUEST)
        .await;
    c.get(
        &format!("{test}?rule=nope&sourceConfiguration=DW&destinationConfiguration=NS"),
        S::NOT_FOUND,
    )
    .await;
    let preview = "/api/cte/sharing/preview";
    let target = |rule: &str, target: &str| {
        json!({"rule": rule, "sourceConfiguration": "DW", "destinationConfiguration": "NS",
               "target": target})
    };
    c.json(Method::POST, preview, target("r", "url"), S::OK)
        .await;
    c.json(Method::POST, preview, target("r", "file"), S::OK)
        .await;
    c.json(Method::POST, preview, target("r", "x"), S::BAD_REQUEST)
        .await;
    c.json(Method::POST, preview, target("nope", "url"), S::NOT_FOUND)
        .await;
    c.json(
        Method::POST,
        preview,
        json!({"rule": 3}),
        S::UNPROCESSABLE_ENTITY,
    )
    .await;
    let explain = "/api/cte/indicators/explain";
    let on_list = c.get(&format!("{explain}?value=new.example"), S::OK).await;
    assert!(
        !on_list["onLists"].as_array().unwrap().is_empty(),
        "{on_list}"
    );
    let failed = c
        .get(&format!("{explain}?value={}", enc(IPV6)), S::OK)
        .await;
    assert!(failed["statuses"][0]["reason"].is_string(), "{failed}");
    c.get(explain, S::BAD_REQUEST).await;
    c.get(&format!("{explain}?value=nope.example"), S::NOT_FOUND)
        .await;

    // Dashboards.
    let dash = "/api/cte/dashboards/";
    let grouped = c
        .get(
            &format!("{dash}?group_by=type&group_by=sources.source"),
            S::OK,
        )
        .await;
    assert!(!grouped.as_array().unwrap().is_empty(), "{grouped}");
    c.get("/api/cte/dashboards?group_by=type", S::OK).await;
    c.get(&format!("{dash}?group_by=nope"), S::BAD_REQUEST)
        .await;
    c.get(&format!("{dash}?limit=x"), S::UNPROCESSABLE_ENTITY)
        .await;
    c.get("/api/cte/dashboard/pull", S::OK).await;

    // The documentation itself, and health.
    c.get("/api/openapi.json", S::OK).await;
    c.get("/api/docs", S::OK).await;
    c.get("/api/health", S::OK).await;
    c.get("/metrics", S::OK).await;

    c.refuse_every_authenticated_route().await;
    c.refuse_every_write_over_budget().await;
    // Last, as it ends the database: health once the file is no database any more.
    let db = app.db_path();
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    std::fs::write(&db, vec![0x5a; len]).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::write(std::path::PathBuf::from(wal), b"").unwrap();
    c.get("/api/health", S::SERVICE_UNAVAILABLE).await;
    c.assert_complete();
    assert!(c.validated > 150, "only {} bodies validated", c.validated);
}

/// The check can fail: an answer its schema refuses, and a status the document does not list.
#[tokio::test]
async fn the_check_refuses_what_the_document_does_not_describe() {
    let app = TestApp::new().await;
    let mut c = Checker::new(&app).await;
    let typed = |v: &str| {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::CONTENT_TYPE, v.parse().unwrap());
        h
    };
    let (get, tags) = (Method::GET, "/api/cte/tags");
    let run = |c: &mut Checker<'_>, status: StatusCode, body: &str| {
        let body = body.to_string();
        let headers = typed("application/json");
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.check(&get, tags, status, &headers, &body);
        }))
        .is_ok()
    };
    let tag = r##"{"name":"t","color":"#969696","appliedOn":"none"}"##;
    assert!(run(&mut c, StatusCode::OK, &format!("[{tag}]")));
    for (status, body) in [
        // A field the schema does not name.
        (
            StatusCode::OK,
            r##"[{"name":"t","color":"#969696","appliedOn":"none","extra":1}]"##,
        ),
        // A missing field.
        (StatusCode::OK, r#"[{"name":"t","appliedOn":"none"}]"#),
        // A field of the wrong type.
        (
            StatusCode::OK,
            r##"[{"name":"t","color":"#969696","appliedOn":3}]"##,
        ),
        // Not an array.
        (StatusCode::OK, tag),
        // An error without its detail.
        (StatusCode::BAD_REQUEST, r#"{"message":"x"}"#),
        // A status the document does not list for the operation.
        (StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#),
        (StatusCode::CREATED, "[]"),
    ] {
        assert!(!run(&mut c, status, body), "{status} {body} passed");
    }
    // A nullable property must be present, even as null.
    let (get, configs) = (Method::GET, "/api/cte/plugins/configurations");
    let config = json!({
        "name": "DW", "plugin": "api_sources", "active": true, "tenant": null,
        "sslValidation": true, "pollInterval": 60, "pollIntervalUnit": "seconds",
        "reputation": 0, "ageAfterDays": 90, "parameters": {}, "tagsAggregateStrategy": "append",
        "createdAt": "2022-05-20T00:00:00.000Z",
        "lastRunAt": {"pull": null, "share": null},
        "lastRunSuccess": {"pull": null, "share": null},
        "lastRunMessage": {"pull": null, "share": null},
    });
    let headers = typed("application/json");
    c.check(
        &get,
        configs,
        StatusCode::OK,
        &headers,
        &json!([config]).to_string(),
    );
    let mut without = config.clone();
    without.as_object_mut().unwrap().remove("tenant");
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.check(
            &get,
            configs,
            StatusCode::OK,
            &headers,
            &json!([without]).to_string(),
        );
    }));
    assert!(refused.is_err(), "a configuration without tenant passed");
}
