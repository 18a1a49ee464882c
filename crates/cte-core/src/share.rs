//! Share planning: which of a rule's selected IoCs fit a Netskope list, in what order, and what the
//! next push must change. Pure: the engine feeds it the selection and executes the result.
//!
//! The cut follows CE's Netskope plugin (reference §2.3, `make_batch`): candidates come newest
//! `lastSeen` first; indicators of other kinds are skipped; each value costs
//! `len(json.dumps(value)) + 3` bytes (`+ 4` for the first), and the list stops before the cost
//! would pass the cap (`cap_mb × 1024 × 1024`) or when it holds 300,000 entries. Whatever does not
//! fit is left out with a reason, never spread over another list.

use std::collections::HashSet;

use crate::indicator::IndicatorKind;

/// CE's `MAX_PUSH_INDICATORS`.
pub const MAX_LIST_ENTRIES: usize = 300_000;

/// Bytes in one "MB" of a list cap (CE's `BYTES_TO_MB`).
pub const BYTES_PER_MB: usize = 1024 * 1024;

/// The two kinds of Netskope list a sharing configuration can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// A URL list: urls, domains, hostnames, FQDNs, IPv4 and IPv6.
    Url,
    /// A file-hash list: MD5 and SHA-256.
    FileHash,
}

impl ListKind {
    /// Whether an indicator of `kind` can go on this list.
    pub fn accepts(self, kind: IndicatorKind) -> bool {
        match self {
            ListKind::Url => kind.is_url_like(),
            ListKind::FileHash => kind.is_hash(),
        }
    }
}

/// Why a selected indicator is not on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// Its kind does not go on this kind of list.
    Type,
    /// The list reached its byte cap.
    OverCap {
        /// The cap, in MB.
        cap_mb: u32,
    },
    /// The list reached 300,000 entries.
    OverCount,
}

impl Exclusion {
    /// The reason as stored and shown (`unshared: over 7 MB cap`, ...).
    pub fn reason(&self) -> String {
        match self {
            Exclusion::Type => "type".into(),
            Exclusion::OverCap { cap_mb } => format!("unshared: over {cap_mb} MB cap"),
            Exclusion::OverCount => format!("unshared: over {MAX_LIST_ENTRIES} entries"),
        }
    }
}

/// What goes on a list and what is left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPlan {
    /// Entries in push order (newest first), without duplicates.
    pub entries: Vec<String>,
    /// Indicators left out, with the reason.
    pub excluded: Vec<(String, Exclusion)>,
    /// CE's cost of `entries` in bytes.
    pub cost: usize,
}

/// The bytes CE's plugin counts for `value` (`len(json.dumps(value))`, ASCII-escaped like Python's
/// default) plus the separator it adds.
pub fn entry_cost(value: &str, first: bool) -> usize {
    let mut n = 2; // quotes
    for c in value.chars() {
        n += match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c if c.is_ascii() => 1,
            c if (c as u32) > 0xFFFF => 12, // a surrogate pair, \uXXXX\uXXXX
            _ => 6,
        };
    }
    n + if first { 4 } else { 3 }
}

/// Cuts the selection (newest first) to what fits a list of `kind` under `cap_mb`.
pub fn plan_list<'a>(
    candidates: impl IntoIterator<Item = (&'a str, IndicatorKind)>,
    kind: ListKind,
    cap_mb: u32,
) -> ListPlan {
    let cap = cap_mb as usize * BYTES_PER_MB;
    let mut plan = ListPlan::default();
    let mut seen: HashSet<&str> = HashSet::new();
    for (value, k) in candidates {
        if !kind.accepts(k) {
            plan.excluded.push((value.to_string(), Exclusion::Type));
            continue;
        }
        if !seen.insert(value) {
            continue;
        }
        if plan.entries.len() >= MAX_LIST_ENTRIES {
            plan.excluded
                .push((value.to_string(), Exclusion::OverCount));
            continue;
        }
        let cost = entry_cost(value, plan.entries.is_empty());
        if plan.cost + cost > cap {
            plan.excluded
                .push((value.to_string(), Exclusion::OverCap { cap_mb }));
            continue;
        }
        plan.cost += cost;
        plan.entries.push(value.to_string());
    }
    plan
}

