//! Tests of the filter language: JSON and UI parsing, evaluation, every kind of 400, and that
//! neither parser panics on arbitrary input.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::indicator::{
    Destination, DestinationStatus, Indicator, IndicatorKind, Severity, SourceRecord,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

fn days(n: i64) -> DateTime<Utc> {
    t0() + Duration::days(n)
}

fn source(name: &str, severity: Severity, tags: &[&str]) -> SourceRecord {
    SourceRecord {
        source: name.into(),
        first_seen: t0(),
        last_seen: t0(),
        reputation: 5,
        severity,
        tags: tags.iter().map(|s| s.to_string()).collect(),
        comments: String::new(),
        extended_information: String::new(),
        internal_hits: 0,
        external_hits: 1,
        destinations: Vec::new(),
        retracted: false,
    }
}

fn indicator(value: &str, kind: IndicatorKind, sources: Vec<SourceRecord>) -> Indicator {
    Indicator {
        value: value.into(),
        kind,
        test: false,
        safe: false,
        active: true,
        expires_at: None,
        internal_hits: 0,
        external_hits: sources.len() as u64,
        shared_with: Vec::new(),
        sources,
    }
}

/// The fixture every table test selects from, by name.
///
/// - `url`: `evil.example.com/Login`, two sources: `feed1` (tag a, low, rep 3, seen day 0..1,
///   shared with `ns`) and `feed2` (tag b, high, rep 8, seen day 5..10, comments about phishing,
///   destination `ns` pending); expires day 30; shared with `ns`.
/// - `hash`: an md5, one retracted `feed1` source (critical, no tags, rep 10), test, no expiry.
/// - `ip`: `10.0.0.1`, one `Feed3` source (unknown, tags a and c), inactive, safe, expired day -1,
///   internal hits 4, no external hits.
fn fixture() -> Vec<(&'static str, Indicator)> {
    let mut url = indicator(
        "evil.example.com/Login",
        IndicatorKind::Url,
        vec![
            source("feed1", Severity::Low, &["a"]),
            source("feed2", Severity::High, &["b"]),
        ],
    );
    url.sources[0].reputation = 3;
    url.sources[0].last_seen = days(1);
    url.sources[0].destinations = vec![Destination {
        name: "ns".into(),
        status: DestinationStatus::Shared,
        reason: None,
    }];
    url.sources[1].reputation = 8;
    url.sources[1].first_seen = days(5);
    url.sources[1].last_seen = days(10);
    url.sources[1].comments = "Seen in Phishing campaign (wave 2)".into();
    url.sources[1].extended_information = "https://intel.example/report".into();
    url.sources[1].destinations = vec![Destination {
        name: "ns".into(),
        status: DestinationStatus::Pending,
        reason: None,
    }];
    url.expires_at = Some(days(30));
    url.shared_with = vec!["ns".into()];

    let mut hash = indicator(
        "d41d8cd98f00b204e9800998ecf8427e",
        IndicatorKind::Md5,
        vec![source("feed1", Severity::Critical, &[])],
    );
    hash.test = true;
    hash.sources[0].reputation = 10;
    hash.sources[0].retracted = true;

    let mut ip = indicator(
        "10.0.0.1",
        IndicatorKind::Ipv4,
        vec![source("Feed3", Severity::Unknown, &["a", "c"])],
    );
    ip.active = false;
    ip.safe = true;
    ip.expires_at = Some(days(-1));
    ip.internal_hits = 4;
    ip.external_hits = 0;
    ip.sources[0].internal_hits = 4;
    ip.sources[0].external_hits = 0;
    vec![("url", url), ("hash", hash), ("ip", ip)]
}

fn selected(filter: &Filter) -> Vec<&'static str> {
    fixture()
        .into_iter()
        .filter(|(_, ind)| filter.matches(ind))
        .map(|(name, _)| name)
        .collect()
}

#[track_caller]
fn check_json(cases: &[(&str, &[&str])]) {
    for (json, expected) in cases {
        let filter = parse_json(json).unwrap_or_else(|e| panic!("{json}: {}", e.detail()));
        assert_eq!(&selected(&filter), expected, "filter {json}");
    }
}

#[track_caller]
fn check_ui(cases: &[(&str, &[&str])]) {
    for (query, expected) in cases {
        let filter = parse_ui(query).unwrap_or_else(|e| panic!("{query}: {}", e.detail()));
        assert_eq!(&selected(&filter), expected, "query {query}");
    }
}

const ALL: &[&str] = &["url", "hash", "ip"];
const NONE: &[&str] = &[];

