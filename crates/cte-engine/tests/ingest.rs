//! Refusals name the bad input without repeating all of it: a 16 MB bad value gives an error of a
//! few hundred bytes, whatever field it was in.

use chrono::{TimeZone, Utc};
use cte_core::config::{Configuration, PluginKind};
use cte_core::indicator::IndicatorKind;
use cte_core::reconcile::ReportKind;
use cte_core::store::Store;
use cte_engine::ingest::{ingest, IngestError, RawIndicator};
use cte_store_sqlite::SqliteStore;

#[test]
fn a_huge_bad_value_source_or_tag_is_cut_in_the_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    store
        .insert_configuration(&Configuration {
            age_after_days: 0,
            ..Configuration::new(
                "DW",
                PluginKind::ApiSources,
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            )
        })
        .unwrap();
    let huge = "x".repeat(16 << 20);
    let mut bad_tag = RawIndicator::new("evil.example", IndicatorKind::Domain, "DW");
    bad_tag.tags = vec![huge.clone()];
    let batch = vec![
        RawIndicator::new(format!("{huge}.example"), IndicatorKind::Domain, "DW"),
        RawIndicator::new("evil.example", IndicatorKind::Domain, huge.clone()),
        bad_tag,
    ];
    let Err(IngestError::Rejected { rejected, total }) =
        ingest(&store, batch, ReportKind::Api, Utc::now(), false)
    else {
        panic!("the batch was not refused");
    };
    assert_eq!((rejected.len(), total), (3, 3));
    for r in &rejected {
        let text = r.to_string();
        assert!(text.len() < 1_000, "[{}] {} bytes", r.index, text.len());
        assert!(text.contains("characters)"), "{text}");
    }
}