/// The change a URL-list push must make, given what the tenant was last acknowledged to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlListChange {
    /// Nothing changed: no tenant call at all.
    None,
    /// Only new entries: append them.
    Append(Vec<String>),
    /// Something must leave the list (or a placeholder must go): replace it with this content.
    Replace(Vec<String>),
}

/// Compares the acknowledged content with the wanted content. `placeholder` is the default entry
/// pushed when the wanted content is empty (a URL list cannot be empty).
pub fn url_list_change(
    acknowledged: &[String],
    wanted: &[String],
    placeholder: &str,
) -> UrlListChange {
    let wanted: Vec<String> = if wanted.is_empty() {
        vec![placeholder.to_string()]
    } else {
        wanted.to_vec()
    };
    let have: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    let want: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    if have == want {
        return UrlListChange::None;
    }
    if have.is_subset(&want) {
        let new = wanted
            .iter()
            .filter(|v| !have.contains(v.as_str()))
            .cloned()
            .collect();
        return UrlListChange::Append(new);
    }
    UrlListChange::Replace(wanted)
}

/// Identifies one tenant list: the tenant configuration's name, the list kind and the list name
/// (ASCII lower case, as the duplicate-target check compares them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListRef {
    /// Tenant configuration name.
    pub tenant: String,
    /// `url` or `file`.
    pub kind: String,
    /// List name, ASCII lower case.
    pub list: String,
}

/// What the store knows of a list: the content last acknowledged and whether a push is unconfirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListState {
    /// Entries the tenant was last acknowledged to hold.
    pub content: Vec<String>,
    /// Counts acknowledged pushes.
    pub generation: i64,
    /// A push was written to the outbox and not acknowledged: the tenant's content is unknown.
    pub unconfirmed: bool,
    /// Values the tenant refused for this list, with its reason; they are not offered again.
    pub rejected: Vec<(String, String)>,
}

/// One indicator selected for a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCandidate {
    /// Normalised value.
    pub value: String,
    /// Kind.
    pub kind: IndicatorKind,
}

/// The per-indicator result of a push, for one source and destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareOutcome {
    /// Indicator value.
    pub value: String,
    /// New status.
    pub status: crate::indicator::DestinationStatus,
    /// Why, for `failed` and `unshared`.
    pub reason: Option<String>,
}

/// The acknowledgement of a push, stored in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAck<'a> {
    /// Outbox row being acknowledged.
    pub outbox_id: i64,
    /// Business rule of the sharing configuration (recorded with each status, for "explain").
    pub rule: &'a str,
    /// The list.
    pub list: &'a ListRef,
    /// What the tenant now holds.
    pub content: &'a [String],
    /// Values the tenant has refused for this list (kept and not offered again), with its reason.
    pub rejected: &'a [(String, String)],
    /// Source configuration of the sharing configuration.
    pub source: &'a str,
    /// Destination configuration.
    pub destination: &'a str,
    /// Status of every selected indicator for this list; indicators whose status for this list,
    /// source and destination is not listed here lose it (they left the list).
    pub outcomes: &'a [ShareOutcome],
}

