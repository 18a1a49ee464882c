//! Pure reading of tenant answers: rate-limit headers, error classification into
//! [`TenantError`], and the bodies of alert pages, URL lists and the v1 hash-list call.

use std::time::Duration;

use cte_core::tenant::{
    Alert, AlertPage, HashListOutcome, TenantError, UrlList, UrlListRef, UrlListType,
};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::request::Endpoint;

/// The v1 answer that CE treats as success: the list already holds these hashes.
pub const DUPLICATE_HASH_LIST: &str = "Duplicate request, no change in file hashes";

/// Longest tenant message kept in an error.
const MAX_MESSAGE: usize = 500;

/// Rate-limit information from response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateHeaders {
    /// `Retry-After` in seconds (the date form is not used by the tenant and is ignored).
    pub retry_after: Option<Duration>,
    /// `ratelimit-remaining`.
    pub remaining: Option<i64>,
    /// `ratelimit-reset`, seconds until the window resets.
    pub reset: Option<Duration>,
}

impl RateHeaders {
    /// Reads the headers; unparsable values count as absent.
    pub fn from_headers(headers: &HeaderMap) -> RateHeaders {
        let number = |name: &str| -> Option<f64> {
            let v = headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()?;
            v.is_finite().then_some(v)
        };
        let seconds = |name: &str| {
            number(name)
                .filter(|v| *v >= 0.0)
                .map(Duration::from_secs_f64)
        };
        RateHeaders {
            retry_after: seconds("retry-after"),
            remaining: number("ratelimit-remaining").map(|v| v as i64),
            reset: seconds("ratelimit-reset"),
        }
    }

    /// The wait a 429 or 503 asks for: `Retry-After`, else `ratelimit-reset`.
    pub fn retry_hint(&self) -> Option<Duration> {
        self.retry_after.or(self.reset)
    }

    /// When no request is left in the window, how long until it resets.
    pub fn exhausted_for(&self) -> Option<Duration> {
        match self.remaining {
            Some(n) if n <= 0 => Some(self.reset.unwrap_or(Duration::from_secs(1))),
            _ => None,
        }
    }
}

/// The text of a tenant error body: `status.message`, `message`, `error` (or `error.message`),
/// `errors` joined, `result` when a string, else the raw text; shortened to a few hundred bytes.
pub fn message_of(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            json_message(&value).unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned())
        }
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    shorten(text)
}

fn json_message(value: &Value) -> Option<String> {
    let as_text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Array(items) if !items.is_empty() => Some(
                items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Value::Object(o) => o.get("message").and_then(|m| m.as_str()).map(str::to_owned),
            _ => None,
        }
    };
    value
        .get("status")
        .and_then(|s| s.get("message"))
        .and_then(as_text)
        .or_else(|| value.get("message").and_then(as_text))
        .or_else(|| value.get("error").and_then(as_text))
        .or_else(|| value.get("errors").and_then(as_text))
        .or_else(|| {
            value
                .get("result")
                .filter(|r| r.is_string())
                .and_then(as_text)
        })
}

fn shorten(mut text: String) -> String {
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// `[[value, reason], ...]` in `message`: the entries a URL-list change refused.
fn rejected_entries(body: &[u8]) -> Option<Vec<(String, String)>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let items = value.get("message")?.as_array()?;
    if items.is_empty() {
        return None;
    }
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    items
        .iter()
        .map(|item| match item {
            Value::Array(pair) if !pair.is_empty() => Some((text(pair.first()), text(pair.get(1)))),
            _ => None,
        })
        .collect()
}

fn says_too_large(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("too large")
        || (m.contains("exceeds") && (m.contains("size") || m.contains("maximum")))
}

/// The error for a 403 on `endpoint`, naming the endpoint and the privilege to grant.
pub fn missing_privilege(endpoint: Endpoint, tenant_message: &str) -> TenantError {
    let path = endpoint.path();
    let privilege = endpoint.privilege();
    let mut message = match endpoint {
        Endpoint::FileHashListV1 => format!(
            "The tenant refused the V1 API token on {path}: check the token and its endpoints \
             in Settings > Tools > REST API v1"
        ),
        _ => format!(
            "The V2 API token lacks the {privilege} privilege on {path}: in Settings > Tools > \
             REST API v2, edit the token, add the endpoint {path} with {privilege}, and save"
        ),
    };
    if !tenant_message.is_empty() {
        message.push_str(&format!(" (tenant said: {tenant_message})"));
    }
    TenantError::MissingPrivilege {
        endpoint: path,
        privilege: privilege.to_owned(),
        message,
    }
}

