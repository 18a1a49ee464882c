//! [`NetskopeClient`]: the HTTP adapter of the tenant port, with bounded retries and the
//! tenant's rate-limit headers honoured.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use cte_core::tenant::{
    validate_url_list_name, AccessProbe, AlertPage, AlertType, HashListOutcome, IteratorOp,
    TenantClient, TenantError, UrlList, UrlListPatch, UrlListRef, UrlListType,
};
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use tokio::time::Instant;

use crate::request::{hash_list_value, list_size, TenantRequest};
use crate::response::{
    error_from_status, error_in_body, parse_alert_page, parse_deployed, parse_hash_list_outcome,
    parse_one_url_list, parse_url_list_refs, parse_url_lists, RateHeaders,
};
use crate::settings::{redact_userinfo, SettingsError, TenantSettings};

/// Header carrying the REST API v2 token.
pub const TOKEN_HEADER: &str = "Netskope-Api-Token";

/// Prefix of the iterator names [`TenantClient::check_access`] uses, so probing never moves an
/// iterator the worker pulls with.
pub const ACCESS_CHECK_ITERATOR_PREFIX: &str = "cte_access_check_";

/// A call that failed for good.
#[derive(Debug)]
struct Failure {
    error: TenantError,
    /// Some attempt may have been applied although no success was seen.
    maybe_applied: bool,
}

/// One attempt that got no answer.
#[derive(Debug)]
struct SendError {
    error: TenantError,
    /// The connection was established, so the tenant may have acted on the request.
    connected: bool,
}

fn send_error(error: reqwest::Error) -> SendError {
    SendError {
        connected: !error.is_connect(),
        error: transport(error),
    }
}

/// A tenant answer before interpretation.
#[derive(Debug)]
struct Answer {
    status: u16,
    rate: RateHeaders,
    body: Vec<u8>,
}

/// The Netskope tenant over HTTPS (reqwest with rustls).
///
/// Every call sends requests built by [`TenantRequest`], retries 429, 5xx and transport errors
/// per [`crate::RetryPolicy`], and never retries 400, 401, 403 or 404. When a response says the
/// rate-limit window is used up (`ratelimit-remaining: 0`), the next request waits for
/// `ratelimit-reset`. Redirects are not followed, so the token is only ever sent to the tenant.
pub struct NetskopeClient {
    http: reqwest::Client,
    settings: TenantSettings,
    v2_header: HeaderValue,
    /// No request starts before this instant (set from the rate-limit headers).
    not_before: Mutex<Option<Instant>>,
}

