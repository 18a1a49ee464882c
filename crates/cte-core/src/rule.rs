//! Business rules and sharing configurations (reference §4.7): which indicators a rule selects,
//! which it leaves out (exceptions), whether it is muted, and where it shares them
//! (`sharedWith[source][destination]` = the Netskope targets to push to).
//!
//! Everything here is pure: [`validate_rule`] checks a rule against a [`RuleContext`] (the
//! configurations, tenants, tags and other rules the caller loaded) and returns every problem at
//! once, so the API can refuse a save with all its reasons.
//!
//! Deviations from CE, all deliberate:
//! - `filters.query` (the UI language) is parsed too, and ANDed with `filters.mongo` when both are
//!   given; CE only evaluates `mongo` and round-trips `query`.
//! - A tag exception leaves out an indicator when *any* of its source records carries one of the
//!   tags. CE's query (`sources $elemMatch {tags $nin}`) leaves it out only when *every* source
//!   carries one, so an allow-listed value re-reported by another source would be shared again.
//! - Only the Netskope targets "Add to URL List" (`url`) and "Add to File Hash List" (`file`) are
//!   accepted; private apps, destination and DNS profiles are refused until they are implemented.
//! - A URL list named in `list` need not exist on the tenant yet (saving never calls the tenant);
//!   the share cycle creates a missing list, as CE's push does.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Configuration, PluginKind};
use crate::filter::{parse_json, parse_ui, ArrayTest, Cond, Expr, Filter, FilterError, SourceCond};
use crate::normalize::normalize_value;
use crate::tenant::{validate_url_list_name, UrlListType};
use crate::tenant_config::NetskopeTenant;
use crate::IndicatorKind;

/// A business rule (CE's `cte_business_rules` document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessRule {
    /// Unique name, trimmed, not empty.
    pub name: String,
    /// Which indicators the rule selects.
    #[serde(default)]
    pub filters: RuleFilters,
    /// Indicators left out although the filters select them.
    #[serde(default)]
    pub exceptions: Vec<RuleException>,
    /// A muted rule shares nothing until it is unmuted.
    #[serde(default)]
    pub muted: bool,
    /// When the age cycle unmutes the rule; set whenever `muted` is.
    #[serde(default)]
    pub unmute_at: Option<DateTime<Utc>>,
    /// The sharing configurations: source configuration → destination configuration → targets.
    #[serde(default)]
    pub shared_with: SharedWith,
}

/// `sharedWith`: source configuration → destination configuration → actions.
pub type SharedWith = BTreeMap<String, BTreeMap<String, Vec<Action>>>;

/// A filter in both of CE's spellings: the UI language and Mongo-style JSON (as a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFilters {
    /// The UI query language (`type IN ("url") && tags IN ("bad")`); empty selects everything.
    #[serde(default)]
    pub query: String,
    /// CE's Mongo-style JSON filter, as a JSON string; `{}` (or empty) selects everything.
    #[serde(default = "empty_mongo")]
    pub mongo: String,
}

fn empty_mongo() -> String {
    "{}".to_string()
}

impl Default for RuleFilters {
    fn default() -> Self {
        RuleFilters {
            query: String::new(),
            mongo: empty_mongo(),
        }
    }
}

impl RuleFilters {
    /// The filter both spellings describe together (ANDed); empty text selects everything.
    /// Errors carry CE's filter messages.
    pub fn filter(&self) -> Result<Filter, FilterError> {
        let mongo = if self.mongo.trim().is_empty() {
            Filter::all()
        } else {
            parse_json(&self.mongo)?
        };
        Ok(mongo.and(parse_ui(&self.query)?))
    }
}

/// An exception of a rule: indicators it selects are not shared. Exactly one of `filters` and
/// `tags` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleException {
    /// Name, unique within the rule.
    pub name: String,
    /// Leave out the indicators this filter selects.
    #[serde(default)]
    pub filters: Option<RuleFilters>,
    /// Leave out the indicators carrying any of these tags (on any source).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl RuleException {
    /// The indicators this exception leaves out.
    pub fn filter(&self) -> Result<Filter, RuleProblem> {
        match (&self.filters, &self.tags) {
            (Some(f), None) => f.filter().map_err(|e| RuleProblem::Filter(e.detail())),
            (None, Some(tags)) => Ok(Filter::new(Expr::Cond(Cond::Sources(Expr::Cond(
                SourceCond::Tags(ArrayTest::In(tags.clone())),
            ))))),
            _ => Err(RuleProblem::Invalid(format!(
                "Exception '{}' must have exactly one of filters and tags.",
                self.name
            ))),
        }
    }
}

