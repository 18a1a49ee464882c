//! The tenant calls of a list push as data, and the exact bytes of their bodies.
//!
//! The byte format of the URL-list and file-hash-list bodies lives here, not in the HTTP adapter,
//! so that the engine can show what the next push will send (a preview) without depending on an
//! adapter, and the adapter (`cte-netskope`) sends bodies built by these same functions. A
//! [`PushCall`] is one tenant call of a push; the engine executes it through the
//! [`crate::tenant::TenantClient`] method of the same name and arguments, and [`PushCall::render`]
//! gives the request that method sends.

use serde::Serialize;

use crate::tenant::{UrlListPatch, UrlListType};

/// Path of the URL-list collection.
pub const URL_LIST_PATH: &str = "/api/v2/policy/urllist";
/// Path of the URL-list deploy. Netskope's released SDK and CLI post to `/api/v2/policy/deploy`,
/// which does not exist on a real tenant; CE's plugin and the gateway spec use this one.
pub const URL_LIST_DEPLOY_PATH: &str = "/api/v2/policy/urllist/deploy";
/// Path of the v1 file-hash-list update.
pub const FILE_HASH_LIST_PATH: &str = "/api/v1/updateFileHashList";
/// What a rendered hash-list body shows in place of the v1 token.
pub const REDACTED_TOKEN: &str = "***";

#[derive(Serialize)]
struct UrlListData<'a> {
    urls: &'a [String],
    #[serde(rename = "type")]
    list_type: &'static str,
}

#[derive(Serialize)]
struct PatchBody<'a> {
    data: UrlListData<'a>,
}

#[derive(Serialize)]
struct NamedBody<'a> {
    name: &'a str,
    data: UrlListData<'a>,
}

#[derive(Serialize)]
struct HashListBody<'a> {
    name: &'a str,
    list: &'a str,
    token: &'a str,
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Serializing these structs of strings cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Body of the URL-list PATCH (append, replace, remove):
/// `{"data":{"urls":[...],"type":"exact"|"regex"}}`, compact, entries in the order given.
pub fn url_list_body(urls: &[String], list_type: UrlListType) -> Vec<u8> {
    to_json(&PatchBody {
        data: UrlListData {
            urls,
            list_type: list_type.as_str(),
        },
    })
}

/// Body of URL-list create (POST) and update (PUT):
/// `{"name":...,"data":{"urls":[...],"type":...}}`, compact, entries in the order given.
pub fn named_url_list_body(name: &str, urls: &[String], list_type: UrlListType) -> Vec<u8> {
    to_json(&NamedBody {
        name,
        data: UrlListData {
            urls,
            list_type: list_type.as_str(),
        },
    })
}

/// The `list` value of the v1 hash-list body: the hashes joined by commas, in the order given.
pub fn hash_list_value(hashes: &[String]) -> String {
    hashes.join(",")
}

/// Body of the v1 hash-list replace: `{"name":...,"list":"h1,h2,...","token":...}`.
pub fn hash_list_body(name: &str, hashes: &[String], v1_token: &str) -> Vec<u8> {
    to_json(&HashListBody {
        name,
        list: &hash_list_value(hashes),
        token: v1_token,
    })
}

/// One tenant call of a list push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushCall {
    /// `GET /api/v2/policy/urllist?field=id,name`: does the list exist, and under which id.
    ListUrlLists,
    /// `POST /api/v2/policy/urllist`: create the list with its content.
    CreateUrlList {
        /// List name as configured.
        name: String,
        /// Entries in push order.
        urls: Vec<String>,
        /// Exact or regex.
        list_type: UrlListType,
    },
    /// `PATCH /api/v2/policy/urllist/{id}/{append|replace}`.
    PatchUrlList {
        /// Tenant id of the list; `None` when not known yet (only in a preview, before the read).
        id: Option<i64>,
        /// Append or replace.
        patch: UrlListPatch,
        /// Entries in push order.
        urls: Vec<String>,
        /// Exact or regex.
        list_type: UrlListType,
    },
    /// `POST /api/v2/policy/urllist/deploy`: apply the pending changes.
    DeployUrlLists,
    /// `POST /api/v1/updateFileHashList`: replace the file-hash list.
    ReplaceFileHashList {
        /// List name as configured.
        name: String,
        /// Hashes in push order.
        hashes: Vec<String>,
    },
}