/// Classifies a non-2xx answer.
pub fn error_from_status(
    endpoint: Endpoint,
    status: u16,
    rate: &RateHeaders,
    body: &[u8],
) -> TenantError {
    let message = message_of(body);
    match status {
        401 => TenantError::Unauthorized { message },
        403 => missing_privilege(endpoint, &message),
        404 => TenantError::NotFound { message },
        413 => TenantError::ListTooLarge { message },
        429 => TenantError::RateLimited {
            retry_after: rate.retry_hint(),
        },
        400..=499 => match rejected_entries(body) {
            Some(rejected) => TenantError::EntriesRejected { rejected },
            None if says_too_large(&message) => TenantError::ListTooLarge { message },
            None => TenantError::Rejected { status, message },
        },
        500..=599 => TenantError::Server { status, message },
        _ => TenantError::InvalidResponse(format!("HTTP {status}: {message}")),
    }
}

/// An error carried inside a 2xx answer: a Data Export body whose `ok` is not 1, or a v1 body
/// with `"status": "error"` (except the duplicate answer, which is success).
pub fn error_in_body(endpoint: Endpoint, status: u16, body: &[u8]) -> Option<TenantError> {
    if let Endpoint::Alerts(_) = endpoint {
        // A page of alerts can be megabytes: read only its "ok" (skipping the alerts without
        // building them) and look further only when it is not 1, which is a short answer.
        #[derive(serde::Deserialize)]
        struct Ok {
            ok: Option<Value>,
        }
        let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if let (true, Ok(head)) = (object, serde_json::from_slice::<Ok>(body)) {
            if head.ok.as_ref().and_then(Value::as_i64) == Some(1) {
                return None;
            }
        }
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    match endpoint {
        Endpoint::Alerts(_) => {
            if value.get("ok").and_then(Value::as_i64) == Some(1) {
                return None;
            }
            let message = json_message(&value).map(shorten).unwrap_or_default();
            let inner = value
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            Some(match inner {
                Some(inner) if inner >= 400 => {
                    error_from_status(endpoint, inner, &RateHeaders::default(), body)
                }
                _ if value.get("ok").is_none() => {
                    TenantError::InvalidResponse("the Data Export answer has no \"ok\"".to_owned())
                }
                _ => TenantError::Rejected { status, message },
            })
        }
        Endpoint::FileHashListV1 => {
            if value.get("status").and_then(Value::as_str) != Some("error") {
                return None;
            }
            let message = json_message(&value).map(shorten).unwrap_or_default();
            if message.contains(DUPLICATE_HASH_LIST) {
                return None;
            }
            let code = value.get("errorCode").and_then(Value::as_str).unwrap_or("");
            let lower = message.to_ascii_lowercase();
            Some(
                if code.eq_ignore_ascii_case("Authorization Error")
                    || lower.contains("invalid token")
                {
                    TenantError::Unauthorized { message }
                } else if lower.contains("does not exist") || lower.contains("not found") {
                    TenantError::NotFound { message }
                } else if says_too_large(&message) {
                    TenantError::ListTooLarge { message }
                } else {
                    TenantError::Rejected { status, message }
                },
            )
        }
        Endpoint::UrlList | Endpoint::UrlListDeploy => None,
    }
}

fn parse_json(body: &[u8]) -> Result<Value, TenantError> {
    serde_json::from_slice(body)
        .map_err(|e| TenantError::InvalidResponse(format!("the body is not JSON: {e}")))
}

fn as_u64_lenient(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn as_i64_lenient(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A Data Export page: `{"ok": 1, "result": [...], "wait_time", "timestamp_hwm"}`.
pub fn parse_alert_page(body: &[u8], rate: &RateHeaders) -> Result<AlertPage, TenantError> {
    let mut value = parse_json(body)?;
    // The alerts are moved out of the parsed page, not cloned: a page of 10,000 alerts is about
    // 10 MB, and the copy was a fifth of the pull's CPU.
    let alerts = match value.get_mut("result").map(Value::take) {
        Some(Value::Array(items)) => items.into_iter().map(Alert::from_value).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(_) => {
            return Err(TenantError::InvalidResponse(
                "the Data Export \"result\" is not a list".to_owned(),
            ))
        }
    };
    Ok(AlertPage {
        alerts,
        wait_time: value.get("wait_time").and_then(as_u64_lenient),
        timestamp_hwm: value.get("timestamp_hwm").and_then(as_i64_lenient),
        rate_limit_reset: rate.exhausted_for(),
    })
}

/// One URL-list record: `{id, name, data: {urls, type}, pending, modify_*}`; `data` may be absent.
pub fn url_list_from_value(value: &Value) -> Result<UrlList, TenantError> {
    let bad = |what: &str| TenantError::InvalidResponse(format!("URL list record: {what}"));
    let id = value
        .get("id")
        .and_then(as_i64_lenient)
        .ok_or_else(|| bad("no integer \"id\""))?;
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let data = value.get("data").filter(|d| d.is_object());
    let urls = match data.and_then(|d| d.get("urls")) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|u| {
                u.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("a URL is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let list_type = match data.and_then(|d| d.get("type")).and_then(Value::as_str) {
        Some(t) => UrlListType::parse(t).ok_or_else(|| bad(&format!("unknown type {t:?}")))?,
        None => UrlListType::Exact,
    };
    let pending = match value.get("pending") {
        Some(Value::Bool(b)) => *b,
        Some(v) => as_i64_lenient(v).is_some_and(|n| n != 0),
        None => false,
    };
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(UrlList {
        id,
        name,
        urls,
        list_type,
        pending,
        modify_type: text("modify_type"),
        modify_time: text("modify_time"),
        modify_by: text("modify_by"),
    })
}

/// The records of a list answer: a bare array (the tenant's shape) or `{"data": [...]}`.
fn records(value: &Value) -> Result<&[Value], TenantError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(o) => match o.get("data") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(TenantError::InvalidResponse(
                "expected an array of URL lists".to_owned(),
            )),
        },
        _ => Err(TenantError::InvalidResponse(
            "expected an array of URL lists".to_owned(),
        )),
    }
}

/// `GET /urllist` (any `field`): all records.
pub fn parse_url_lists(body: &[u8]) -> Result<Vec<UrlList>, TenantError> {
    records(&parse_json(body)?)?
        .iter()
        .map(url_list_from_value)
        .collect()
}

/// `GET /urllist?field=id,name`.
pub fn parse_url_list_refs(body: &[u8]) -> Result<Vec<UrlListRef>, TenantError> {
    Ok(parse_url_lists(body)?
        .into_iter()
        .map(|l| UrlListRef {
            id: l.id,
            name: l.name,
        })
        .collect())
}

/// A single record, bare or, as `POST` answers, inside a one-element array.
pub fn parse_one_url_list(body: &[u8]) -> Result<UrlList, TenantError> {
    let value = parse_json(body)?;
    match &value {
        Value::Array(items) => match items.as_slice() {
            [one] => url_list_from_value(one),
            _ => Err(TenantError::InvalidResponse(format!(
                "expected one URL list, got {}",
                items.len()
            ))),
        },
        other => url_list_from_value(other),
    }
}

/// The deploy answer: the lists deployed. An empty or non-array body counts as none.
pub fn parse_deployed(body: &[u8]) -> Result<Vec<UrlList>, TenantError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match parse_json(body)? {
        Value::Array(items) => items.iter().map(url_list_from_value).collect(),
        _ => Ok(Vec::new()),
    }
}

