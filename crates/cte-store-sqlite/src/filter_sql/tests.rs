//! The SQL compiler agrees with the in-memory evaluator: generated indicators are written to a
//! temporary store, and for generated filters the rows SQL selects are exactly those `matches`
//! accepts (on the indicators as loaded back, so both sides see the same millisecond times).

use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_core::filter::{
    parse_json, parse_ui, ArrayTest, BoolTest, Cond, DateTest, DestCond, Expr, Filter, NumTest,
    SourceCond, StrTest,
};
use cte_core::indicator::{DestinationStatus, IndicatorKind, Severity};
use cte_core::store::Store;
use cte_core::StoreResult;
use rusqlite::params;

use super::compile;
use crate::error::sql;
use crate::rows::{ms, opt_ms};
use crate::SqliteStore;

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn subset(&mut self, items: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for item in items {
            if self.chance(35) {
                out.push(item.to_string());
            }
        }
        out
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

/// A handful of instants, so that equality and bounds are hit often.
fn instant(rng: &mut Rng) -> DateTime<Utc> {
    t0() + Duration::hours(rng.below(5) as i64 * 12 - 24)
        + Duration::milliseconds(rng.below(2) as i64)
}

const TAGS: &[&str] = &["a", "b", "c", "A"];
const SOURCES: &[&str] = &["feed1", "Feed2", "feed3"];
const DESTS: &[&str] = &["ns", "other"];
const TEXTS: &[&str] = &["", "Phishing wave", "malware", "PHISHING", "50% off_"];
const STRINGS: &[&str] = &[
    "",
    "feed1",
    "FEED1",
    "feed",
    "Feed2",
    "phishing",
    "Phishing wave",
    "wave",
    "ns",
    "NS",
    "pending",
    "shared",
    "url",
    "URL",
    "md5",
    "evil",
    "10.0.0",
    "%",
    "_",
    "50% off_",
    "null",
    "a",
    "A",
    "b",
    "c",
    "high",
    "low",
    "critical",
    "unknown",
    "bogus",
];

struct Generated {
    value: String,
    kind: IndicatorKind,
    test: bool,
    safe: bool,
    active: bool,
    expires_at: Option<DateTime<Utc>>,
    internal_hits: i64,
    external_hits: i64,
    shared_with: Vec<String>,
    sources: Vec<GenSource>,
}

struct GenSource {
    name: &'static str,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    reputation: i64,
    severity: Severity,
    tags: Vec<String>,
    comments: &'static str,
    extended_information: &'static str,
    internal_hits: i64,
    external_hits: i64,
    retracted: bool,
    destinations: Vec<(String, DestinationStatus)>,
}

fn generate(rng: &mut Rng, i: usize) -> Generated {
    let value = match rng.below(3) {
        0 => format!("Evil{i}.example.com/Path"),
        1 => format!("10.0.0.{i}"),
        _ => format!("{i:032x}"),
    };
    let mut sources = Vec::new();
    for &name in SOURCES {
        if !rng.chance(50) {
            continue;
        }
        let mut destinations = Vec::new();
        for d in DESTS {
            if rng.chance(40) {
                let status = rng.pick(&[
                    DestinationStatus::Pending,
                    DestinationStatus::Shared,
                    DestinationStatus::Failed,
                ]);
                destinations.push((d.to_string(), status));
            }
        }
        sources.push(GenSource {
            name,
            first_seen: instant(rng),
            last_seen: instant(rng),
            reputation: 1 + rng.below(10) as i64,
            severity: rng.pick(&Severity::ALL),
            tags: rng.subset(TAGS),
            comments: rng.pick(TEXTS),
            extended_information: rng.pick(TEXTS),
            internal_hits: rng.below(3) as i64,
            external_hits: rng.below(3) as i64,
            retracted: rng.chance(30),
            destinations,
        });
    }
    Generated {
        value,
        kind: rng.pick(&IndicatorKind::ALL),
        test: rng.chance(30),
        safe: rng.chance(30),
        active: rng.chance(70),
        expires_at: if rng.chance(30) {
            None
        } else {
            Some(instant(rng))
        },
        internal_hits: rng.below(3) as i64,
        external_hits: rng.below(3) as i64,
        shared_with: rng.subset(DESTS),
        sources,
    }
}

fn insert(tx: &rusqlite::Transaction<'_>, g: &Generated) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO indicators (value, type, test, safe, active, expires_at, internal_hits, external_hits, shared_with, value_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            g.value,
            g.kind.as_str(),
            g.test,
            g.safe,
            g.active,
            opt_ms(g.expires_at),
            g.internal_hits,
            g.external_hits,
            serde_json::to_string(&g.shared_with).unwrap(),
            crate::value_key::value_key(&g.value)
        ],
    )
    .map_err(sql)?;
    // The key entry comes from a trigger (migration 0009).
    let id = tx.last_insert_rowid();
    for (seq, s) in g.sources.iter().enumerate() {
        tx.execute(
            "INSERT INTO indicator_sources (indicator_id, source, seq, first_seen, last_seen, reputation,
                severity, comments, extended_information, internal_hits, external_hits, retracted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                s.name,
                seq as i64,
                ms(s.first_seen),
                ms(s.last_seen),
                s.reputation,
                s.severity.rank(),
                s.comments,
                s.extended_information,
                s.internal_hits,
                s.external_hits,
                s.retracted
            ],
        )
        .map_err(sql)?;
        for (n, tag) in s.tags.iter().enumerate() {
            tx.execute(
                "INSERT INTO source_tags (indicator_id, source, tag, seq) VALUES (?1, ?2, ?3, ?4)",
                params![id, s.name, tag, n as i64],
            )
            .map_err(sql)?;
        }
        for (dest, status) in &s.destinations {
            tx.execute(
                "INSERT INTO source_destinations (indicator_id, source, destination, status)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, s.name, dest, status.as_str()],
            )
            .map_err(sql)?;
        }
    }
    Ok(())
}