/// Where an indicator stands with one sharing configuration's list, as the last acknowledged push
/// of that source and destination left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRecord {
    /// Source configuration.
    pub source: String,
    /// Destination configuration.
    pub destination: String,
    /// Shared, failed (refused by the tenant) or unshared (cut).
    pub status: crate::indicator::DestinationStatus,
    /// Why, for `failed` and `unshared`.
    pub reason: Option<String>,
    /// Business rule of the push; `None` for statuses recorded before rules were recorded.
    pub rule: Option<String>,
    /// The list; `None` for statuses recorded before lists were recorded.
    pub list: Option<ListRef>,
    /// When the push that set this status was acknowledged.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A tenant list whose acknowledged content holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListHolding {
    /// The list.
    pub list: ListRef,
    /// When that content was acknowledged.
    pub at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use IndicatorKind::*;

    #[test]
    fn costs_match_python_json_dumps_plus_separator() {
        assert_eq!(entry_cost("a.example", true), 11 + 4);
        assert_eq!(entry_cost("a.example", false), 11 + 3);
        assert_eq!(entry_cost("a\"b", false), 6 + 3);
        assert_eq!(entry_cost("é", false), 8 + 3);
    }

    #[test]
    fn cut_keeps_newest_first_and_reports_the_rest() {
        let cands = [
            ("new.example", Domain),
            ("0123456789abcdef0123456789abcdef", Md5),
            ("old.example", Domain),
            ("new.example", Domain),
        ];
        let plan = plan_list(cands, ListKind::Url, 7);
        assert_eq!(plan.entries, ["new.example", "old.example"]);
        assert_eq!(
            plan.excluded,
            [(
                "0123456789abcdef0123456789abcdef".to_string(),
                Exclusion::Type
            )]
        );
        assert_eq!(
            plan.cost,
            entry_cost("new.example", true) + entry_cost("old.example", false)
        );
    }

    #[test]
    fn cap_cuts_exactly_at_the_byte_limit() {
        // 1 MB cap; every value costs 100 bytes once the first has paid its extra byte.
        let values: Vec<String> = (0..20_000).map(|i| format!("{i:0>93}.x")).collect();
        assert_eq!(entry_cost(&values[1], false), 100);
        let plan = plan_list(
            values.iter().map(|v| (v.as_str(), Hostname)),
            ListKind::Url,
            1,
        );
        assert_eq!(plan.entries.len(), (BYTES_PER_MB - 1) / 100);
        assert!(plan.cost <= BYTES_PER_MB);
        assert_eq!(plan.excluded.len(), 20_000 - plan.entries.len());
        assert_eq!(plan.excluded[0].1.reason(), "unshared: over 1 MB cap");
        assert_eq!(plan.entries[0], values[0], "newest first survives the cut");
    }

    #[test]
    fn count_limit_is_300k() {
        let values: Vec<String> = (0..MAX_LIST_ENTRIES + 5)
            .map(|i| format!("h{i}.example"))
            .collect();
        let plan = plan_list(
            values.iter().map(|v| (v.as_str(), Hostname)),
            ListKind::Url,
            7,
        );
        assert_eq!(plan.entries.len(), MAX_LIST_ENTRIES);
        assert_eq!(plan.excluded.len(), 5);
        assert!(plan
            .excluded
            .iter()
            .all(|(_, e)| *e == Exclusion::OverCount));
    }

    #[test]
    fn changes_are_minimal() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let ph = "cedefaultpush.io";
        assert_eq!(
            url_list_change(&s(&["a", "b"]), &s(&["b", "a"]), ph),
            UrlListChange::None
        );
        assert_eq!(
            url_list_change(&s(&["a"]), &s(&["c", "a"]), ph),
            UrlListChange::Append(s(&["c"]))
        );
        assert_eq!(
            url_list_change(&s(&["a", "b"]), &s(&["a"]), ph),
            UrlListChange::Replace(s(&["a"]))
        );
        // The placeholder goes once real entries exist, and comes back when nothing is left.
        assert_eq!(
            url_list_change(&s(&[ph]), &s(&["a"]), ph),
            UrlListChange::Replace(s(&["a"]))
        );
        assert_eq!(
            url_list_change(&s(&["a"]), &[], ph),
            UrlListChange::Replace(s(&[ph]))
        );
        assert_eq!(url_list_change(&s(&[ph]), &[], ph), UrlListChange::None);
    }
}