/// A target of a sharing configuration, as CE stores it (`Action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What the UI shows ("Add to URL List").
    #[serde(default)]
    pub label: String,
    /// The target kind (`url`, `file`).
    pub value: String,
    /// The target's fields.
    #[serde(default = "empty_object")]
    pub parameters: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl BusinessRule {
    /// A new unmuted rule with no exceptions and no sharing.
    pub fn new(name: impl Into<String>, filters: RuleFilters) -> BusinessRule {
        BusinessRule {
            name: name.into(),
            filters,
            exceptions: Vec::new(),
            muted: false,
            unmute_at: None,
            shared_with: SharedWith::new(),
        }
    }

    /// The indicators the rule's filters select, before exceptions.
    pub fn filter(&self) -> Result<Filter, FilterError> {
        self.filters.filter()
    }

    /// The indicators the rule shares: its filters, minus every exception (CE's `$nor`).
    pub fn selection(&self) -> Result<Filter, RuleProblem> {
        let base = self.filter().map_err(|e| RuleProblem::Filter(e.detail()))?;
        let mut excluded = Vec::new();
        for e in &self.exceptions {
            // An exception that selects everything leaves nothing to share.
            excluded.push(e.filter()?.expr().cloned().unwrap_or(Expr::And(Vec::new())));
        }
        if excluded.is_empty() {
            return Ok(base);
        }
        Ok(base.and(Filter::new(Expr::Nor(excluded))))
    }

    /// Every tag name the rule refers to, in its filters or in its exceptions (CE refuses to
    /// delete those tags). Unparseable filters contribute nothing.
    pub fn referenced_tags(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |f: &RuleFilters| {
            if let Ok(filter) = f.filter() {
                if let Some(e) = filter.expr() {
                    collect_tags(e, &mut out);
                }
            }
        };
        add(&self.filters);
        for e in &self.exceptions {
            if let Some(f) = &e.filters {
                add(f);
            }
        }
        for e in &self.exceptions {
            out.extend(e.tags.iter().flatten().cloned());
        }
        out
    }

    /// The sharing configurations as `(source, destination, actions)`.
    pub fn sharing_configurations(&self) -> impl Iterator<Item = (&str, &str, &[Action])> {
        self.shared_with.iter().flat_map(|(src, dests)| {
            dests
                .iter()
                .map(move |(dst, actions)| (src.as_str(), dst.as_str(), actions.as_slice()))
        })
    }

    /// Removes a configuration wherever it appears as a source or a destination; true if the rule
    /// changed. A source left without destinations is dropped.
    pub fn forget_configuration(&mut self, name: &str) -> bool {
        let mut changed = self.shared_with.remove(name).is_some();
        for dests in self.shared_with.values_mut() {
            changed |= dests.remove(name).is_some();
        }
        self.shared_with.retain(|_, dests| !dests.is_empty());
        changed
    }
}

fn collect_tags(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::And(v) | Expr::Or(v) | Expr::Nor(v) => v.iter().for_each(|x| collect_tags(x, out)),
        Expr::Cond(Cond::Sources(inner)) => collect_source_tags(inner, out),
        Expr::Cond(_) => {}
    }
}

fn collect_source_tags(e: &Expr<SourceCond>, out: &mut BTreeSet<String>) {
    match e {
        Expr::And(v) | Expr::Or(v) | Expr::Nor(v) => {
            v.iter().for_each(|x| collect_source_tags(x, out))
        }
        Expr::Cond(SourceCond::Tags(ArrayTest::In(t) | ArrayTest::Nin(t))) => {
            out.extend(t.iter().cloned())
        }
        Expr::Cond(_) => {}
    }
}

/// One reason a rule cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// A filter does not parse; the text is CE's filter error (CE answers 400).
    #[error("{0}")]
    Filter(String),
    /// Anything else (CE answers 422).
    #[error("{0}")]
    Invalid(String),
}

impl RuleProblem {
    /// True for filter problems.
    pub fn is_filter(&self) -> bool {
        matches!(self, RuleProblem::Filter(_))
    }
}

