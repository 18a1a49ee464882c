//! Connection handling: the gateway layer (body limit, faults, rate limit, token check, request log) in front of
//! the API router, served over plain HTTP and HTTPS.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use axum::Router;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::api::gateway_error;
use crate::config::Fault;
use crate::state::{RequestRecord, Shared};
use crate::validate::MAX_BODY_BYTES;

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

#[derive(Clone)]
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) api: Router,
    pub(crate) inspect: Router,
}

/// Accepts connections until `shutdown` flips; each connection is served on its own task.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    app: App,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let app = app.clone();
                match tls.clone() {
                    None => { connections.spawn(serve_connection(stream, app, false)); }
                    Some(acceptor) => {
                        connections.spawn(async move {
                            // A failed handshake (e.g. an untrusting client) just ends the connection.
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, app, true).await;
                            }
                        });
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection<S>(stream: S, app: App, tls: bool)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(app.clone(), req, tls));
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(
    app: App,
    req: Request<Incoming>,
    tls: bool,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_owned();
    if path == "/__sim" || path.starts_with("/__sim/") {
        let req = req.map(Body::new);
        return Ok(into_ok(app.inspect.oneshot(req).await));
    }
    let method = req.method().to_string();
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    let mut record = RequestRecord {
        seq: 0,
        method,
        path: path.clone(),
        query,
        status: 0,
        body_len: 0,
        body: None,
        tls,
    };

    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            let response =
                gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body exceeds 16 MB");
            return Ok(finish(&app, record, response, None));
        }
        Err(_) => return Err(DropConnection),
    };
    record.body_len = bytes.len();
    if bytes.len() <= 64 * 1024 {
        record.body = std::str::from_utf8(&bytes).ok().map(str::to_owned);
    }

    // Faults first: they model the network and gateway, before any accounting.
    let (delay, action) = take_faults(&app.shared, &path);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match action {
        Some(FaultAction::Drop) => {
            log(&app.shared, record);
            return Err(DropConnection);
        }
        Some(FaultAction::Fail {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response =
                gateway_error(status, &format!("Injected fault: {}", status.as_u16()));
            let headers = response.headers_mut();
            if status == StatusCode::TOO_MANY_REQUESTS {
                // What the tenant sends with a 429 (reference §5): the official SDK and CLI wait Retry-After,
                // the iterator client waits ratelimit-reset when ratelimit-remaining is 0 (issue 23).
                let wait = HeaderValue::from(retry_after.unwrap_or(1));
                headers.insert("retry-after", wait.clone());
                headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
                headers.insert("ratelimit-reset", wait);
            } else if let Some(seconds) = retry_after {
                headers.insert("retry-after", HeaderValue::from(seconds));
            }
            return Ok(finish(&app, record, response, None));
        }
        None => {}
    }

    let rate = rate_limit(&app.shared);
    if let Some(RateDecision { allowed: false, .. }) = rate {
        let mut response = gateway_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return Ok(finish(&app, record, response, rate));
    }

    if path.starts_with("/api/v2/") {
        if let Some(response) = authorize(&app.shared, &parts, &path) {
            return Ok(finish(&app, record, response, rate));
        }
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    let response = into_ok(app.api.clone().oneshot(req).await);
    Ok(finish(&app, record, response, rate))
}

fn into_ok(result: Result<Response<Body>, Infallible>) -> Response<Body> {
    match result {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `None` when the token may make this request, else the 401 or 403 answer.
fn authorize(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    path: &str,
) -> Option<Response<Body>> {
    let presented = parts
        .headers
        .get("netskope-api-token")
        .and_then(|v| v.to_str().ok());
    let Some(token) = presented.and_then(|t| shared.config.tokens.iter().find(|k| k.token == t))
    else {
        return Some(gateway_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid or missing Netskope-Api-Token",
        ));
    };
    if !token.allows(&parts.method, path) {
        let message = format!(
            "Forbidden: the token has no privilege for {} {path}",
            parts.method
        );
        return Some(gateway_error(StatusCode::FORBIDDEN, &message));
    }
    None
}

fn finish(
    app: &App,
    mut record: RequestRecord,
    mut response: Response<Body>,
    rate: Option<RateDecision>,
) -> Response<Body> {
    if let Some(rate) = rate {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(rate.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(rate.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(rate.reset));
    }
    record.status = response.status().as_u16();
    log(&app.shared, record);
    response
}

/// The request log keeps the most recent entries only, so a long-running simulator does not grow without bound.
pub(crate) const MAX_LOGGED_REQUESTS: usize = 10_000;

fn log(shared: &Shared, mut record: RequestRecord) {
    let mut state = shared.lock();
    state.logged += 1;
    record.seq = state.logged;
    if state.requests.len() >= MAX_LOGGED_REQUESTS {
        state.requests.pop_front();
    }
    state.requests.push_back(record);
}

enum FaultAction {
    Fail {
        status: u16,
        retry_after: Option<u64>,
    },
    Drop,
}

/// Consumes the faults that match `path`: every matching latency fault adds its delay, and the first matching
/// fail or drop fault decides the answer.
fn take_faults(shared: &Shared, path: &str) -> (Duration, Option<FaultAction>) {
    let mut state = shared.lock();
    let mut delay = Duration::ZERO;
    let mut action = None;
    for fault in state.faults.iter_mut() {
        if !fault.matches(path) {
            continue;
        }
        match fault {
            Fault::Latency { millis, count, .. } if count.is_none_or(|c| c > 0) => {
                delay += Duration::from_millis(*millis);
                if let Some(c) = count {
                    *c -= 1;
                }
            }
            Fault::Fail {
                status,
                count,
                retry_after,
                ..
            } if action.is_none() && *count > 0 => {
                *count -= 1;
                action = Some(FaultAction::Fail {
                    status: *status,
                    retry_after: *retry_after,
                });
            }
            Fault::Drop { count, .. } if action.is_none() && *count > 0 => {
                *count -= 1;
                action = Some(FaultAction::Drop);
            }
            _ => {}
        }
    }
    state.faults.retain(|f| match f {
        Fault::Latency { count, .. } => count.is_none_or(|c| c > 0),
        Fault::Fail { count, .. } | Fault::Drop { count, .. } => *count > 0,
    });
    (delay, action)
}

#[derive(Clone, Copy)]
struct RateDecision {
    allowed: bool,
    limit: u32,
    remaining: u32,
    reset: u64,
}

/// One-second windows shared by all `/api/` requests (the tenant's "Global Rate Limit" in requests per second,
/// rest-api-v2-overview). A window opens at the first request after the previous window closed, so a burst of
/// `limit + 1` requests within a second always meets a 429 (no dependence on wall-clock second boundaries).
fn rate_limit(shared: &Shared) -> Option<RateDecision> {
    let limit = shared.config.rate_limit_rps?;
    let now = Instant::now();
    let mut state = shared.lock();
    let expired = state
        .rate
        .opened
        .is_none_or(|opened| now.duration_since(opened) >= WINDOW);
    if expired {
        state.rate.opened = Some(now);
        state.rate.used = 0;
    }
    let allowed = state.rate.used < limit;
    if allowed {
        state.rate.used += 1;
    }
    // Whole seconds until the window closes, rounded up: always 1 for a one-second window.
    let left = state.rate.opened.map_or(WINDOW, |opened| {
        WINDOW.saturating_sub(now.duration_since(opened))
    });
    let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    Some(RateDecision {
        allowed,
        limit,
        remaining: limit - state.rate.used,
        reset: reset.max(1),
    })
}

const WINDOW: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    fn record() -> RequestRecord {
        RequestRecord {
            seq: 0,
            method: "GET".into(),
            path: "/api/v2/x".into(),
            query: None,
            status: 200,
            body_len: 0,
            body: None,
            tls: false,
        }
    }

    #[test]
    fn request_log_keeps_the_most_recent_entries() {
        let shared = Shared::new(SimConfig::default()).unwrap();
        for _ in 0..MAX_LOGGED_REQUESTS + 5 {
            log(&shared, record());
        }
        let state = shared.lock();
        assert_eq!(state.requests.len(), MAX_LOGGED_REQUESTS);
        assert_eq!(state.requests.front().unwrap().seq, 6);
        assert_eq!(
            state.requests.back().unwrap().seq,
            (MAX_LOGGED_REQUESTS + 5) as u64
        );
    }

    /// Issue 15, item 5: a fault armed for `/api/v2/events/data` also hit the Data Export iterator, because
    /// faults matched plain string prefixes.
    #[test]
    fn faults_match_whole_path_segments() {
        let config = SimConfig {
            faults: vec![Fault::fail(502, 10, Some("/api/v2/events/data"))],
            ..SimConfig::default()
        };
        let shared = Shared::new(config).unwrap();
        for path in [
            "/api/v2/events/dataexport/alerts/malware",
            "/api/v2/events/datasearch/alert",
            "/api/v2/events",
        ] {
            let (_, action) = take_faults(&shared, path);
            assert!(action.is_none(), "{path}");
        }
        for path in ["/api/v2/events/data", "/api/v2/events/data/audit"] {
            let (_, action) = take_faults(&shared, path);
            assert!(
                matches!(action, Some(FaultAction::Fail { status: 502, .. })),
                "{path}"
            );
        }
        let trailing = Fault::fail(502, 1, Some("/api/v2/policy/urllist/"));
        assert!(trailing.matches("/api/v2/policy/urllist"));
        assert!(trailing.matches("/api/v2/policy/urllist/7/append"));
        assert!(!trailing.matches("/api/v2/policy/urllistx"));
    }

    #[test]
    fn faults_match_by_prefix_and_run_down() {
        let config = SimConfig {
            faults: vec![
                Fault::latency(Duration::from_millis(5), Some(1), None),
                Fault::fail(503, 1, Some("/api/v2/policy")),
                Fault::drop_connection(1, None),
            ],
            ..SimConfig::default()
        };
        let shared = Shared::new(config).unwrap();
        let (delay, action) = take_faults(&shared, "/api/v2/events/x");
        assert_eq!(delay, Duration::from_millis(5));
        assert!(matches!(action, Some(FaultAction::Drop)));
        let (delay, action) = take_faults(&shared, "/api/v2/policy/urllist");
        assert_eq!(delay, Duration::ZERO);
        assert!(matches!(
            action,
            Some(FaultAction::Fail { status: 503, .. })
        ));
        assert!(shared.lock().faults.is_empty());
    }
}
