//! The requests this client sends, built by pure functions so that a preview can show (and a
//! test can compare) the exact bytes the worker will send. [`crate::NetskopeClient`] sends
//! nothing it did not build here.

use std::fmt;

use cte_core::push;
use cte_core::tenant::{AlertType, IteratorOp, UrlListPatch, UrlListType};
use reqwest::Method;

use crate::settings::Secret;

// The body bytes are `cte_core::push`'s, which the engine's preview renders too; the client
// sends exactly those.
pub use cte_core::push::{
    hash_list_value, named_url_list_body, url_list_body, FILE_HASH_LIST_PATH, REDACTED_TOKEN,
    URL_LIST_DEPLOY_PATH, URL_LIST_PATH,
};

/// The tenant endpoint a request uses, as the REST API v2 token page lists endpoints; it is what
/// a 403 message tells the user to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/api/v2/events/dataexport/alerts/{malware|malsite}` (Read).
    Alerts(AlertType),
    /// `/api/v2/policy/urllist` and the paths below it (Read+Write).
    UrlList,
    /// `/api/v2/policy/urllist/deploy` (Read+Write).
    UrlListDeploy,
    /// `/api/v1/updateFileHashList` (REST API v1 token, in the body).
    FileHashListV1,
}

impl Endpoint {
    /// The endpoint path as a user would find it in the token settings.
    pub fn path(self) -> String {
        match self {
            Endpoint::Alerts(t) => format!("/api/v2/events/dataexport/alerts/{t}"),
            Endpoint::UrlList => URL_LIST_PATH.to_owned(),
            Endpoint::UrlListDeploy => URL_LIST_DEPLOY_PATH.to_owned(),
            Endpoint::FileHashListV1 => FILE_HASH_LIST_PATH.to_owned(),
        }
    }

    /// The privilege the operations of this client need on the endpoint.
    pub fn privilege(self) -> &'static str {
        match self {
            // Alert endpoints only offer Read.
            Endpoint::Alerts(_) => "Read",
            // The URL-list endpoints only offer Read+Write (REST API v2 overview).
            Endpoint::UrlList | Endpoint::UrlListDeploy => "Read+Write",
            Endpoint::FileHashListV1 => "REST API v1",
        }
    }

    /// Whether the request carries the v2 token header (the v1 call carries its token in the body).
    pub fn uses_v2_token(self) -> bool {
        !matches!(self, Endpoint::FileHashListV1)
    }
}

/// One request, exactly as sent apart from the host, the `Netskope-Api-Token` header and the
/// standard headers of the HTTP library. Bodies are JSON and sent with
/// `Content-Type: application/json`.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantRequest {
    /// HTTP method.
    pub method: Method,
    /// Path below the tenant base URL.
    pub path: String,
    /// Query parameters, in order (URL-encoded when sent).
    pub query: Vec<(String, String)>,
    /// Body bytes, if any.
    pub body: Option<Vec<u8>>,
    /// The endpoint, for privilege messages and the choice of token.
    pub endpoint: Endpoint,
}

impl fmt::Debug for TenantRequest {
    /// Shows the body length only: the hash-list body holds the v1 token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl TenantRequest {
    fn new(method: Method, path: String, endpoint: Endpoint) -> TenantRequest {
        TenantRequest {
            method,
            path,
            query: Vec::new(),
            body: None,
            endpoint,
        }
    }

    /// `GET /api/v2/events/dataexport/alerts/{type}?index={iterator}&operation={op}`.
    pub fn alerts_page(alert_type: AlertType, iterator: &str, op: IteratorOp) -> TenantRequest {
        let mut req = TenantRequest::new(
            Method::GET,
            Endpoint::Alerts(alert_type).path(),
            Endpoint::Alerts(alert_type),
        );
        req.query = vec![
            ("index".to_owned(), iterator.to_owned()),
            ("operation".to_owned(), op.to_string()),
        ];
        req
    }

    /// `GET /api/v2/policy/urllist?field=id,name` (or `id,name,data` with the entries).
    pub fn url_lists(with_data: bool) -> TenantRequest {
        let mut req = TenantRequest::new(Method::GET, URL_LIST_PATH.to_owned(), Endpoint::UrlList);
        let fields = if with_data { "id,name,data" } else { "id,name" };
        req.query = vec![("field".to_owned(), fields.to_owned())];
        req
    }

    /// `GET /api/v2/policy/urllist/{id}`.
    pub fn url_list(id: i64) -> TenantRequest {
        TenantRequest::new(
            Method::GET,
            format!("{URL_LIST_PATH}/{id}"),
            Endpoint::UrlList,
        )
    }

    /// `POST /api/v2/policy/urllist` with [`named_url_list_body`].
    pub fn create_url_list(name: &str, urls: &[String], list_type: UrlListType) -> TenantRequest {
        let mut req = TenantRequest::new(Method::POST, URL_LIST_PATH.to_owned(), Endpoint::UrlList);
        req.body = Some(named_url_list_body(name, urls, list_type));
        req
    }