/// Default of `max_url_list_cap`, also its maximum (MB).
pub const MAX_URL_LIST_CAP_MB: u32 = 7;
/// Default of `max_file_hash_cap`, also its maximum (MB).
pub const MAX_FILE_HASH_CAP_MB: u32 = 8;
/// Default of `default_url`: the placeholder pushed when a URL list would be empty.
pub const DEFAULT_URL: &str = "cedefaultpush.io";
/// Default of `default_file_hash`: the placeholder pushed when a hash list would be empty.
pub const DEFAULT_FILE_HASH: &str =
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
/// Label of the URL-list target.
pub const URL_LIST_LABEL: &str = "Add to URL List";
/// Label of the file-hash-list target.
pub const FILE_HASH_LIST_LABEL: &str = "Add to File Hash List";

/// A validated Netskope target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShareTarget {
    /// "Add to URL List" (`url`).
    UrlList(UrlListTarget),
    /// "Add to File Hash List" (`file`).
    FileHashList(FileHashListTarget),
}

/// Push URL-like indicators into a tenant URL list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlListTarget {
    /// The list's name (`name` when `list` is `create`, else `list`).
    pub list: String,
    /// The user asked for a new list (`list: "create"`).
    pub create: bool,
    /// Exact or regex matching.
    pub list_type: UrlListType,
    /// Largest list size in MB (1..=7).
    pub max_size_mb: u32,
    /// Pushed when the list would otherwise be empty.
    pub default_url: String,
}

/// Push MD5/SHA-256 indicators into an existing tenant file-hash list (needs the V1 token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHashListTarget {
    /// The list's name.
    pub list: String,
    /// Largest list size in MB (1..=8).
    pub max_size_mb: u32,
    /// Pushed when the list would otherwise be empty.
    pub default_file_hash: String,
}

/// Which tenant object a target writes; two targets with equal keys on one tenant clash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListKey {
    /// `url` or `file`.
    pub kind: &'static str,
    /// The list name, ASCII-lower-cased.
    pub name: String,
}

impl ShareTarget {
    /// Reads and checks an action's parameters (CE's `validate_action` for the Netskope plugin),
    /// filling CE's defaults. The error is a sentence naming the bad field.
    pub fn from_action(action: &Action) -> Result<ShareTarget, String> {
        let p = match &action.parameters {
            serde_json::Value::Object(m) => m,
            serde_json::Value::Null => &serde_json::Map::new(),
            _ => return Err("Action parameters must be a JSON object.".into()),
        };
        let text = |key: &str| -> Result<Option<String>, String> {
            match p.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(_) => Err(format!("'{key}' must be a string.")),
            }
        };
        match action.value.as_str() {
            "url" => {
                let list = text("list")?.unwrap_or_default();
                let new_name = text("name")?.unwrap_or_default();
                let (list, create) = if list.is_empty() || list == "create" {
                    if new_name.is_empty() {
                        return Err("Add to URL List: 'name' is required when 'list' is 'create'.".into());
                    }
                    (new_name, true)
                } else {
                    (list, false)
                };
                validate_url_list_name(&list).map_err(|e| format!("Add to URL List: {e}."))?;
                let list_type = match text("url_list_type")? {
                    None => UrlListType::Exact,
                    Some(s) => UrlListType::parse(&s).ok_or_else(|| {
                        format!("Add to URL List: invalid 'url_list_type' '{s}'; allowed values are 'Exact' and 'Regex'.")
                    })?,
                };
                let max_size_mb = cap(p.get("max_url_list_cap"), "max_url_list_cap", MAX_URL_LIST_CAP_MB)
                    .map_err(|e| format!("Add to URL List: {e}"))?;
                let default_url = text("default_url")?
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_URL.to_string());
                normalize_value(IndicatorKind::Url, &default_url).map_err(|e| {
                    format!("Add to URL List: 'default_url' '{default_url}' is not a valid URL ({e}).")
                })?;
                Ok(ShareTarget::UrlList(UrlListTarget {
                    list,
                    create,
                    list_type,
                    max_size_mb,
                    default_url,
                }))
            }
            "file" => {
                let list = text("file_list")?.unwrap_or_default();
                if list.is_empty() {
                    return Err("Add to File Hash List: 'file_list' (the name of an existing file hash list) is required.".into());
                }
                let max_size_mb = cap(p.get("max_file_hash_cap"), "max_file_hash_cap", MAX_FILE_HASH_CAP_MB)
                    .map_err(|e| format!("Add to File Hash List: {e}"))?;
                let default_file_hash = text("default_file_hash")?
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| DEFAULT_FILE_HASH.to_string());
                if !(default_file_hash.len() == 32 || default_file_hash.len() == 64)
                    || !default_file_hash.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(format!("Add to File Hash List: 'default_file_hash' '{default_file_hash}' is not an MD5 or SHA-256 hex digest."));
                }
                Ok(ShareTarget::FileHashList(FileHashListTarget {
                    list,
                    max_size_mb,
                    default_file_hash: default_file_hash.to_ascii_lowercase(),
                }))
            }
            other => Err(format!(
                "Unknown target '{other}' for a Netskope destination; supported targets are 'url' (Add to URL List) and 'file' (Add to File Hash List)."
            )),
        }
    }

    /// The action as stored: CE's label and every parameter spelled out.
    pub fn to_action(&self) -> Action {
        match self {
            ShareTarget::UrlList(t) => Action {
                label: URL_LIST_LABEL.into(),
                value: "url".into(),
                parameters: serde_json::json!({
                    "list": if t.create { "create" } else { t.list.as_str() },
                    "name": if t.create { t.list.as_str() } else { "" },
                    "url_list_type": match t.list_type { UrlListType::Exact => "Exact", UrlListType::Regex => "Regex" },
                    "max_url_list_cap": t.max_size_mb,
                    "default_url": t.default_url,
                }),
            },
            ShareTarget::FileHashList(t) => Action {
                label: FILE_HASH_LIST_LABEL.into(),
                value: "file".into(),
                parameters: serde_json::json!({
                    "file_list": t.list,
                    "max_file_hash_cap": t.max_size_mb,
                    "default_file_hash": t.default_file_hash,
                }),
            },
        }
    }

    /// The tenant object this target writes.
    pub fn list_key(&self) -> ListKey {
        match self {
            ShareTarget::UrlList(t) => ListKey {
                kind: "url",
                name: t.list.to_ascii_lowercase(),
            },
            ShareTarget::FileHashList(t) => ListKey {
                kind: "file",
                name: t.list.to_ascii_lowercase(),
            },
        }
    }

    /// The list's size cap in bytes (CE counts MB as 1024 × 1024 bytes).
    pub fn max_bytes(&self) -> u64 {
        let mb = match self {
            ShareTarget::UrlList(t) => t.max_size_mb,
            ShareTarget::FileHashList(t) => t.max_size_mb,
        };
        u64::from(mb) * 1024 * 1024
    }
}

