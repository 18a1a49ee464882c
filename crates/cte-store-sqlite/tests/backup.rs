//! Online backup while another connection keeps writing: the copy opens, passes its integrity
//! check, holds every batch committed before it started, and reads the tenant tokens through the
//! key file copied beside it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use cte_core::config::{Configuration, PluginKind};
use cte_core::filter::Filter;
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::reconcile::{Observation, ReportKind};
use cte_core::store::{IngestBatch, Store};
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_store_sqlite::{backup, SqliteStore};

fn config() -> Configuration {
    Configuration {
        age_after_days: 0,
        ..Configuration::new("DW", PluginKind::ApiSources, Utc::now())
    }
}

fn batch(store: &SqliteStore, n: u64) {
    let observations: Vec<Observation> = (0..500)
        .map(|i| Observation {
            value: format!("h{n}-{i}.example"),
            kind: IndicatorKind::Domain,
            source: "DW".into(),
            test: false,
            safe: false,
            active: true,
            expires_at: None,
            first_seen: None,
            last_seen: None,
            tags: Vec::new(),
            reputation: 5,
            severity: Severity::High,
            comments: String::new(),
            extended_information: String::new(),
        })
        .collect();
    let policies = HashMap::from([("DW".to_string(), config().source_policy())]);
    store
        .ingest(&IngestBatch {
            observations: &observations,
            policies: &policies,
            report: ReportKind::Api,
            now: Utc::now(),
            return_indicators: false,
        })
        .unwrap();
}

#[test]
fn a_backup_taken_while_writing_is_whole_and_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    store.insert_configuration(&config()).unwrap();
    store
        .insert_tenant(&NetskopeTenant {
            name: "Prod".into(),
            tenant_name: "demo.goskope.com".into(),
            v1_token: None,
            v2_token: Token::new("v2-secret"),
            initial_range_days: 7,
            use_system_proxy: false,
            created_at: Utc::now(),
        })
        .unwrap();
    for n in 0..4 {
        batch(&store, n);
    }
    let committed = Arc::new(AtomicU64::new(4));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, committed, stop) = (store.clone(), committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 4;
            while !stop.load(Ordering::Relaxed) && n < 400 {
                batch(&store, n);
                n += 1;
                committed.store(n, Ordering::Relaxed);
            }
        })
    };
    // Let the writer get going, then copy in the middle of its batches.
    while committed.load(Ordering::Relaxed) < 8 {
        std::thread::yield_now();
    }
    let before = committed.load(Ordering::Relaxed);
    let out = dir.path().join("copy.db");
    let report = backup(&db, &out).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(report.pages > 0 && report.bytes > 0, "{report:?}");
    assert_eq!(report.key_file, Some(dir.path().join("copy.db.key")));

    let copy = SqliteStore::open(&out).unwrap();
    let rows = copy.count_indicators(&Filter::all()).unwrap();
    assert_eq!(rows % 500, 0, "whole batches only: {rows}");
    assert!(rows >= before * 500, "{rows} < {before} batches");
    assert_eq!(
        copy.tenant("Prod").unwrap().unwrap().v2_token,
        Token::new("v2-secret")
    );
    // A second backup to the same file is refused rather than overwriting it.
    let e = backup(&db, &out).unwrap_err().to_string();
    assert!(e.contains("exists"), "{e}");
}
