//! `cte-server backup` beside a running server: the copy opens and holds what was written.

use std::process::{Command, Stdio};

use cte_core::store::Store;
use cte_store_sqlite::SqliteStore;

mod common;
use common::{free_port, start, BIN};

#[test]
fn backup_of_a_live_database_holds_its_tokens_and_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let db_arg = db.to_str().unwrap();
    let created = Command::new(BIN)
        .args(["--db", db_arg, "token", "create", "--description", "kept"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let server = start(&db, free_port(), &[], Stdio::null());
    // No tenant is saved, so there is no key file yet: put one where a tenant save would.
    assert!(!dir.path().join("cte.db.key").exists());
    std::fs::write(dir.path().join("cte.db.key"), [7u8; 32]).unwrap();
    let out = dir.path().join("copy.db");
    let backed = Command::new(BIN)
        .args(["--db", db_arg, "backup", out.to_str().unwrap()])
        .output()
        .unwrap();
    drop(server);
    let said = String::from_utf8_lossy(&backed.stdout);
    assert!(
        backed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&backed.stderr)
    );
    assert!(said.contains("copy.db.key"), "{said}");
    let copy = SqliteStore::open(&out).unwrap();
    let tokens = copy.api_tokens().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].description, "kept");
    assert_eq!(
        std::fs::read(dir.path().join("copy.db.key")).unwrap(),
        std::fs::read(dir.path().join("cte.db.key")).unwrap()
    );
}
