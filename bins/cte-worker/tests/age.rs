//! `cte-worker --db PATH age` on a real database file: one run, counts on stdout, exit code 0.

use std::process::Command;

use chrono::{Duration, Utc};
use cte_core::rule::{BusinessRule, RuleFilters};
use cte_core::store::Store;
use cte_store_sqlite::SqliteStore;

#[test]
fn age_subcommand_unmutes_due_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    {
        let store = SqliteStore::open(&db).unwrap();
        for (name, hours) in [("due", -1), ("later", 24)] {
            let mut r = BusinessRule::new(name, RuleFilters::default());
            r.muted = true;
            r.unmute_at = Some(Utc::now() + Duration::hours(hours));
            store.insert_business_rule(&r).unwrap();
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_cte-worker"))
        .arg("--db")
        .arg(&db)
        .arg("age")
        .env("CTE_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "age: 0 indicator(s) deactivated, 1 rule(s) unmuted\n"
    );
    let store = SqliteStore::open(&db).unwrap();
    assert!(!store.business_rule("due").unwrap().unwrap().muted);
    assert!(store.business_rule("later").unwrap().unwrap().muted);
}