/// A 2xx v1 hash-list answer that [`error_in_body`] let through.
pub fn parse_hash_list_outcome(body: &[u8]) -> Result<HashListOutcome, TenantError> {
    let value = parse_json(body)?;
    match value.get("status").and_then(Value::as_str) {
        Some("success") => Ok(HashListOutcome::Updated),
        Some("error") => Ok(HashListOutcome::Unchanged),
        _ => Err(TenantError::InvalidResponse(format!(
            "unexpected v1 answer: {}",
            message_of(body)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cte_core::tenant::AlertType;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn rate_headers_are_read_and_hinted() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("ratelimit-reset", HeaderValue::from_static("5"));
        let r = RateHeaders::from_headers(&h);
        assert_eq!(r.retry_hint(), Some(Duration::from_secs(2)));
        assert_eq!(r.exhausted_for(), Some(Duration::from_secs(5)));
        h.remove("retry-after");
        h.insert("ratelimit-remaining", HeaderValue::from_static("3"));
        let r = RateHeaders::from_headers(&h);
        assert_eq!(r.retry_hint(), Some(Duration::from_secs(5)));
        assert_eq!(r.exhausted_for(), None);
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(RateHeaders::from_headers(&h).retry_after, None);
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let rate = RateHeaders {
            retry_after: Some(Duration::from_secs(1)),
            ..RateHeaders::default()
        };
        let body = bytes(json!({"status": "error", "message": "nope"}));
        let e = |status| error_from_status(Endpoint::UrlList, status, &rate, &body);
        assert_eq!(
            e(401),
            TenantError::Unauthorized {
                message: "nope".into()
            }
        );
        assert_eq!(
            e(404),
            TenantError::NotFound {
                message: "nope".into()
            }
        );
        assert_eq!(
            e(413),
            TenantError::ListTooLarge {
                message: "nope".into()
            }
        );
        assert_eq!(
            e(429),
            TenantError::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert_eq!(
            e(400),
            TenantError::Rejected {
                status: 400,
                message: "nope".into()
            }
        );
        assert_eq!(
            e(502),
            TenantError::Server {
                status: 502,
                message: "nope".into()
            }
        );
        assert!(matches!(e(302), TenantError::InvalidResponse(_)));
    }

    #[test]
    fn forbidden_names_endpoint_and_privilege() {
        let body = bytes(json!({"status": "error", "message": "Forbidden"}));
        let e = error_from_status(
            Endpoint::Alerts(AlertType::Malware),
            403,
            &RateHeaders::default(),
            &body,
        );
        let TenantError::MissingPrivilege {
            endpoint,
            privilege,
            message,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(endpoint, "/api/v2/events/dataexport/alerts/malware");
        assert_eq!(privilege, "Read");
        assert!(
            message.contains("Settings > Tools > REST API v2"),
            "{message}"
        );
        assert!(message.contains("Read privilege on /api/v2/events/dataexport/alerts/malware"));
        let e = error_from_status(Endpoint::UrlListDeploy, 403, &RateHeaders::default(), b"");
        assert!(e
            .to_string()
            .contains("Read+Write privilege on /api/v2/policy/urllist/deploy"));
    }

    #[test]
    fn rejected_entries_and_size_errors_are_recognised() {
        let body = bytes(
            json!({"statusCode": 400, "message": [["bad host", "Invalid host"], ["x"]], "error": "Bad Request"}),
        );
        assert_eq!(
            error_from_status(Endpoint::UrlList, 400, &RateHeaders::default(), &body),
            TenantError::EntriesRejected {
                rejected: vec![
                    ("bad host".into(), "Invalid host".into()),
                    ("x".into(), String::new())
                ]
            }
        );
        let body = bytes(
            json!({"message": "URL list size 9000000 bytes exceeds the maximum of 8388608 bytes (8 MB)"}),
        );
        assert!(matches!(
            error_from_status(Endpoint::UrlList, 400, &RateHeaders::default(), &body),
            TenantError::ListTooLarge { .. }
        ));
    }

    #[test]
    fn messages_come_from_the_usual_places() {
        assert_eq!(message_of(br#"{"status":{"message":"a"}}"#), "a");
        assert_eq!(message_of(br#"{"error":{"message":"b"}}"#), "b");
        assert_eq!(message_of(br#"{"errors":["c","d"]}"#), "c; d");
        assert_eq!(message_of(b"plain text "), "plain text");
        assert!(message_of("é".repeat(400).as_bytes()).ends_with('…'));
    }

    #[test]
    fn data_export_bodies_with_ok_0_are_errors() {
        let ep = Endpoint::Alerts(AlertType::Malsite);
        assert_eq!(error_in_body(ep, 200, br#"{"ok":1,"result":[]}"#), None);
        // Only an object with "ok": 1 is a page.
        assert!(matches!(
            error_in_body(ep, 200, br#"[1]"#),
            Some(TenantError::InvalidResponse(_))
        ));
        assert!(matches!(
            error_in_body(ep, 200, br#"{"ok":0,"status":403,"result":"denied"}"#),
            Some(TenantError::MissingPrivilege { .. })
        ));
        assert!(matches!(
            error_in_body(ep, 200, br#"{"ok":0,"status":503,"message":"busy"}"#),
            Some(TenantError::Server { status: 503, .. })
        ));
        assert_eq!(
            error_in_body(ep, 200, br#"{"ok":0,"message":"bad index"}"#),
            Some(TenantError::Rejected {
                status: 200,
                message: "bad index".into()
            })
        );
        assert!(matches!(
            error_in_body(ep, 200, br#"{"result":[]}"#),
            Some(TenantError::InvalidResponse(_))
        ));
    }

    #[test]
    fn v1_bodies_are_classified() {
        let ep = Endpoint::FileHashListV1;
        let dup = bytes(
            json!({"status": "error", "errorCode": "Configuration Error",
            "errors": ["Duplicate request, no change in file hashes for the file filter - l"]}),
        );
        assert_eq!(error_in_body(ep, 200, &dup), None);
        assert_eq!(
            parse_hash_list_outcome(&dup),
            Ok(HashListOutcome::Unchanged)
        );
        assert_eq!(
            parse_hash_list_outcome(br#"{"status":"success"}"#),
            Ok(HashListOutcome::Updated)
        );
        let auth = bytes(
            json!({"status": "error", "errorCode": "Authorization Error", "errors": ["Invalid token"]}),
        );
        assert!(matches!(
            error_in_body(ep, 200, &auth),
            Some(TenantError::Unauthorized { .. })
        ));
        let missing =
            bytes(json!({"status": "error", "errors": ["File hash list l does not exist"]}));
        assert!(matches!(
            error_in_body(ep, 200, &missing),
            Some(TenantError::NotFound { .. })
        ));
        let other = bytes(json!({"status": "error", "errors": ["Invalid file hashes: zz"]}));
        assert!(matches!(
            error_in_body(ep, 200, &other),
            Some(TenantError::Rejected { status: 200, .. })
        ));
    }

    #[test]
    fn alert_pages_parse() {
        let body = bytes(
            json!({"ok": 1, "result": [{"_id": "1", "url": "u"}], "wait_time": 3, "timestamp_hwm": 1700000000}),
        );
        let page = parse_alert_page(&body, &RateHeaders::default()).unwrap();
        assert_eq!(page.alerts.len(), 1);
        assert_eq!(page.alerts[0].url.as_deref(), Some("u"));
        assert_eq!(page.wait_time, Some(3));
        assert_eq!(page.timestamp_hwm, Some(1_700_000_000));
        assert_eq!(page.rate_limit_reset, None);
        assert!(parse_alert_page(b"{\"ok\":1,\"result\":{}}", &RateHeaders::default()).is_err());
        assert!(parse_alert_page(b"<html>", &RateHeaders::default()).is_err());
    }

    #[test]
    fn url_list_records_parse_in_every_shape() {
        let record = json!({"id": 12, "name": "ce", "data": {"urls": ["a"], "type": "regex", "json_version": 2},
            "modify_by": "API", "modify_time": "2026-05-19T13:03:32.000Z", "modify_type": "Created", "pending": 1});
        let list = parse_one_url_list(&bytes(json!([record.clone()]))).unwrap();
        assert_eq!(list.id, 12);
        assert_eq!(list.urls, vec!["a".to_owned()]);
        assert_eq!(list.list_type, UrlListType::Regex);
        assert!(list.pending);
        assert_eq!(list.modify_type.as_deref(), Some("Created"));
        assert_eq!(parse_one_url_list(&bytes(record.clone())).unwrap(), list);
        let refs = parse_url_list_refs(&bytes(
            json!([{"id": 1, "name": "a"}, {"id": "2", "name": "b"}]),
        ))
        .unwrap();
        assert_eq!(
            refs[1],
            UrlListRef {
                id: 2,
                name: "b".into()
            }
        );
        assert_eq!(
            parse_url_lists(&bytes(json!({"data": [record]})))
                .unwrap()
                .len(),
            1
        );
        assert!(parse_url_lists(&bytes(json!([{"name": "no id"}]))).is_err());
        assert!(parse_one_url_list(&bytes(json!([]))).is_err());
        assert_eq!(parse_deployed(b"").unwrap(), vec![]);
    }
}