fn str_test(rng: &mut Rng) -> StrTest {
    let s = rng.pick(STRINGS).to_string();
    match rng.below(6) {
        0 => StrTest::Eq(s),
        1 => StrTest::Ne(s),
        2 => StrTest::Contains(s),
        3 => StrTest::NotContains(s),
        4 => StrTest::In(list_with_nulls(rng)),
        _ => StrTest::Nin(list_with_nulls(rng)),
    }
}

fn list_with_nulls(rng: &mut Rng) -> Vec<Option<String>> {
    (0..rng.below(4))
        .map(|_| (!rng.chance(15)).then(|| rng.pick(STRINGS).to_string()))
        .collect()
}

fn num_test(rng: &mut Rng) -> NumTest {
    let n = rng.below(12) as i64 - 1;
    match rng.below(8) {
        0 => NumTest::Eq(Some(n)),
        1 => NumTest::Ne(Some(n)),
        2 => NumTest::Gt(n),
        3 => NumTest::Gte(n),
        4 => NumTest::Lt(n),
        5 => NumTest::Lte(n),
        6 => NumTest::Eq(None),
        _ => NumTest::Ne(None),
    }
}

fn date_test(rng: &mut Rng, depth: usize) -> DateTest {
    let d = instant(rng);
    match rng.below(if depth > 0 { 5 } else { 7 }) {
        0 => DateTest::Gt(d),
        1 => DateTest::Gte(d),
        2 => DateTest::Lt(d),
        3 => DateTest::Lte(d),
        4 => DateTest::Ne(d),
        5 => DateTest::Eq(d),
        _ => DateTest::Not((0..1 + rng.below(2)).map(|_| date_test(rng, 1)).collect()),
    }
}

fn bool_test(rng: &mut Rng) -> BoolTest {
    let b = rng.chance(50);
    if rng.chance(50) {
        BoolTest::Eq(b)
    } else {
        BoolTest::Ne(b)
    }
}

fn array_test(rng: &mut Rng, pool: &[&str]) -> ArrayTest {
    let list = (0..rng.below(4))
        .map(|_| rng.pick(pool).to_string())
        .collect();
    if rng.chance(50) {
        ArrayTest::In(list)
    } else {
        ArrayTest::Nin(list)
    }
}

fn logic<C>(rng: &mut Rng, depth: usize, leaf: &mut dyn FnMut(&mut Rng, usize) -> C) -> Expr<C> {
    if depth >= 3 || rng.chance(55) {
        return Expr::Cond(leaf(rng, depth));
    }
    let items = (0..rng.below(4))
        .map(|_| logic(rng, depth + 1, leaf))
        .collect();
    match rng.below(3) {
        0 => Expr::And(items),
        1 => Expr::Or(items),
        _ => Expr::Nor(items),
    }
}

