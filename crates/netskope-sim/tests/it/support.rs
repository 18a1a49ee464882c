//! Helpers shared by the integration tests: start a simulator, send requests, read JSON answers.

use netskope_sim::{SimConfig, SimHandle};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const TOKEN: &str = "test-token";

pub async fn start(config: SimConfig) -> SimHandle {
    netskope_sim::spawn(config).await.expect("simulator starts")
}

pub async fn start_default() -> SimHandle {
    start(SimConfig::default()).await
}

/// One answer: status, headers and the body parsed as JSON (`Value::Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn send(
    sim: &SimHandle,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let client = reqwest::Client::new();
    let mut req = client.request(method, format!("{}{}", sim.base_url, path));
    if let Some(token) = token {
        req = req.header("Netskope-Api-Token", token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let res = req.send().await.expect("request is answered");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get(sim: &SimHandle, path: &str) -> Answer {
    send(sim, Method::GET, path, Some(TOKEN), None).await
}

pub async fn post(sim: &SimHandle, path: &str, body: &Value) -> Answer {
    send(sim, Method::POST, path, Some(TOKEN), Some(body)).await
}