impl fmt::Debug for NetskopeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetskopeClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl NetskopeClient {
    /// Builds the client; no request is sent.
    pub fn new(settings: TenantSettings) -> Result<NetskopeClient, SettingsError> {
        let mut v2_header = HeaderValue::from_str(settings.v2_token.expose()).map_err(|_| {
            SettingsError::Client(
                "the V2 API token contains characters not allowed in a header".to_owned(),
            )
        })?;
        v2_header.set_sensitive(true);

        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.timeouts.connect)
            .timeout(settings.timeouts.request)
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(!settings.ssl_validation);
        if let Some(pem) = &settings.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| SettingsError::InvalidCertificate(error_chain(&e)))?;
            if certs.is_empty() {
                return Err(SettingsError::InvalidCertificate(
                    "no certificate in the PEM".to_owned(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder = match (&settings.proxy, settings.use_system_proxy) {
            (Some(proxy), _) => {
                let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
                    SettingsError::InvalidProxy(format!("{}: {e}", redact_userinfo(proxy)))
                })?;
                builder.proxy(proxy)
            }
            // reqwest reads HTTP(S)_PROXY from the environment by default.
            (None, true) => builder,
            (None, false) => builder.no_proxy(),
        };
        let http = builder
            .build()
            .map_err(|e| SettingsError::Client(error_chain(&e)))?;
        Ok(NetskopeClient {
            http,
            settings,
            v2_header,
            not_before: Mutex::new(None),
        })
    }

    /// The settings the client was built with.
    pub fn settings(&self) -> &TenantSettings {
        &self.settings
    }

    /// Sends `req` with retries and returns the successful answer, or the final error.
    async fn execute(&self, req: &TenantRequest) -> Result<Answer, TenantError> {
        self.execute_tracked(req).await.map_err(|f| f.error)
    }

    /// [`Self::execute`], also telling whether a failed attempt may have been applied by the
    /// tenant before its answer was lost (a 5xx, or a transport error after connecting).
    async fn execute_tracked(&self, req: &TenantRequest) -> Result<Answer, Failure> {
        let started = Instant::now();
        let mut retries = 0u32;
        let mut maybe_applied = false;
        loop {
            self.wait_for_rate_window().await;
            let (error, hint) = match self.send_once(req).await {
                Ok(answer) => {
                    self.note_rate(&answer.rate);
                    let error = if (200..300).contains(&answer.status) {
                        match error_in_body(req.endpoint, answer.status, &answer.body) {
                            None => return Ok(answer),
                            Some(error) => error,
                        }
                    } else {
                        error_from_status(req.endpoint, answer.status, &answer.rate, &answer.body)
                    };
                    maybe_applied |= answer.status >= 500;
                    // ratelimit-reset only says when a 429 ends; other errors use Retry-After.
                    let hint = match error {
                        TenantError::RateLimited { retry_after } => retry_after,
                        _ => answer.rate.retry_after,
                    };
                    (error, hint)
                }
                Err(SendError { error, connected }) => {
                    maybe_applied |= connected;
                    (error, None)
                }
            };
            match self
                .settings
                .retry
                .delay_before_retry(retries, started.elapsed(), &error, hint)
            {
                Some(delay) => {
                    retries += 1;
                    tracing::warn!(
                        method = %req.method, path = %req.path, retry = retries,
                        delay_ms = delay.as_millis() as u64, error = %error,
                        "tenant request failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    tracing::debug!(method = %req.method, path = %req.path, retries, error = %error, "tenant request failed");
                    return Err(Failure {
                        error,
                        maybe_applied,
                    });
                }
            }
        }
    }

    async fn send_once(&self, req: &TenantRequest) -> Result<Answer, SendError> {
        let mut url = self
            .settings
            .base_url
            .join(&req.path)
            .map_err(|e| SendError {
                error: TenantError::InvalidInput(format!("bad request path {}: {e}", req.path)),
                connected: false,
            })?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .header(ACCEPT, "application/json");
        if req.endpoint.uses_v2_token() {
            builder = builder.header(TOKEN_HEADER, self.v2_header.clone());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await.map_err(send_error)?;
        let status = response.status().as_u16();
        let rate = RateHeaders::from_headers(response.headers());
        let body = response.bytes().await.map_err(send_error)?.to_vec();
        tracing::debug!(method = %req.method, path = %req.path, status, body_len = body.len(), "tenant answered");
        Ok(Answer { status, rate, body })
    }

    fn note_rate(&self, rate: &RateHeaders) {
        if let Some(wait) = rate.exhausted_for() {
            // Bounded like a retry wait, so a bogus header cannot stall the worker.
            let until = Instant::now() + wait.min(self.settings.retry.max_elapsed);
            let mut guard = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            *guard = Some(guard.map_or(until, |t| t.max(until)));
        }
    }

    async fn wait_for_rate_window(&self) {
        let until = {
            let mut guard = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            match *guard {
                Some(t) if t > Instant::now() => Some(t),
                _ => {
                    *guard = None;
                    None
                }
            }
        };
        if let Some(until) = until {
            tracing::debug!(
                wait_ms = (until - Instant::now()).as_millis() as u64,
                "waiting for the tenant rate-limit window"
            );
            tokio::time::sleep_until(until).await;
        }
    }

    fn check_url_list_size(&self, urls: &[String]) -> Result<(), TenantError> {
        let size = list_size(urls);
        let limit = self.settings.limits.url_list_bytes;
        if size > limit {
            return Err(TenantError::ListTooLarge {
                message: format!(
                    "the URL list would be {size} bytes, over the limit of {limit} bytes"
                ),
            });
        }
        Ok(())
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

fn transport(error: reqwest::Error) -> TenantError {
    let kind = if error.is_timeout() {
        "timed out: "
    } else if error.is_connect() {
        "cannot connect: "
    } else {
        ""
    };
    TenantError::Transport(format!("{kind}{}", error_chain(&error)))
}

#[async_trait]
impl TenantClient for NetskopeClient {
    async fn alerts_page(
        &self,
        alert_type: AlertType,
        iterator: &str,
        op: IteratorOp,
    ) -> Result<AlertPage, TenantError> {
        if iterator.is_empty() {
            return Err(TenantError::InvalidInput(
                "the iterator name is empty".to_owned(),
            ));
        }
        let answer = self
            .execute(&TenantRequest::alerts_page(alert_type, iterator, op))
            .await?;
        parse_alert_page(&answer.body, &answer.rate)
    }

    async fn url_list_refs(&self) -> Result<Vec<UrlListRef>, TenantError> {
        let answer = self.execute(&TenantRequest::url_lists(false)).await?;
        parse_url_list_refs(&answer.body)
    }

    async fn url_lists(&self) -> Result<Vec<UrlList>, TenantError> {
        let answer = self.execute(&TenantRequest::url_lists(true)).await?;
        parse_url_lists(&answer.body)
    }

    async fn url_list(&self, id: i64) -> Result<UrlList, TenantError> {
        let answer = self.execute(&TenantRequest::url_list(id)).await?;
        parse_one_url_list(&answer.body)
    }

    async fn create_url_list(
        &self,
        name: &str,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError> {
        validate_url_list_name(name).map_err(TenantError::InvalidInput)?;
        self.check_url_list_size(urls)?;
        match self
            .execute_tracked(&TenantRequest::create_url_list(name, urls, list_type))
            .await
        {
            Ok(answer) => parse_one_url_list(&answer.body),
            // An earlier attempt may have created the list and lost its answer, so that the
            // retry met the taken name. The list with this name and exactly this content is it.
            Err(Failure {
                error: error @ TenantError::Rejected { .. },
                maybe_applied: true,
            }) => match self.url_lists().await {
                Ok(lists) => lists
                    .into_iter()
                    .find(|l| {
                        l.name == name && l.list_type == list_type && same_entries(&l.urls, urls)
                    })
                    .ok_or(error),
                Err(_) => Err(error),
            },
            Err(failure) => Err(failure.error),
        }
    }

    async fn patch_url_list(
        &self,
        id: i64,
        patch: UrlListPatch,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError> {
        if patch == UrlListPatch::Replace {
            self.check_url_list_size(urls)?;
        }
        let answer = self
            .execute(&TenantRequest::patch_url_list(id, patch, urls, list_type))
            .await?;
        parse_one_url_list(&answer.body)
    }

    async fn update_url_list(
        &self,
        id: i64,
        name: &str,
        urls: &[String],
        list_type: UrlListType,
    ) -> Result<UrlList, TenantError> {
        validate_url_list_name(name).map_err(TenantError::InvalidInput)?;
        self.check_url_list_size(urls)?;
        let answer = self
            .execute(&TenantRequest::update_url_list(id, name, urls, list_type))
            .await?;
        parse_one_url_list(&answer.body)
    }

    async fn delete_url_list(&self, id: i64) -> Result<UrlList, TenantError> {
        let answer = self.execute(&TenantRequest::delete_url_list(id)).await?;
        parse_one_url_list(&answer.body)
    }

    async fn deploy_url_lists(&self) -> Result<Vec<UrlList>, TenantError> {
        let answer = self.execute(&TenantRequest::deploy_url_lists()).await?;
        parse_deployed(&answer.body)
    }

    async fn replace_file_hash_list(
        &self,
        name: &str,
        hashes: &[String],
    ) -> Result<HashListOutcome, TenantError> {
        let Some(v1_token) = &self.settings.v1_token else {
            return Err(no_v1_token());
        };
        if name.trim().is_empty() {
            return Err(TenantError::InvalidInput(
                "the file hash list name is empty".to_owned(),
            ));
        }
        let size = hash_list_value(hashes).len();
        let limit = self.settings.limits.hash_list_bytes;
        if size > limit {
            return Err(TenantError::ListTooLarge {
                message: format!(
                    "the file hash list would be {size} bytes, over the limit of {limit} bytes"
                ),
            });
        }
        let answer = self
            .execute(&TenantRequest::replace_file_hash_list(
                name, hashes, v1_token,
            ))
            .await?;
        parse_hash_list_outcome(&answer.body)
    }

    async fn check_access(&self, probes: &[AccessProbe]) -> Result<(), TenantError> {
        for probe in probes {
            match probe {
                AccessProbe::Alerts(alert_type) => {
                    let iterator = format!("{ACCESS_CHECK_ITERATOR_PREFIX}{alert_type}");
                    self.execute(&TenantRequest::alerts_page(
                        *alert_type,
                        &iterator,
                        IteratorOp::Tail,
                    ))
                    .await?;
                }
                AccessProbe::UrlLists => {
                    self.execute(&TenantRequest::url_lists(false)).await?;
                }
                AccessProbe::FileHashList => {
                    if self.settings.v1_token.is_none() {
                        return Err(no_v1_token());
                    }
                }
                // A probe this client does not know cannot be checked; say so rather than pass.
                other => {
                    return Err(TenantError::InvalidInput(format!(
                        "this client cannot check {other:?}"
                    )))
                }
            }
        }
        Ok(())
    }
}

/// Equal as sets (the tenant drops duplicate entries).
fn same_entries(a: &[String], b: &[String]) -> bool {
    let a: std::collections::BTreeSet<&String> = a.iter().collect();
    let b: std::collections::BTreeSet<&String> = b.iter().collect();
    a == b
}

fn no_v1_token() -> TenantError {
    TenantError::InvalidInput(
        "no V1 API token is configured; the file hash list needs one (Settings > Tools > REST API v1)"
            .to_owned(),
    )
}
