//! Conformance: Netskope's own published Python clients, unmodified, against the simulator.
//!
//! Needs a virtualenv with `netskope==1.5.*` (the CLI), `netskopesdk==0.0.41` (the Data Export iterator) and
//! `netskope-py-sdk==1.0.3` (the REST SDK), made by `.ci/setup-python-clients.sh`, whose path is in `CTE_PY_VENV`.
//! The tests are `#[ignore]`d so that a plain `cargo test` lists them as ignored instead of passing without
//! running them; `.ci/run` runs them with `cargo test -p netskope-sim --test it -- --ignored conformance`, and
//! there a missing virtualenv is a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use netskope_sim::{AlertSpec, Privilege, SimConfig, SimHandle, SimToken};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// Why the conformance tests are ignored by default; also the panic message when they are run without it.
const NEEDS_VENV: &str = "needs CTE_PY_VENV (.ci/setup-python-clients.sh)";

/// The venv's python. Panics when `CTE_PY_VENV` is unset: these tests only run when asked for with
/// `--ignored`, and a run that asked for them must not pass without them.
fn venv_python() -> PathBuf {
    let Some(venv) = std::env::var_os("CTE_PY_VENV").filter(|v| !v.is_empty()) else {
        panic!(
            "{NEEDS_VENV}: run .ci/setup-python-clients.sh and set CTE_PY_VENV to the virtualenv it made"
        );
    };
    let mut venv = PathBuf::from(venv);
    if venv.is_relative() {
        // Relative paths are taken from the workspace root, where the setup script puts `.venv`.
        venv = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(venv);
    }
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "CTE_PY_VENV is set but {} does not exist",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(name)
}

async fn run_python(python: &Path, script: &Path, env: &[(&str, String)]) {
    let mut command = tokio::process::Command::new(python);
    command.arg(script).kill_on_drop(true);
    for key in [
        "NETSKOPE_API_TOKEN",
        "NETSKOPE_TENANT",
        "NETSKOPE_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
    ] {
        command.env_remove(key);
    }
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{} timed out after {SCRIPT_TIMEOUT:?}", script.display()))
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        script.display(),
        output.status
    );
}

fn tls_config() -> SimConfig {
    SimConfig {
        tls: true,
        tokens: vec![
            SimToken::full("conf-token"),
            SimToken::with("ro-token", &[("/api/v2/policy/urllist", Privilege::Read)]),
            SimToken::with(
                "urllist-only",
                &[("/api/v2/policy/urllist", Privilege::ReadWrite)],
            ),
        ],
        alerts: AlertSpec {
            seed: 77,
            malware_count: 45,
            malsite_count: 12,
            ..AlertSpec::default()
        },
        page_size: 10,
        wait_time: 1,
        ..SimConfig::default()
    }
}