/// A request as the adapter sends it, apart from the host and the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRequest {
    /// HTTP method.
    pub method: &'static str,
    /// Path below the tenant base URL; `{id}` stands for a list id not known yet.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Body bytes, if any. The hash-list body carries [`REDACTED_TOKEN`] in place of the v1 token:
    /// it differs from the bytes sent only inside the `token` string.
    pub body: Option<Vec<u8>>,
}

impl PushCall {
    /// Whether the call changes the tenant.
    pub fn is_write(&self) -> bool {
        !matches!(self, PushCall::ListUrlLists)
    }

    /// The request this call sends (hash-list token redacted).
    pub fn render(&self) -> RenderedRequest {
        let (method, path, query, body) = match self {
            PushCall::ListUrlLists => (
                "GET",
                URL_LIST_PATH.to_string(),
                vec![("field".to_string(), "id,name".to_string())],
                None,
            ),
            PushCall::CreateUrlList {
                name,
                urls,
                list_type,
            } => (
                "POST",
                URL_LIST_PATH.to_string(),
                Vec::new(),
                Some(named_url_list_body(name, urls, *list_type)),
            ),
            PushCall::PatchUrlList {
                id,
                patch,
                urls,
                list_type,
            } => (
                "PATCH",
                match id {
                    Some(id) => format!("{URL_LIST_PATH}/{id}/{patch}"),
                    None => format!("{URL_LIST_PATH}/{{id}}/{patch}"),
                },
                Vec::new(),
                Some(url_list_body(urls, *list_type)),
            ),
            PushCall::DeployUrlLists => {
                ("POST", URL_LIST_DEPLOY_PATH.to_string(), Vec::new(), None)
            }
            PushCall::ReplaceFileHashList { name, hashes } => (
                "POST",
                FILE_HASH_LIST_PATH.to_string(),
                Vec::new(),
                Some(hash_list_body(name, hashes, REDACTED_TOKEN)),
            ),
        };
        RenderedRequest {
            method,
            path,
            query,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn url_list_bodies_are_compact_and_ordered() {
        let urls = strings(&["b.example.com", "a.example.com/\"q\""]);
        assert_eq!(
            String::from_utf8(url_list_body(&urls, UrlListType::Exact)).unwrap(),
            r#"{"data":{"urls":["b.example.com","a.example.com/\"q\""],"type":"exact"}}"#
        );
        assert_eq!(
            String::from_utf8(named_url_list_body(
                "ce iocs",
                &urls[..1],
                UrlListType::Regex
            ))
            .unwrap(),
            r#"{"name":"ce iocs","data":{"urls":["b.example.com"],"type":"regex"}}"#
        );
    }

    #[test]
    fn rendered_calls_use_the_documented_paths_and_hide_the_token() {
        let urls = strings(&["x.example"]);
        let patch = PushCall::PatchUrlList {
            id: Some(7),
            patch: UrlListPatch::Append,
            urls: urls.clone(),
            list_type: UrlListType::Exact,
        }
        .render();
        assert_eq!(
            (patch.method, patch.path.as_str()),
            ("PATCH", "/api/v2/policy/urllist/7/append")
        );
        let unknown = PushCall::PatchUrlList {
            id: None,
            patch: UrlListPatch::Replace,
            urls,
            list_type: UrlListType::Exact,
        }
        .render();
        assert_eq!(unknown.path, "/api/v2/policy/urllist/{id}/replace");
        let hash = PushCall::ReplaceFileHashList {
            name: "l".into(),
            hashes: strings(&["aa", "bb"]),
        }
        .render();
        assert_eq!(
            String::from_utf8(hash.body.unwrap()).unwrap(),
            r#"{"name":"l","list":"aa,bb","token":"***"}"#
        );
        assert!(!PushCall::ListUrlLists.is_write());
    }
}
