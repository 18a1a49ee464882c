//! Where the worker's settings come from: flags over `CTE_*` environment variables over the TOML
//! file over defaults, and a bad value stops it at start-up with exit code 2 naming the key.

use std::path::Path;
use std::process::{Command, Output};

const WORKER: &str = env!("CARGO_BIN_EXE_cte-worker");

/// `cte-worker ARGS age` in `dir` with only the given `CTE_*` variables set.
fn age(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(WORKER);
    cmd.current_dir(dir).args(args).arg("age");
    for (key, _) in std::env::vars() {
        if key.starts_with("CTE_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("worker.toml"),
        "db = \"from-file.db\"\nmax_wait = 5\n",
    )
    .unwrap();
    let ran = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ran(age(d, &[], &[]));
    assert!(d.join("cte.db").exists(), "the default");
    ran(age(d, &["--config", "worker.toml"], &[]));
    assert!(d.join("from-file.db").exists());
    ran(age(
        d,
        &[],
        &[("CTE_CONFIG", "worker.toml"), ("CTE_DB", "from-env.db")],
    ));
    assert!(d.join("from-env.db").exists());
    ran(age(
        d,
        &["--config", "worker.toml", "--db", "from-flag.db"],
        &[("CTE_DB", "from-env.db")],
    ));
    assert!(d.join("from-flag.db").exists());
}

#[test]
fn a_bad_value_is_refused_at_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refused = |out: Output, words: &[&str]| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        for w in words {
            assert!(err.contains(w), "{w:?} not in {err}");
        }
    };
    refused(
        age(d, &[], &[("CTE_SHARE_LEASE_SECONDS", "soon")]),
        &["`share_lease_seconds`", "CTE_SHARE_LEASE_SECONDS"],
    );
    refused(
        age(d, &["--share-lease-seconds", "0"], &[]),
        &["`share_lease_seconds`", "0 is not in 1..86400"],
    );
    std::fs::write(d.join("typo.toml"), "max_wiat = 5\n").unwrap();
    refused(
        age(d, &["--config", "typo.toml"], &[]),
        &["`max_wiat`", "typo.toml"],
    );
    refused(
        age(d, &["--config", "absent.toml"], &[]),
        &["absent.toml", "does not exist"],
    );
    refused(age(d, &["--log", "info,["], &[]), &["`log`"]);
    assert!(!d.join("cte.db").exists(), "nothing ran");
}
