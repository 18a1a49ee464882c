//! Tenants with tokens encrypted at rest, and pull checkpoints.

use chrono::{TimeZone, Utc};
use cte_core::checkpoint::{PullCheckpoint, PullPhase};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::reconcile::TagStrategy;
use cte_core::store::{RunKind, Store};
use cte_core::tenant::AlertType;
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_core::StoreError;
use cte_store_sqlite::SqliteStore;

fn tenant(name: &str) -> NetskopeTenant {
    NetskopeTenant {
        name: name.into(),
        tenant_name: "demo.goskope.com".into(),
        v1_token: Some(Token::new("v1-SECRET-token-value")),
        v2_token: Token::new("v2-SECRET-token-value"),
        initial_range_days: 7,
        use_system_proxy: false,
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

#[test]
fn tokens_are_encrypted_at_rest_with_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let s = SqliteStore::open(&db).unwrap();
    assert!(s.tenants().unwrap().is_empty());
    assert!(
        !dir.path().join("cte.db.key").exists(),
        "key made on first use only"
    );
    s.insert_tenant(&tenant("Prod")).unwrap();
    assert_eq!(s.tenant("Prod").unwrap().unwrap(), tenant("Prod"));
    assert!(matches!(
        s.insert_tenant(&tenant("Prod")),
        Err(StoreError::Conflict(_))
    ));
    drop(s);

    let key = dir.path().join("cte.db.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    for file in ["cte.db", "cte.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("SECRET"), "{file} holds a token in clear");
        }
    }

    // The database alone does not give the tokens back.
    std::fs::rename(&key, dir.path().join("elsewhere.key")).unwrap();
    let s = SqliteStore::open(&db).unwrap();
    let err = s.tenant("Prod").unwrap_err();
    assert!(err.to_string().contains("cte.db.key"), "{err}");
}

#[test]
fn tenants_update_and_delete_unless_used() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    s.insert_tenant(&tenant("Prod")).unwrap();
    let mut t = tenant("Prod");
    t.v1_token = None;
    t.initial_range_days = 3;
    s.update_tenant(&t).unwrap();
    assert_eq!(s.tenant("Prod").unwrap().unwrap(), t);
    s.insert_configuration(&Configuration {
        name: "NS".into(),
        plugin: PluginKind::Netskope,
        active: true,
        tenant: Some("Prod".into()),
        ssl_validation: true,
        poll_interval: 10,
        poll_interval_unit: IntervalUnit::Minutes,
        reputation: 0,
        age_after_days: 0,
        parameters: serde_json::json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: t.created_at,
        pull: RunStatus::default(),
        share: RunStatus::default(),
    })
    .unwrap();
    assert!(matches!(
        s.delete_tenant("Prod"),
        Err(StoreError::Conflict(_))
    ));

    let cp = PullCheckpoint {
        configuration: "NS".into(),
        alert_type: AlertType::Malware,
        phase: PullPhase::Historical,
        iterator: "it".into(),
        start_epoch: 10,
        end_epoch: Some(20),
        positioned: true,
        in_flight: true,
        last_digest: Some("d".into()),
        alerts: 5,
        updated_at: t.created_at,
    };
    s.save_pull_checkpoint(&cp).unwrap();
    assert_eq!(
        s.pull_checkpoint("NS", AlertType::Malware).unwrap(),
        Some(cp)
    );
    assert_eq!(s.pull_checkpoint("NS", AlertType::Malsite).unwrap(), None);

    let run = RunStatus {
        last_run_at: Some(t.created_at),
        last_run_success: Some(false),
        message: Some("403".into()),
    };
    s.record_run("NS", RunKind::Pull, &run).unwrap();
    assert_eq!(s.configuration("NS").unwrap().unwrap().pull, run);

    s.delete_configuration("NS", true).unwrap();
    assert_eq!(s.pull_checkpoint("NS", AlertType::Malware).unwrap(), None);
    s.delete_tenant("Prod").unwrap();
    assert!(matches!(
        s.delete_tenant("Prod"),
        Err(StoreError::NotFound(_))
    ));
}
