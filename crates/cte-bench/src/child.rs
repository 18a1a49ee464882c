//! Child processes of the share and pull benches: the sibling binaries (`cte-worker`,
//! `netskope-sim`) found like `server::locate` finds `cte-server`, a guard that kills a child on
//! drop, and one run of a command with its wall time and peak resident set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};

/// Finds the binary `name` of package `package`: `explicit`, else next to this executable. Under
/// `cargo run` (which sets `CARGO`) it is built first, in the same profile, so the bench never
/// runs a stale binary.
pub fn locate(package: &str, name: &str, explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let here = std::env::current_exe().context("cannot find the bench executable")?;
    let dir = here.parent().context("bench executable has no directory")?;
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release");
    if let Ok(cargo) = std::env::var("CARGO") {
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", package, "--bin", name]);
        // `cargo run` gives the bench its package's variables; a nested build that inherits them
        // sees `CARGO_MANIFEST_DIR` changed for build scripts that watch it (ring's), and rebuilds
        // them and everything above, here and again in the next top-level build.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if is_package_variable(&key) {
                cmd.env_remove(key.as_ref());
            }
        }
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .with_context(|| format!("cannot run cargo build -p {package}"))?;
        ensure!(status.success(), "cargo build -p {package} failed");
    }
    let bin = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    ensure!(
        bin.exists(),
        "no {name} next to the bench ({}); build it or pass its path",
        bin.display()
    );
    Ok(bin)
}

/// Whether `key` is one of the variables Cargo sets for the package it runs (not one that
/// configures Cargo, such as `CARGO_HOME` or `CARGO_TARGET_DIR`).
fn is_package_variable(key: &str) -> bool {
    matches!(
        key,
        "CARGO_MANIFEST_DIR"
            | "CARGO_MANIFEST_PATH"
            | "CARGO_CRATE_NAME"
            | "CARGO_BIN_NAME"
            | "CARGO_PRIMARY_PACKAGE"
    ) || key.starts_with("CARGO_PKG_")
}

/// A child process killed (SIGKILL) and reaped on drop, whatever happened before.
pub struct Guard {
    pub child: Child,
}

impl Guard {
    pub fn spawn(mut cmd: Command, what: &str) -> anyhow::Result<Guard> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        Ok(Guard { child })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `VmHWM` (peak resident set, KiB) of a running process; `None` once it has exited (a zombie
/// has no memory lines) or when `/proc` cannot be read.
pub fn peak_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// How often a measured run reads its child's `VmHWM`.
pub const POLL: Duration = Duration::from_millis(2);

/// One finished run of a command.
#[derive(Debug)]
pub struct Measured {
    /// From spawn to exit (within [`POLL`]).
    pub wall: Duration,
    /// Largest `VmHWM` read while the child ran, KiB. `VmHWM` only grows, so this misses at most
    /// what the child allocated in its last [`POLL`].
    pub peak_kib: u64,
    pub status: ExitStatus,
    /// What the child wrote to stderr (its log).
    pub log: String,
}

/// Runs `cmd` to completion with stderr to `log` and stdout discarded, reading the child's
/// `VmHWM` every [`POLL`]; kills it and fails after `limit`.
///
/// The exact peak would be `ru_maxrss` from `wait4`, but that needs `unsafe` (forbidden in this
/// workspace) or a crate the workspace does not have; polling a monotonic counter this often is
/// within a few hundred KiB of it (checked against GNU `time -v` in docs/PERFORMANCE.md).
pub fn run_measured(mut cmd: Command, log: &Path, limit: Duration) -> anyhow::Result<Measured> {
    let err =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    cmd.stderr(err).stdout(std::process::Stdio::null());
    let started = Instant::now();
    let mut guard = Guard::spawn(cmd, "the measured child")?;
    let pid = guard.child.id();
    let mut peak = 0u64;
    let status = loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = guard.child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            bail!(
                "the child did not finish in {limit:?}; log: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(POLL);
    };
    let wall = started.elapsed();
    Ok(Measured {
        wall,
        peak_kib: peak,
        status,
        log: std::fs::read_to_string(log).unwrap_or_default(),
    })
}