#[test]
fn business_rule_filters_from_the_reference() {
    check_json(&[
        ("{}", ALL),
        (
            r#"{"sources": {"$elemMatch": {"severity": {"$in": ["unknown","low","medium","high","critical"]}}}}"#,
            ALL,
        ),
        (
            r#"{"sources": {"$elemMatch": {"severity": {"$in": ["critical"]}}}}"#,
            &["hash"],
        ),
        // Names compare case-sensitively, like Mongo; unknown names match nothing.
        (
            r#"{"sources": {"$elemMatch": {"severity": {"$in": ["Critical", "bad"]}}}}"#,
            NONE,
        ),
        (
            r#"{"sources": {"$elemMatch": {"severity": {"$nin": ["critical", "unknown"]}}}}"#,
            &["url"],
        ),
        (r#"{"type": {"$nin": ["url"]}}"#, &["hash", "ip"]),
        (
            r#"{"$and": [{"type": {"$nin": ["url"]}}, {"sources": {"$elemMatch": {"tags": {"$in": ["c"]}}}}]}"#,
            &["ip"],
        ),
        // The sharing query shape of §1.7: rule, source not retracted, active.
        (
            r#"{"$and": [{"sources": {"$elemMatch": {"severity": {"$in": ["low","critical"]}}}},
                         {"sources": {"$elemMatch": {"source": "feed1", "retracted": {"$ne": true}}}},
                         {"active": true}]}"#,
            &["url"],
        ),
        // A tag exception: `$nor` of the exception's filter.
        (
            r#"{"$nor": [{"sources": {"$elemMatch": {"tags": {"$in": ["c"]}}}}]}"#,
            &["url", "hash"],
        ),
    ]);
}

#[test]
fn elem_match_needs_one_and_the_same_source() {
    check_json(&[
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a"]}, "severity": {"$in": ["high"]}}}}"#,
            NONE,
        ),
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a"]}, "severity": {"$in": ["low"]}}}}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"$and": [{"tags": {"$in": ["b"]}}, {"severity": {"$in": ["high"]}}]}}}"#,
            &["url"],
        ),
        // Two separate elemMatches may be satisfied by different sources.
        (
            r#"{"$and": [{"sources": {"$elemMatch": {"tags": {"$in": ["a"]}}}},
                         {"sources": {"$elemMatch": {"severity": {"$in": ["high"]}}}}]}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"source": "feed1", "reputation": {"$gte": 8}}}}"#,
            &["hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"destinations": {"$elemMatch": {"name": "ns", "status": "pending"}}, "source": "feed1"}}}"#,
            NONE,
        ),
        (
            r#"{"sources": {"$elemMatch": {"destinations": {"$elemMatch": {"name": "NS", "status": "shared"}}, "source": "feed1"}}}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"destinations": {"$elemMatch": {"$or": [{"status": "failed"}, {"name": {"$regex": "n"}}]}}}}}"#,
            &["url"],
        ),
        // Source records keep no retraction destinations: an elemMatch on them never matches.
        (
            r#"{"sources": {"$elemMatch": {"retractionDestinations": {"$elemMatch": {}}}}}"#,
            NONE,
        ),
        (r#"{"sources": {"$elemMatch": {}}}"#, ALL),
    ]);
}

#[test]
fn tags_and_shared_with_follow_mongo_array_semantics() {
    check_json(&[
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a"]}}}}"#,
            &["url", "ip"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["A"]}}}}"#,
            NONE,
        ),
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": []}}}}"#,
            NONE,
        ),
        // `$nin`: no element is in the list; an empty tag list satisfies it.
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$nin": ["a"]}}}}"#,
            &["url", "hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$nin": ["a", "b", "c"]}}}}"#,
            &["hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a"], "$nin": ["c"]}}}}"#,
            &["url"],
        ),
        // CE turns "null" into null, which no tag equals.
        (
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["null"]}}}}"#,
            NONE,
        ),
        (r#"{"sharedWith": {"$in": ["ns", "other"]}}"#, &["url"]),
        (r#"{"sharedWith": {"$nin": ["ns"]}}"#, &["hash", "ip"]),
    ]);
}