    /// `PATCH /api/v2/policy/urllist/{id}/{append|replace|remove}` with [`url_list_body`].
    pub fn patch_url_list(
        id: i64,
        patch: UrlListPatch,
        urls: &[String],
        list_type: UrlListType,
    ) -> TenantRequest {
        let mut req = TenantRequest::new(
            Method::PATCH,
            format!("{URL_LIST_PATH}/{id}/{patch}"),
            Endpoint::UrlList,
        );
        req.body = Some(url_list_body(urls, list_type));
        req
    }

    /// `PUT /api/v2/policy/urllist/{id}` with [`named_url_list_body`].
    pub fn update_url_list(
        id: i64,
        name: &str,
        urls: &[String],
        list_type: UrlListType,
    ) -> TenantRequest {
        let mut req = TenantRequest::new(
            Method::PUT,
            format!("{URL_LIST_PATH}/{id}"),
            Endpoint::UrlList,
        );
        req.body = Some(named_url_list_body(name, urls, list_type));
        req
    }

    /// `DELETE /api/v2/policy/urllist/{id}`.
    pub fn delete_url_list(id: i64) -> TenantRequest {
        TenantRequest::new(
            Method::DELETE,
            format!("{URL_LIST_PATH}/{id}"),
            Endpoint::UrlList,
        )
    }

    /// `POST /api/v2/policy/urllist/deploy`, no body.
    pub fn deploy_url_lists() -> TenantRequest {
        TenantRequest::new(
            Method::POST,
            URL_LIST_DEPLOY_PATH.to_owned(),
            Endpoint::UrlListDeploy,
        )
    }

    /// `POST /api/v1/updateFileHashList` with [`hash_list_body`].
    pub fn replace_file_hash_list(
        name: &str,
        hashes: &[String],
        v1_token: &Secret,
    ) -> TenantRequest {
        let mut req = TenantRequest::new(
            Method::POST,
            FILE_HASH_LIST_PATH.to_owned(),
            Endpoint::FileHashListV1,
        );
        req.body = Some(hash_list_body(name, hashes, v1_token));
        req
    }
}

/// Body of the v1 hash-list replace: `{"name":...,"list":"h1,h2,...","token":...}`.
pub fn hash_list_body(name: &str, hashes: &[String], v1_token: &Secret) -> Vec<u8> {
    push::hash_list_body(name, hashes, v1_token.expose())
}

/// [`hash_list_body`] with the token replaced by [`REDACTED_TOKEN`], for showing to users. It
/// differs from the bytes sent only inside the `token` string.
pub fn hash_list_preview_body(name: &str, hashes: &[String]) -> Vec<u8> {
    hash_list_body(name, hashes, &Secret::new(REDACTED_TOKEN))
}

/// The size [`crate::ListLimits`] measures: entries joined by commas.
pub fn list_size(entries: &[String]) -> usize {
    entries.iter().map(String::len).sum::<usize>() + entries.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn hash_list_body_joins_with_commas_and_preview_hides_the_token() {
        let hashes = strings(&["aa", "bb"]);
        let body = hash_list_body("ce-hashes", &hashes, &Secret::new("tok"));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"name":"ce-hashes","list":"aa,bb","token":"tok"}"#
        );
        assert_eq!(
            String::from_utf8(hash_list_preview_body("ce-hashes", &hashes)).unwrap(),
            r#"{"name":"ce-hashes","list":"aa,bb","token":"***"}"#
        );
    }

    #[test]
    fn requests_use_the_documented_paths() {
        let urls = strings(&["x.example"]);
        let cases = [
            (
                TenantRequest::url_list(7),
                "GET",
                "/api/v2/policy/urllist/7",
            ),
            (
                TenantRequest::patch_url_list(7, UrlListPatch::Remove, &urls, UrlListType::Exact),
                "PATCH",
                "/api/v2/policy/urllist/7/remove",
            ),
            (
                TenantRequest::update_url_list(7, "n", &urls, UrlListType::Exact),
                "PUT",
                "/api/v2/policy/urllist/7",
            ),
            (
                TenantRequest::delete_url_list(7),
                "DELETE",
                "/api/v2/policy/urllist/7",
            ),
            (
                TenantRequest::deploy_url_lists(),
                "POST",
                "/api/v2/policy/urllist/deploy",
            ),
            (
                TenantRequest::create_url_list("n", &urls, UrlListType::Exact),
                "POST",
                "/api/v2/policy/urllist",
            ),
        ];
        for (req, method, path) in cases {
            assert_eq!((req.method.as_str(), req.path.as_str()), (method, path));
        }
        let req = TenantRequest::alerts_page(AlertType::Malsite, "it", IteratorOp::Epoch(5));
        assert_eq!(req.path, "/api/v2/events/dataexport/alerts/malsite");
        assert_eq!(
            req.query,
            vec![
                ("index".to_owned(), "it".to_owned()),
                ("operation".to_owned(), "5".to_owned())
            ]
        );
        assert_eq!(
            TenantRequest::url_lists(true).query,
            vec![("field".to_owned(), "id,name,data".to_owned())]
        );
    }

    #[test]
    fn request_debug_hides_the_hash_list_token() {
        let req = TenantRequest::replace_file_hash_list("l", &[], &Secret::new("v1-secret"));
        assert!(!format!("{req:?}").contains("v1-secret"));
    }

    #[test]
    fn list_size_counts_separators() {
        assert_eq!(list_size(&[]), 0);
        assert_eq!(list_size(&strings(&["ab", "c"])), 4);
    }
}