fn ca_file(sim: &SimHandle, dir: &Path) -> String {
    let path = dir.join("sim-ca.pem");
    std::fs::write(&path, sim.cert_pem.as_deref().expect("tls enabled")).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CTE_PY_VENV (.ci/setup-python-clients.sh)"]
async fn official_cli_manages_url_lists_over_https() {
    let python = venv_python();
    let sim = netskope_sim::spawn(tls_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SIM_HTTPS", sim.tls_addr.unwrap().to_string()),
        ("SIM_CA", ca_file(&sim, dir.path())),
        ("SIM_TOKEN", "conf-token".to_owned()),
        ("SIM_RO_TOKEN", "ro-token".to_owned()),
        ("SIM_WORK", dir.path().display().to_string()),
    ];
    run_python(&python, &script("cli_urllist.py"), &env).await;
    let log = sim.state().requests();
    assert!(log.iter().all(|r| r.tls), "the CLI only speaks HTTPS");
    assert!(
        log.iter().any(|r| r.method == "PUT" && r.status == 200),
        "update is a full PUT"
    );
    assert!(log
        .iter()
        .any(|r| r.path == "/api/v2/events/data/audit" && r.status == 200));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CTE_PY_VENV (.ci/setup-python-clients.sh)"]
async fn official_dataexport_iterator_pages_resends_and_honours_rate_limits() {
    let python = venv_python();
    let config = tls_config();
    let sim = netskope_sim::spawn(config.clone()).await.unwrap();
    let limited = netskope_sim::spawn(SimConfig {
        rate_limit_rps: Some(2),
        ..config.clone()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = dir.path().join("expected.json");
    let (malware, _) = netskope_sim::generate_alerts(&config.alerts);
    std::fs::write(&expected, serde_json::to_vec(&malware).unwrap()).unwrap();
    let ca = ca_file(&sim, dir.path());
    let limited_ca = dir.path().join("limited-ca.pem");
    std::fs::write(&limited_ca, limited.cert_pem.as_deref().unwrap()).unwrap();
    // Both simulators' CAs in one bundle, since `requests` takes a single REQUESTS_CA_BUNDLE.
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        format!(
            "{}{}",
            std::fs::read_to_string(&ca).unwrap(),
            limited.cert_pem.as_deref().unwrap()
        ),
    )
    .unwrap();
    let env = [
        ("SIM_HTTPS", sim.tls_addr.unwrap().to_string()),
        ("SIM_HTTPS_LIMITED", limited.tls_addr.unwrap().to_string()),
        ("SIM_CA", bundle.display().to_string()),
        ("SIM_TOKEN", "conf-token".to_owned()),
        ("SIM_NOEXPORT_TOKEN", "urllist-only".to_owned()),
        ("SIM_EXPECTED", expected.display().to_string()),
        ("SIM_PAGE_SIZE", config.page_size.to_string()),
        ("SIM_WAIT_TIME", config.wait_time.to_string()),
    ];
    run_python(&python, &script("sdk_dataexport.py"), &env).await;
    let log = limited.state().requests();
    assert!(
        log.iter().all(|r| r.status == 200),
        "the client never hit a 429"
    );
    assert!(sim.state().requests().iter().any(|r| r
        .query
        .as_deref()
        .is_some_and(|q| q.contains("operation=resend"))));
    sim.shutdown().await;
    limited.shutdown().await;
}

/// Issue 23: where the simulator disagreed with the real tenant as the official clients see it (modify_type after
/// an edit, the 404 text, the SDK's flat body, unpositioned `next` and `tail`, injected 429 headers), one scenario
/// per point in `tests/conformance/issue_23_tenant_behaviour.py`, so the simulator cannot drift back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs CTE_PY_VENV (.ci/setup-python-clients.sh)"]
async fn issue_23_official_clients_see_the_tenant_behaviour() {
    let python = venv_python();
    let config = tls_config();
    let sim = netskope_sim::spawn(config.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = dir.path().join("expected.json");
    let (malware, _) = netskope_sim::generate_alerts(&config.alerts);
    std::fs::write(&expected, serde_json::to_vec(&malware).unwrap()).unwrap();
    let env = [
        ("SIM_HTTP", sim.addr.to_string()),
        ("SIM_HTTPS", sim.tls_addr.unwrap().to_string()),
        ("SIM_CA", ca_file(&sim, dir.path())),
        ("SIM_TOKEN", "conf-token".to_owned()),
        ("SIM_WORK", dir.path().display().to_string()),
        ("SIM_EXPECTED", expected.display().to_string()),
        ("SIM_PAGE_SIZE", config.page_size.to_string()),
        ("SIM_WAIT_TIME", config.wait_time.to_string()),
    ];
    run_python(&python, &script("issue_23_tenant_behaviour.py"), &env).await;
    let lists = sim.state().url_lists();
    assert_eq!(
        lists
            .iter()
            .map(|l| (l.name.as_str(), l.modify_type.as_str(), l.pending))
            .collect::<Vec<_>>(),
        [("issue23_renamed", "Edited", false)]
    );
    assert!(sim.state().faults().is_empty(), "every fault was met");
    sim.shutdown().await;
}