/// A size cap in whole MB, 1..=max, defaulting to max; integers or integer strings.
fn cap(v: Option<&serde_json::Value>, key: &str, max: u32) -> Result<u32, String> {
    let n = match v {
        None | Some(serde_json::Value::Null) => return Ok(max),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if (1..=i64::from(max)).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "'{key}' must be a whole number of MB between 1 and {max}; the maximum size of the list is {max}MB."
        )),
    }
}

/// What [`validate_rule`] checks a rule against; the caller loads it from the store.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    /// Every configuration.
    pub configurations: &'a [Configuration],
    /// Every Netskope tenant.
    pub tenants: &'a [NetskopeTenant],
    /// Every tag name.
    pub tags: &'a [String],
    /// Every stored rule; a stored rule with the name of the one being checked is ignored (it is
    /// the old version of an update).
    pub rules: &'a [BusinessRule],
}

/// The message CE gives for a destination that is an API Source configuration (seed: "you cannot
/// insert an API Source as a destination configuration").
pub const API_SOURCE_DESTINATION: &str =
    "The API Source plugin can only be a source; it cannot be a destination.";

/// Checks a rule before it is saved, and returns it with its name trimmed and each action in its
/// canonical form ([`ShareTarget::to_action`]). Reports every problem found.
pub fn validate_rule(
    rule: &BusinessRule,
    ctx: &RuleContext<'_>,
) -> Result<BusinessRule, Vec<RuleProblem>> {
    let mut problems = Vec::new();
    let mut out = rule.clone();
    out.name = rule.name.trim().to_string();
    if out.name.is_empty() {
        problems.push(RuleProblem::Invalid(
            "Business rule name must not be empty.".into(),
        ));
    }
    if let Err(e) = rule.filter() {
        problems.push(RuleProblem::Filter(e.detail()));
    }

    let mut names = BTreeSet::new();
    let mut missing_tags = BTreeSet::new();
    for e in &rule.exceptions {
        if e.name.trim().is_empty() {
            problems.push(RuleProblem::Invalid(
                "Exception name must not be empty.".into(),
            ));
        } else if !names.insert(e.name.trim()) {
            problems.push(RuleProblem::Invalid(format!(
                "Exception name '{}' is used twice.",
                e.name.trim()
            )));
        }
        if let Err(p) = e.filter() {
            problems.push(p);
        }
        if let Some(tags) = &e.tags {
            if tags.is_empty() {
                problems.push(RuleProblem::Invalid(format!(
                    "Exception '{}' must name at least one tag.",
                    e.name
                )));
            }
            missing_tags.extend(tags.iter().filter(|t| !ctx.tags.contains(t)).cloned());
        }
    }
    if !missing_tags.is_empty() {
        problems.push(RuleProblem::Invalid(format!(
            "Tag(s) {} do not exist.",
            quoted(missing_tags.iter())
        )));
    }

    // Targets of this rule, keyed by tenant object, to find clashes within it and with others.
    let mut mine: BTreeMap<(String, ListKey), (String, String)> = BTreeMap::new();
    for (src, dests) in &rule.shared_with {
        if !ctx.configurations.iter().any(|c| c.name == *src) {
            problems.push(RuleProblem::Invalid(format!(
                "Source configuration '{src}' does not exist."
            )));
        }
        for (dst, actions) in dests {
            let Some(dest) = ctx.configurations.iter().find(|c| c.name == *dst) else {
                problems.push(RuleProblem::Invalid(format!(
                    "Destination configuration '{dst}' does not exist."
                )));
                continue;
            };
            if dest.plugin == PluginKind::ApiSources {
                problems.push(RuleProblem::Invalid(format!(
                    "{API_SOURCE_DESTINATION} ('{dst}')"
                )));
                continue;
            }
            if dest.plugin != PluginKind::Netskope {
                problems.push(RuleProblem::Invalid(format!(
                    "Destination configuration '{dst}' cannot receive indicators; only Netskope configurations can."
                )));
                continue;
            }
            let tenant_name = dest.tenant.clone().unwrap_or_default();
            let tenant = ctx.tenants.iter().find(|t| t.name == tenant_name);
            let mut canonical = Vec::with_capacity(actions.len());
            for action in actions {
                let target = match ShareTarget::from_action(action) {
                    Ok(t) => t,
                    Err(e) => {
                        problems.push(RuleProblem::Invalid(format!("{src} → {dst}: {e}")));
                        continue;
                    }
                };
                if matches!(target, ShareTarget::FileHashList(_))
                    && tenant.is_none_or(|t| t.v1_token.is_none())
                {
                    problems.push(RuleProblem::Invalid(format!(
                        "{src} → {dst}: Add to File Hash List needs the V1 API token of tenant '{tenant_name}'; add it in the tenant settings."
                    )));
                }
                let key = (tenant_name.clone(), target.list_key());
                if mine.insert(key, (src.clone(), dst.clone())).is_some() {
                    problems.push(duplicate(&target, &out.name));
                }
                canonical.push(target.to_action());
            }
            if let Some(a) = out.shared_with.get_mut(src).and_then(|d| d.get_mut(dst)) {
                if canonical.len() == a.len() {
                    *a = canonical;
                }
            }
        }
    }

    // Clashes with the targets of the other stored rules.
    for other in ctx.rules.iter().filter(|r| r.name != out.name) {
        for (_, dst, actions) in other.sharing_configurations() {
            let Some(tenant_name) = ctx
                .configurations
                .iter()
                .find(|c| c.name == dst)
                .and_then(|c| c.tenant.clone())
            else {
                continue;
            };
            for target in actions
                .iter()
                .filter_map(|a| ShareTarget::from_action(a).ok())
            {
                if mine.contains_key(&(tenant_name.clone(), target.list_key())) {
                    problems.push(duplicate(&target, &other.name));
                }
            }
        }
    }

    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn duplicate(target: &ShareTarget, rule: &str) -> RuleProblem {
    let (what, name) = match target {
        ShareTarget::UrlList(t) => ("URL List", &t.list),
        ShareTarget::FileHashList(t) => ("File Hash List", &t.list),
    };
    RuleProblem::Invalid(format!(
        "The same URL List, File Hash List or Private App List is already configured for this tenant ({what} '{name}' in business rule '{rule}')."
    ))
}

fn quoted<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