fn dest_cond(rng: &mut Rng, _depth: usize) -> DestCond {
    if rng.chance(50) {
        DestCond::Name(str_test(rng))
    } else {
        DestCond::Status(str_test(rng))
    }
}

fn source_cond(rng: &mut Rng, depth: usize) -> SourceCond {
    match rng.below(13) {
        0 => SourceCond::Source(str_test(rng)),
        1 => SourceCond::Comments(str_test(rng)),
        2 => SourceCond::ExtendedInformation(str_test(rng)),
        3 => SourceCond::Reputation(num_test(rng)),
        4 => SourceCond::InternalHits(num_test(rng)),
        5 => SourceCond::ExternalHits(num_test(rng)),
        6 => SourceCond::FirstSeen(date_test(rng, 0)),
        7 => SourceCond::LastSeen(date_test(rng, 0)),
        8 => SourceCond::Severity(array_test(
            rng,
            &[
                "unknown", "low", "medium", "high", "critical", "High", "bogus",
            ],
        )),
        9 => SourceCond::Tags(array_test(rng, TAGS)),
        10 => SourceCond::Retracted(bool_test(rng)),
        11 => SourceCond::Destinations(logic(rng, depth + 1, &mut dest_cond)),
        _ => SourceCond::RetractionDestinations(logic(rng, depth + 1, &mut dest_cond)),
    }
}

fn cond(rng: &mut Rng, depth: usize) -> Cond {
    match rng.below(11) {
        0 => Cond::Value(str_test(rng)),
        1 => Cond::Type(str_test(rng)),
        2 => Cond::Test(bool_test(rng)),
        3 => Cond::Safe(bool_test(rng)),
        4 => Cond::Active(bool_test(rng)),
        5 => Cond::InternalHits(num_test(rng)),
        6 => Cond::ExternalHits(num_test(rng)),
        7 => Cond::ExpiresAt(date_test(rng, 0)),
        8 => Cond::SharedWith(array_test(rng, DESTS)),
        _ => Cond::Sources(logic(rng, depth + 1, &mut source_cond)),
    }
}

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    (dir, store)
}

fn selected_by_sql(store: &SqliteStore, filter: &Filter) -> Vec<String> {
    store
        .read(|tx| {
            let mut params = Vec::new();
            let cond = compile(filter, &mut params);
            let text = format!("SELECT i.value FROM indicators i WHERE {cond} ORDER BY i.id");
            let mut stmt = tx.prepare(&text).map_err(sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| r.get(0))
                .map_err(sql)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(sql)
        })
        .unwrap_or_else(|e| panic!("{filter:?}: {e}"))
}

#[test]
fn sql_selection_equals_in_memory_matches() {
    let (_dir, store) = temp_store();
    let mut rng = Rng(0xC7E_F117E5);
    store
        .write(|tx| {
            for tag in TAGS {
                tx.execute(
                    "INSERT INTO tags (name, color) VALUES (?1, '#969696')",
                    [tag],
                )
                .map_err(sql)?;
            }
            for i in 0..60 {
                insert(tx, &generate(&mut rng, i))?;
            }
            Ok(())
        })
        .unwrap();
    let values = store
        .read(|tx| {
            let mut stmt = tx
                .prepare("SELECT value FROM indicators ORDER BY id")
                .map_err(sql)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(sql)?;
            rows.collect::<Result<Vec<String>, _>>().map_err(sql)
        })
        .unwrap();
    let indicators: Vec<_> = values
        .iter()
        .map(|v| store.indicator(v).unwrap().unwrap())
        .collect();

    let mut n_nontrivial = 0;
    for round in 0..3_000 {
        let filter = if round == 0 {
            Filter::all()
        } else {
            Filter::new(logic(&mut rng, 0, &mut cond))
        };
        let expected: Vec<String> = indicators
            .iter()
            .filter(|ind| filter.matches(ind))
            .map(|ind| ind.value.clone())
            .collect();
        if !expected.is_empty() && expected.len() < indicators.len() {
            n_nontrivial += 1;
        }
        assert_eq!(selected_by_sql(&store, &filter), expected, "{filter:#?}");
    }
    assert!(
        n_nontrivial > 1_000,
        "too few selective filters: {n_nontrivial}"
    );
}