#[test]
fn strings_keep_ce_parse_dates_semantics() {
    check_json(&[
        // Plain string and $eq: case-insensitive exact.
        (r#"{"value": "EVIL.example.com/login"}"#, &["url"]),
        (r#"{"value": "evil.example.com"}"#, NONE),
        (r#"{"value": {"$eq": "10.0.0.1"}}"#, &["ip"]),
        (r#"{"type": "MD5"}"#, &["hash"]),
        // $ne: not case-insensitive exact.
        (r#"{"type": {"$ne": "URL"}}"#, &["hash", "ip"]),
        // $regex: case-insensitive substring of the literal text, never a regular expression.
        (r#"{"value": {"$regex": "EXAMPLE"}}"#, &["url"]),
        (r#"{"value": {"$regex": "10.0"}}"#, &["ip"]),
        (r#"{"value": {"$regex": "10\\.0"}}"#, NONE),
        (r#"{"value": {"$regex": ".*"}}"#, NONE),
        (r#"{"value": {"$regex": ""}}"#, ALL),
        (
            r#"{"sources": {"$elemMatch": {"comments": {"$regex": "phishing campaign (wave"}}}}"#,
            &["url"],
        ),
        // $not with a string: not a case-insensitive substring.
        (r#"{"value": {"$not": "EXAMPLE"}}"#, &["hash", "ip"]),
        (
            r#"{"sources": {"$elemMatch": {"source": {"$not": "feed"}}}}"#,
            NONE,
        ),
        // $in / $nin are passed through: case-sensitive, "null" is null and matches no string.
        (r#"{"type": {"$in": ["url", "md5"]}}"#, &["url", "hash"]),
        (r#"{"type": {"$in": ["URL"]}}"#, NONE),
        (r#"{"value": {"$in": [null, "null"]}}"#, NONE),
        (r#"{"value": {"$nin": [null]}}"#, ALL),
        (
            r#"{"sources": {"$elemMatch": {"source": {"$in": ["feed3"]}}}}"#,
            NONE,
        ),
        (
            r#"{"sources": {"$elemMatch": {"source": "feed3"}}}"#,
            &["ip"],
        ),
        // Strings on string fields stay strings even when they look like dates.
        (
            r#"{"sources": {"$elemMatch": {"comments": {"$ne": "2024-01-01"}}}}"#,
            ALL,
        ),
        // Several operators in one object all apply.
        (
            r#"{"value": {"$regex": "example", "$ne": "x", "$nin": ["a"]}}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"extendedInformation": {"$regex": "intel.example"}}}}"#,
            &["url"],
        ),
    ]);
}

#[test]
fn numbers_and_null() {
    check_json(&[
        (r#"{"internalHits": 4}"#, &["ip"]),
        (r#"{"internalHits": 4.0}"#, &["ip"]),
        (r#"{"internalHits": {"$gt": 0}}"#, &["ip"]),
        (r#"{"externalHits": {"$gte": 1, "$lt": 2}}"#, &["hash"]),
        (r#"{"externalHits": {"$lte": 2}}"#, ALL),
        (r#"{"externalHits": {"$ne": 2}}"#, &["hash", "ip"]),
        (r#"{"internalHits": null}"#, NONE),
        (r#"{"internalHits": {"$eq": null}}"#, NONE),
        (r#"{"internalHits": {"$ne": null}}"#, ALL),
        (
            r#"{"sources": {"$elemMatch": {"reputation": {"$lt": 5}}}}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"reputation": 10}}}"#,
            &["hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"internalHits": {"$gt": 0}}}}"#,
            &["ip"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"externalHits": 0}}}"#,
            &["ip"],
        ),
        (r#"{"internalHits": {"$gt": -5}}"#, ALL),
    ]);
}

#[test]
fn booleans() {
    check_json(&[
        (r#"{"test": true}"#, &["hash"]),
        (r#"{"active": {"$eq": false}}"#, &["ip"]),
        (r#"{"safe": {"$ne": true}}"#, &["url", "hash"]),
        (r#"{"active": true, "test": false}"#, &["url"]),
        (
            r#"{"sources": {"$elemMatch": {"retracted": true}}}"#,
            &["hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"retracted": {"$ne": true}}}}"#,
            &["url", "ip"],
        ),
    ]);
}

#[test]
fn dates_compare_as_datetimes_and_null_expiry_follows_mongo() {
    check_json(&[
        (
            r#"{"sources": {"$elemMatch": {"lastSeen": {"$gte": "2024-01-05"}}}}"#,
            &["url"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"lastSeen": {"$gt": "2023-12-31T23:00:00Z", "$lte": "2024-01-01T00:00:00"}}}}"#,
            &["hash", "ip"],
        ),
        // A zone is honoured: 01:00+01:00 is midnight UTC.
        (
            r#"{"sources": {"$elemMatch": {"firstSeen": "2024-01-01T01:00:00+01:00"}}}"#,
            ALL,
        ),
        (
            r#"{"sources": {"$elemMatch": {"firstSeen": "2024-01-01T00:00:00.000"}}}"#,
            ALL,
        ),
        (
            r#"{"sources": {"$elemMatch": {"firstSeen": {"$ne": "2024-01-01"}}}}"#,
            &["url"],
        ),
        // expiresAt null: comparisons and equality fail, $ne and $not match.
        (r#"{"expiresAt": {"$gt": "2023-01-01"}}"#, &["url", "ip"]),
        (r#"{"expiresAt": {"$lt": "2024-01-01"}}"#, &["ip"]),
        (r#"{"expiresAt": {"$ne": "2024-01-31"}}"#, &["hash", "ip"]),
        (
            r#"{"expiresAt": {"$not": {"$gt": "2024-01-01"}}}"#,
            &["hash", "ip"],
        ),
        (
            r#"{"expiresAt": {"$not": {"$gte": "2023-01-01", "$lte": "2024-06-01"}}}"#,
            &["hash"],
        ),
        (
            r#"{"expiresAt": {"$not": {"$ne": "2024-01-31"}}}"#,
            &["url"],
        ),
        (r#"{"expiresAt": "2024-01-31"}"#, &["url"]),
        (
            r#"{"expiresAt": {"$gte": "2023-12-31", "$lte": "2024-01-31"}}"#,
            &["url", "ip"],
        ),
    ]);
}

#[test]
fn logical_operators_at_both_levels() {
    check_json(&[
        (
            r#"{"$or": [{"type": "md5"}, {"value": "10.0.0.1"}]}"#,
            &["hash", "ip"],
        ),
        (
            r#"{"$nor": [{"type": "md5"}, {"value": "10.0.0.1"}]}"#,
            &["url"],
        ),
        (
            r#"{"$and": [{"type": {"$ne": "md5"}}, {"active": true}]}"#,
            &["url"],
        ),
        (
            r#"{"$or": [{"$and": [{"test": true}, {"safe": true}]}, {"$nor": [{"active": true}]}]}"#,
            &["ip"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"$or": [{"reputation": 3}, {"reputation": 10}]}}}"#,
            &["url", "hash"],
        ),
        (
            r#"{"sources": {"$elemMatch": {"$nor": [{"source": "feed1"}], "tags": {"$in": ["a"]}}}}"#,
            &["ip"],
        ),
        // Keys of one object are an implicit $and, beside explicit operators.
        (
            r#"{"type": "url", "$or": [{"test": true}, {"active": true}]}"#,
            &["url"],
        ),
    ]);
}

#[test]
fn a_field_object_without_operators_matches_nothing_as_in_mongo() {
    check_json(&[
        (r#"{"test": {}}"#, NONE),
        (r#"{"value": {}}"#, NONE),
        (r#"{"sources": {}}"#, NONE),
        (r#"{"sharedWith": {}}"#, NONE),
        (r#"{"$or": [{"test": {}}, {"type": "md5"}]}"#, &["hash"]),
        (r#"{"sources": {"$elemMatch": {"destinations": {}}}}"#, NONE),
    ]);
}

#[track_caller]
fn check_error(json: &str, detail: &str) {
    match parse_json(json) {
        Ok(f) => panic!("{json} parsed as {f:?}"),
        Err(e) => assert_eq!(e.detail(), detail, "{json}"),
    }
}

#[test]
fn malformed_json_is_invalid_json() {
    for text in ["", "{", "{\"value\": }", "nope", "{\"a\": 1,}", "{} {}"] {
        check_error(text, "Invalid JSON query provided.");
    }
}

#[test]
fn each_kind_of_invalid_query_names_the_path() {
    let cases = [
        ("[]", "the query must be a JSON object"),
        ("null", "the query must be a JSON object"),
        (r#""{}""#, "the query must be a JSON object"),
        (r#"{"colour": "red"}"#, "colour is not allowed"),
        // Source-level fields are not root fields.
        (r#"{"tags": {"$in": ["a"]}}"#, "tags is not allowed"),
        (r#"{"sources.tags": "a"}"#, "sources.tags is not allowed"),
        (
            r#"{"sources": {"$elemMatch": {"colour": 1}}}"#,
            "sources.$elemMatch.colour is not allowed",
        ),
        (
            r#"{"sources": {"$elemMatch": {"value": "x"}}}"#,
            "sources.$elemMatch.value is not allowed",
        ),
        (
            r#"{"sources": {"$size": 1}}"#,
            "sources.$size is not allowed",
        ),
        (
            r#"{"sources": "feed1"}"#,
            "sources must be an object with $elemMatch",
        ),
        (
            r#"{"sources": {"$elemMatch": []}}"#,
            "sources.$elemMatch must be an object",
        ),
        (
            r#"{"sources": {"$elemMatch": {"destinations": {"$elemMatch": {"state": "x"}}}}}"#,
            "sources.$elemMatch.destinations.$elemMatch.state is not allowed",
        ),
        (
            r#"{"value": {"$exists": true}}"#,
            "value.$exists is not allowed",
        ),
        (r#"{"value": 5}"#, "value must be a string or an object"),
        (
            r#"{"value": {"$regex": 5}}"#,
            "value.$regex must be a string",
        ),
        (r#"{"value": {"$in": "a"}}"#, "value.$in must be an array"),
        (
            r#"{"value": {"$in": ["a", 1]}}"#,
            "value.$in[1] must be a string or null",
        ),
        (
            r#"{"internalHits": "5"}"#,
            "internalHits must be an integer, null or an object",
        ),
        (
            r#"{"internalHits": 1.5}"#,
            "internalHits must be an integer",
        ),
        (r#"{"internalHits": 1e30}"#, "internalHits is out of range"),
        (
            r#"{"internalHits": 18446744073709551615}"#,
            "internalHits is out of range",
        ),
        (
            r#"{"internalHits": {"$gt": null}}"#,
            "internalHits.$gt must be an integer",
        ),
        (
            r#"{"internalHits": {"$ne": "x"}}"#,
            "internalHits.$ne must be an integer or null",
        ),
        (
            r#"{"internalHits": {"$in": [1]}}"#,
            "internalHits.$in is not allowed",
        ),
        (
            r#"{"expiresAt": "soon"}"#,
            "expiresAt must be a date, not 'soon'",
        ),
        (
            r#"{"expiresAt": "20240101"}"#,
            "expiresAt must be a date, not '20240101'",
        ),
        (
            r#"{"expiresAt": 5}"#,
            "expiresAt must be a date string or an object",
        ),
        (
            r#"{"expiresAt": {"$gt": 5}}"#,
            "expiresAt.$gt must be a string",
        ),
        (
            r#"{"expiresAt": {"$eq": "2024-01-01"}}"#,
            "expiresAt.$eq is not allowed",
        ),
        (
            r#"{"expiresAt": {"$not": {}}}"#,
            "expiresAt.$not must not be empty",
        ),
        (
            r#"{"expiresAt": {"$not": "2024-01-01"}}"#,
            "expiresAt.$not must be an object",
        ),
        (
            r#"{"expiresAt": {"$not": {"$not": {"$gt": "2024-01-01"}}}}"#,
            "expiresAt.$not.$not is not allowed",
        ),
        (
            r#"{"sources": {"$elemMatch": {"lastSeen": {"$gt": "yesterday"}}}}"#,
            "sources.$elemMatch.lastSeen.$gt must be a date, not 'yesterday'",
        ),
        (r#"{"test": "true"}"#, "test must be a boolean or an object"),
        (r#"{"test": {"$eq": 1}}"#, "test.$eq must be a boolean"),
        (r#"{"test": {"$in": [true]}}"#, "test.$in is not allowed"),
        (r#"{"sharedWith": "ns"}"#, "sharedWith must be an object"),
        (
            r#"{"sharedWith": {"$in": [null]}}"#,
            "sharedWith.$in[0] must be a string",
        ),
        (
            r#"{"sharedWith": {"$all": ["ns"]}}"#,
            "sharedWith.$all is not allowed",
        ),
        (r#"{"$and": {"test": true}}"#, "$and must be an array"),
        (r#"{"$or": []}"#, "$or must be a non-empty array"),
        (r#"{"$nor": [true]}"#, "$nor[0] must be an object"),
        (
            r#"{"$and": [{"test": true}, {"bad": 1}]}"#,
            "$and[1].bad is not allowed",
        ),
        (r#"{"$not": {"test": true}}"#, "$not is not allowed"),
        (
            r#"{"sources": {"$elemMatch": {"$or": [{"tags": {"$in": ["a"]}}, {"type": "url"}]}}}"#,
            "sources.$elemMatch.$or[1].type is not allowed",
        ),
    ];
    for (json, what) in cases {
        check_error(json, &format!("Invalid query provided. {what}."));
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut value = serde_json::json!({"test": true});
    for _ in 0..200 {
        value = serde_json::json!({"$and": [value]});
    }
    let err = parse_value(&value).unwrap_err();
    assert!(
        err.detail().ends_with("is nested too deeply."),
        "{}",
        err.detail()
    );
    // Text deeper than serde_json's recursion limit is simply not JSON.
    let text = format!("{}{}", r#"{"$and": ["#.repeat(200), "]}".repeat(200));
    assert_eq!(parse_json(&text).unwrap_err(), FilterError::InvalidJson);
    // Moderate nesting is fine.
    let mut ok = serde_json::json!({"test": true});
    for _ in 0..30 {
        ok = serde_json::json!({"$or": [ok]});
    }
    assert_eq!(selected(&parse_value(&ok).unwrap()), &["hash"]);
}

#[test]
fn dates_accepted() {
    let midnight = Some(t0());
    for s in [
        "2024-01-01",
        "2024-01-01T00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01T00:00",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T00:00:00.0004",
        "2024-01-01T02:00:00+02:00",
        "2023-12-31T19:00:00-0500",
        " 2024-01-01T00:00:00z ",
    ] {
        assert_eq!(parse_date(s), midnight, "{s}");
    }
    assert_eq!(
        parse_date("2024-01-01T00:00:00.123456Z"),
        Some(t0() + Duration::milliseconds(123))
    );
    for s in [
        "",
        "2024",
        "20240101",
        "yesterday",
        "2024-13-01",
        "2024-01-01T25:00",
        "1.2.3.4",
    ] {
        assert_eq!(parse_date(s), None, "{s}");
    }
}

#[test]
fn ui_language() {
    check_ui(&[
        ("", ALL),
        ("   ", ALL),
        (r#"type NOT IN ("url")"#, &["hash", "ip"]),
        (r#"tags IN ("a")"#, &["url", "ip"]),
        (r#"type NOT IN ("url") && tags IN ("a")"#, &["ip"]),
        (r#"type = "URL""#, &["url"]),
        (r#"type == url"#, &["url"]),
        (r#"type Is equal 'md5'"#, &["hash"]),
        (r#"type is EQUAL "md5""#, &["hash"]),
        (r#"type != "url""#, &["hash", "ip"]),
        (r#"value Like "EXAMPLE""#, &["url"]),
        (r#"value like ".*""#, NONE),
        (r#"type IN ("URL")"#, NONE),
        (r#"type in ("url", "md5")"#, &["url", "hash"]),
        (r#"type IN "md5""#, &["hash"]),
        (r#"type IN ()"#, NONE),
        (r#"internalHits > 0"#, &["ip"]),
        (r#"externalHits >= 2 || test = true"#, &["url", "hash"]),
        (r#"reputation IN (3, 10)"#, &["url", "hash"]),
        // Some source has a reputation outside the list: the hash's only source has 10.
        (r#"reputation NOT IN (3, 10)"#, &["url", "ip"]),
        (r#"reputation < 5"#, &["url"]),
        (r#"reputation <= 5 && reputation >= 5"#, &["url", "ip"]),
        (r#"sources.internalHits = 4"#, &["ip"]),
        (r#"internalHits != null"#, ALL),
        (r#"severity >= "high""#, &["url", "hash"]),
        (r#"severity < low"#, &["ip"]),
        (r#"severity = "critical""#, &["hash"]),
        (r#"severity NOT IN ("unknown", "critical")"#, &["url"]),
        // Each source-level condition is its own elemMatch: different sources may satisfy them.
        (r#"tags IN ("a") && severity IN ("high")"#, &["url"]),
        (r#"tags != "a""#, &["url", "hash"]),
        (r#"sharedWith = "ns""#, &["url"]),
        (r#"source = "FEED1" && retracted = false"#, &["url"]),
        (
            r#"comments Like 'wave 2' || comments Like "nothing""#,
            &["url"],
        ),
        (r#"firstSeen > "2024-01-02""#, &["url"]),
        (r#"lastSeen <= 2024-01-01T00:00:00Z"#, &["hash", "ip"]),
        (r#"expiresAt < "2024-01-01""#, &["ip"]),
        (r#"expiresAt != "2024-01-31""#, &["hash", "ip"]),
        (
            r#"active = true && (test = true || safe = true)"#,
            &["hash"],
        ),
        (
            r#"(active = false || test = true) && type != "ipv4""#,
            &["hash"],
        ),
        (r#"((type = "md5"))"#, &["hash"]),
        (r#"comments = "Seen in \"Phishing\" campaign""#, NONE),
        (r#"value = '10.0.0.1'"#, &["ip"]),
        (r#"sources.source = feed3"#, &["ip"]),
        (r#"extendedInformation Like "intel""#, &["url"]),
    ]);
}

#[test]
fn ui_precedence_is_and_over_or() {
    let a = parse_ui(r#"type = "md5" || type = "url" && test = true"#).unwrap();
    let b = parse_ui(r#"type = "md5" || (type = "url" && test = true)"#).unwrap();
    assert_eq!(a, b);
    assert_eq!(selected(&a), &["hash"]);
}

#[test]
fn ui_source_conditions_get_one_elem_match_each() {
    let f = parse_ui(r#"tags IN ("a") && severity = "high""#).unwrap();
    let tags = Expr::Cond(Cond::Sources(Expr::Cond(SourceCond::Tags(ArrayTest::In(
        vec!["a".into()],
    )))));
    let sev = Expr::Cond(Cond::Sources(Expr::Cond(SourceCond::Severity(
        ArrayTest::In(vec!["high".into()]),
    ))));
    assert_eq!(f.expr(), Some(&Expr::And(vec![tags, sev])));
}

#[test]
fn ui_and_json_agree() {
    let pairs = [
        (r#"type NOT IN ("url")"#, r#"{"type": {"$nin": ["url"]}}"#),
        (
            r#"tags IN ("a", "b")"#,
            r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a", "b"]}}}}"#,
        ),
        (
            r#"value Like "x" && active = true"#,
            r#"{"$and": [{"value": {"$regex": "x"}}, {"active": true}]}"#,
        ),
        (
            r#"lastSeen >= "2024-01-01""#,
            r#"{"sources": {"$elemMatch": {"lastSeen": {"$gte": "2024-01-01T00:00:00Z"}}}}"#,
        ),
    ];
    for (ui, json) in pairs {
        assert_eq!(parse_ui(ui).unwrap(), parse_json(json).unwrap(), "{ui}");
    }
}

#[test]
fn ui_errors_say_where() {
    let cases = [
        ("colour = 1", "unknown field 'colour' at position 0"),
        (
            "type",
            "expected an operator after 'type', found the end of the query at position 4",
        ),
        ("type ~ 'x'", "unexpected character '~' at position 5"),
        (
            "type = ",
            "expected a value, found the end of the query at position 7",
        ),
        ("type = 'url", "unterminated string at position 7"),
        (r#"type = "a\n""#, "invalid escape in string at position 9"),
        (
            "type < 'url'",
            "operator < cannot be used with 'type' at position 5",
        ),
        (
            "tags Like 'a'",
            "operator Like cannot be used with 'tags' at position 5",
        ),
        (
            "expiresAt IN ()",
            "operator IN cannot be used with 'expiresAt' at position 10",
        ),
        (
            "test IN (true)",
            "operator IN cannot be used with 'test' at position 5",
        ),
        (
            "reputation = high",
            "'high' is not an integer at position 13",
        ),
        ("reputation < null", "null cannot be ordered at position 13"),
        ("expiresAt > 'soon'", "'soon' is not a date at position 12"),
        ("test = yes", "'yes' is not true or false at position 7"),
        (
            "severity > 'huge'",
            "'huge' is not a severity at position 11",
        ),
        (
            "type NOT 'x'",
            "expected IN after NOT, found string \"x\" at position 9",
        ),
        (
            "type Is 'x'",
            "expected 'equal' after 'Is', found string \"x\" at position 8",
        ),
        ("type = 'a' type = 'b'", "unexpected 'type' at position 11"),
        (
            "type = 'a' &&",
            "expected a field name or '(', found the end of the query at position 13",
        ),
        (
            "(type = 'a'",
            "expected ')', found the end of the query at position 11",
        ),
        (
            "(type = 'a' 'b'",
            "expected ')', found string \"b\" at position 12",
        ),
        (
            "type IN ('a' 'b')",
            "expected ',' or ')', found string \"b\" at position 13",
        ),
        (
            ") type",
            "expected a field name or '(', found ')' at position 0",
        ),
        (
            "type = 'a' & test = true",
            "unexpected character '&' at position 11",
        ),
        (
            "sources.value = 'x'",
            "unknown field 'sources.value' at position 0",
        ),
        (
            "value = null",
            "null cannot be compared with a string field at position 8",
        ),
        (
            "tags IN ('a',)",
            "expected a value, found ')' at position 13",
        ),
    ];
    for (query, what) in cases {
        let err = parse_ui(query).unwrap_err();
        assert_eq!(
            err.detail(),
            format!("Invalid query provided. {what}."),
            "{query}"
        );
    }
    let deep = format!("{}type = 'a'{}", "(".repeat(100), ")".repeat(100));
    assert!(parse_ui(&deep)
        .unwrap_err()
        .detail()
        .contains("nested too deeply"));
}

#[test]
fn filter_and_combines() {
    let a = parse_json(r#"{"type": "url"}"#).unwrap();
    let b = parse_json(r#"{"active": true}"#).unwrap();
    assert_eq!(Filter::all().and(a.clone()), a);
    assert_eq!(a.clone().and(Filter::all()), a);
    assert_eq!(selected(&a.clone().and(b.clone())), &["url"]);
    assert_eq!(
        selected(&Filter::nor([
            a.clone(),
            parse_json(r#"{"test": true}"#).unwrap()
        ])),
        &["ip"]
    );
    assert_eq!(selected(&Filter::nor([])), ALL);
    assert_eq!(selected(&Filter::nor([b, Filter::all()])), NONE);
    assert_eq!(a.clone().into_expr().as_ref(), a.expr());
}

#[test]
fn mentioned_tags_are_found_at_any_depth() {
    let f = parse_json(
        r#"{"$or": [{"sources": {"$elemMatch": {"tags": {"$in": ["a", "b"]}}}},
                    {"$nor": [{"sources": {"$elemMatch": {"$and": [{"tags": {"$nin": ["c", "a"]}}]}}}]},
                    {"sharedWith": {"$in": ["not-a-tag"]}}]}"#,
    )
    .unwrap();
    assert_eq!(f.mentioned_tags(), ["a", "b", "c"]);
    assert!(Filter::all().mentioned_tags().is_empty());
    assert_eq!(
        parse_ui(r#"tags != "x" || tags IN ("y")"#)
            .unwrap()
            .mentioned_tags(),
        ["x", "y"]
    );
}

/// A small deterministic PRNG (SplitMix64), so the fuzz tests need no dependency and replay.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "value",
    "type",
    "test",
    "safe",
    "active",
    "internalHits",
    "externalHits",
    "expiresAt",
    "sharedWith",
    "sources",
    "$elemMatch",
    "source",
    "reputation",
    "severity",
    "tags",
    "firstSeen",
    "lastSeen",
    "comments",
    "extendedInformation",
    "retracted",
    "destinations",
    "retractionDestinations",
    "name",
    "status",
    "$and",
    "$or",
    "$nor",
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$regex",
    "$not",
    "colour",
    "",
];

const STRINGS: &[&str] = &[
    "url",
    "md5",
    "a",
    "b",
    "null",
    "",
    "2024-01-01",
    "2024-01-01T00:00:00Z",
    "1234",
    "feed1",
    "high",
    "ns",
    "pending",
    "évil",
    "\u{0}",
    "\\",
    "10.0.0.1",
];

fn random_json(rng: &mut Rng, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    let leaf_only = depth >= 6;
    match rng.below(if leaf_only { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => serde_json::json!(rng.below(20) as i64 - 5),
        3 => [
            serde_json::json!(1.5),
            serde_json::json!(-0.0),
            serde_json::json!(1e300),
            serde_json::json!(u64::MAX),
        ][rng.below(4)]
        .clone(),
        4 | 5 => Value::String(rng.pick(STRINGS).to_string()),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (rng.pick(KEYS).to_string(), random_json(rng, depth + 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_json_never_panics_and_parsed_filters_evaluate() {
    let mut rng = Rng::new(0x5eed);
    let fixture = fixture();
    let mut n_ok = 0;
    for _ in 0..20_000 {
        let value = random_json(&mut rng, 0);
        let text = value.to_string();
        match parse_json(&text) {
            Ok(filter) => {
                n_ok += 1;
                for (_, ind) in &fixture {
                    let _ = filter.matches(ind);
                }
                assert_eq!(parse_value(&value).unwrap(), filter);
            }
            Err(e) => assert!(e.detail().starts_with("Invalid "), "{}", e.detail()),
        }
        // Truncated or mangled text must not panic either.
        let cut = rng.below(text.len() + 1);
        if text.is_char_boundary(cut) {
            let _ = parse_json(&text[..cut]);
        }
    }
    assert!(
        n_ok > 100,
        "the generator should produce some valid filters ({n_ok})"
    );
}

#[test]
fn random_text_never_panics_the_ui_parser() {
    const PIECES: &[&str] = &[
        "type",
        "tags",
        "severity",
        "reputation",
        "expiresAt",
        "test",
        "sources.tags",
        "value",
        " = ",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        " IN ",
        " NOT IN ",
        " Like ",
        " Is equal ",
        "&&",
        "||",
        "(",
        ")",
        ",",
        "\"a\"",
        "'b",
        "\"",
        "\\",
        "3",
        "-7",
        "true",
        "null",
        "high",
        "2024-01-01",
        " ",
        "é",
        "~",
        "&",
        "|",
        "!",
        "99999999999999999999",
    ];
    let mut rng = Rng::new(42);
    let fixture = fixture();
    let mut n_ok = 0;
    for _ in 0..20_000 {
        let text: String = (0..rng.below(10))
            .map(|_| *rng.pick(PIECES))
            .collect::<Vec<_>>()
            .join(if rng.below(2) == 0 { " " } else { "" });
        match parse_ui(&text) {
            Ok(filter) => {
                n_ok += 1;
                for (_, ind) in &fixture {
                    let _ = filter.matches(ind);
                }
            }
            Err(e) => assert!(
                e.detail().contains(" at position "),
                "{text}: {}",
                e.detail()
            ),
        }
    }
    assert!(
        n_ok > 100,
        "the generator should produce some valid queries ({n_ok})"
    );
    for _ in 0..5_000 {
        let bytes: Vec<u8> = (0..rng.below(30)).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_ui(&text);
        let _ = parse_json(&text);
    }
}
