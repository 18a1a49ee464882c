//! `cte-worker status`: every pull and share schedule with its last run and when it is due next.

use chrono::{DateTime, Utc};
use cte_core::config::{Configuration, PluginKind, RunStatus};
use cte_core::store::Store;
use cte_core::tenant_config::NetskopeParams;
use cte_core::time::format_datetime;
use serde::Serialize;

/// One schedule: a Netskope configuration's pull, or the shares to it as a destination.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Schedule {
    configuration: String,
    cycle: &'static str,
    active: bool,
    last_run_at: Option<String>,
    last_run_success: Option<bool>,
    last_run_message: Option<String>,
    /// When `run` takes it up next; `null` when the configuration is inactive.
    next_due_at: Option<String>,
}

/// The schedules `cte-worker run` keeps, in configuration order: a pull for each Netskope
/// configuration that pulls, a share for each that a non-muted business rule shares to.
pub(crate) fn schedules(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<Vec<Schedule>> {
    let rules = store.business_rules()?;
    let shared_to = |name: &str| {
        rules
            .iter()
            .filter(|r| !r.muted)
            .any(|r| r.sharing_configurations().any(|(_, dest, _)| dest == name))
    };
    let mut out = Vec::new();
    for c in store.configurations()? {
        if c.plugin != PluginKind::Netskope {
            continue;
        }
        let pulls = NetskopeParams::from_json(&c.parameters).is_ok_and(|p| p.is_pull_required);
        if pulls {
            out.push(schedule(&c, "pull", &c.pull, now));
        }
        if shared_to(&c.name) {
            out.push(schedule(&c, "share", &c.share, now));
        }
    }
    Ok(out)
}

fn schedule(
    c: &Configuration,
    cycle: &'static str,
    run: &RunStatus,
    now: DateTime<Utc>,
) -> Schedule {
    let next = c.active.then(|| match run.last_run_at {
        Some(t) if t + c.poll_every() > now => t + c.poll_every(),
        _ => now,
    });
    Schedule {
        configuration: c.name.clone(),
        cycle,
        active: c.active,
        last_run_at: run.last_run_at.map(format_datetime),
        last_run_success: run.last_run_success,
        last_run_message: run.message.clone(),
        next_due_at: next.map(format_datetime),
    }
}

/// The schedules as an aligned text table, one line each.
pub(crate) fn table(rows: &[Schedule]) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.configuration.clone(),
                r.cycle.to_string(),
                r.last_run_at.clone().unwrap_or_else(|| "never".into()),
                match (r.active, r.last_run_success) {
                    (false, _) => "inactive".into(),
                    (_, Some(true)) => "ok".into(),
                    (_, Some(false)) => "FAILED".into(),
                    (_, None) => "-".into(),
                },
                r.next_due_at.clone().unwrap_or_else(|| "-".into()),
                r.last_run_message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = [
        "CONFIGURATION",
        "CYCLE",
        "LAST RUN",
        "RESULT",
        "NEXT DUE",
        "MESSAGE",
    ];
    let mut widths = head.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: [&str; 6]| {
        let mut s = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 5 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for row in &cells {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    if rows.is_empty() {
        out.push_str("(no Netskope configuration pulls, and no business rule shares to one)\n");
    }
    out
}