#[test]
fn user_text_is_bound_never_spliced() {
    let nasty = "x' OR 1=1; DROP TABLE indicators; --";
    let filter = parse_json(&serde_json::json!({
        "value": {"$regex": nasty, "$in": [nasty]},
        "sources": {"$elemMatch": {"tags": {"$nin": [nasty]}, "destinations": {"$elemMatch": {"name": nasty}}}},
    }).to_string())
    .unwrap();
    let mut params = Vec::new();
    let text = compile(&filter, &mut params);
    assert!(!text.contains("DROP"), "{text}");
    assert_eq!(text.matches('?').count(), params.len(), "{text}");
    let (_dir, store) = temp_store();
    assert!(selected_by_sql(&store, &filter).is_empty());
}

#[test]
fn long_chains_stay_within_sqlites_expression_depth() {
    let terms: Vec<serde_json::Value> = (0..3_000)
        .map(|i| serde_json::json!({"value": format!("v{i}")}))
        .collect();
    let filter = parse_json(&serde_json::json!({"$or": terms}).to_string()).unwrap();
    let (_dir, store) = temp_store();
    assert!(selected_by_sql(&store, &filter).is_empty());
    let big_in: Vec<String> = (0..50_000).map(|i| format!("v{i}")).collect();
    let filter = parse_json(&serde_json::json!({"value": {"$in": big_in}}).to_string()).unwrap();
    assert!(selected_by_sql(&store, &filter).is_empty());
}

#[test]
fn the_store_applies_filters_from_both_languages() {
    let (_dir, store) = temp_store();
    let mut rng = Rng(7);
    store
        .write(|tx| {
            for tag in TAGS {
                tx.execute(
                    "INSERT INTO tags (name, color) VALUES (?1, '#969696')",
                    [tag],
                )
                .map_err(sql)?;
            }
            for i in 0..20 {
                insert(tx, &generate(&mut rng, i))?;
            }
            Ok(())
        })
        .unwrap();
    let all = store.count_indicators(&Filter::all()).unwrap();
    assert_eq!(all, 20);
    let json = parse_json(r#"{"sources": {"$elemMatch": {"tags": {"$in": ["a"]}}}}"#).unwrap();
    let ui = parse_ui(r#"tags IN ("a")"#).unwrap();
    let n = store.count_indicators(&json).unwrap();
    assert_eq!(store.count_indicators(&ui).unwrap(), n);
    assert!(n > 0 && n < all, "{n}");
    let usage = store.tag_usage(&json).unwrap();
    assert_eq!(usage.total, n);
    assert_eq!(usage.per_tag.get("a"), Some(&n));
}

/// A value's equality or `$in` at the top of a filter (alone or in a top-level `AND`) finds its
/// rows through `value_keys`; nested in an `$or` it does not (a probe per term there made
/// SQLite's planner take seconds over thousands of values), and a plain filter reads `indicators`.
#[test]
fn top_level_value_tests_find_rows_by_key() {
    let (_dir, store) = temp_store();
    let plan = |json: &str| -> Vec<String> {
        let filter = parse_json(json).unwrap();
        store
            .read(|tx| {
                let mut params = Vec::new();
                let cond = compile(&filter, &mut params);
                let text = format!("EXPLAIN QUERY PLAN SELECT i.id FROM indicators i WHERE {cond}");
                let mut stmt = tx.prepare(&text).map_err(sql)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(sql)
            })
            .unwrap()
    };
    let by_key = |p: &[String]| {
        p.iter()
            .any(|l| l.starts_with("SEARCH value_keys USING PRIMARY KEY (tier=? AND key=?)"))
    };
    for json in [
        r#"{"value": "evil.example"}"#,
        r#"{"value": {"$in": ["a.example", "b.example"]}}"#,
        r#"{"$and": [{"type": "domain"}, {"value": "evil.example"}]}"#,
    ] {
        let p = plan(json);
        assert!(by_key(&p), "{json}: {p:?}");
        assert!(
            p.iter()
                .any(|l| l.starts_with("SEARCH i USING INTEGER PRIMARY KEY")),
            "{json}: {p:?}"
        );
    }
    for json in [
        r#"{"$or": [{"value": "a.example"}, {"value": "b.example"}]}"#,
        r#"{"type": "domain"}"#,
    ] {
        assert!(!by_key(&plan(json)), "{json}");
    }
}
