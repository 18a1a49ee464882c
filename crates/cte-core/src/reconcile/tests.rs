//! Tests of reconciliation: criteria, tag strategies, defaults, overrides and hit counters.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn obs(seen_h: i64, severity: Severity, rep: u8, tags: &[&str]) -> Observation {
    Observation {
        value: "evil.example".into(),
        kind: IndicatorKind::Domain,
        source: "DW".into(),
        test: false,
        safe: false,
        active: true,
        expires_at: None,
        first_seen: Some(t(seen_h)),
        last_seen: Some(t(seen_h)),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        reputation: rep,
        severity,
        comments: format!("seen at {seen_h}"),
        extended_information: String::new(),
    }
}

fn policy() -> SourcePolicy {
    SourcePolicy {
        reputation_override: 0,
        age_after_days: 90,
        tag_strategy: TagStrategy::Append,
        internal: false,
    }
}

fn run(
    first: &Observation,
    second: &Observation,
    p: &SourcePolicy,
    c: Criterion,
    r: ReportKind,
) -> Indicator {
    let a = merge(None, first, p, c, r, t(100));
    merge(Some(a), second, p, c, r, t(200))
}

#[test]
fn new_indicator_takes_defaults_and_counts_an_external_hit() {
    let mut o = obs(1, Severity::High, 5, &["a", "a", "b"]);
    o.first_seen = None;
    o.last_seen = None;
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(10),
    );
    assert_eq!(ind.expires_at, Some(t(10) + Duration::days(90)));
    assert_eq!(ind.external_hits, 1);
    assert_eq!(ind.internal_hits, 0);
    let s = &ind.sources[0];
    assert_eq!((s.first_seen, s.last_seen), (t(10), t(10)));
    assert_eq!(s.tags, vec!["a", "b"]);
}

#[test]
fn zero_age_means_no_expiry_and_override_replaces_reputation() {
    let p = SourcePolicy {
        reputation_override: 9,
        age_after_days: 0,
        internal: true,
        ..policy()
    };
    let ind = merge(
        None,
        &obs(1, Severity::Low, 3, &[]),
        &p,
        Criterion::LastSeen,
        ReportKind::Pull,
        t(5),
    );
    assert_eq!(ind.expires_at, None);
    assert_eq!(ind.sources[0].reputation, 9);
    assert_eq!(ind.internal_hits, 1);
}

#[test]
fn last_seen_criterion_replaces_only_newer_reports() {
    let older = obs(1, Severity::Low, 2, &["old"]);
    let newer = obs(2, Severity::High, 8, &["new"]);
    let ind = run(
        &older,
        &newer,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Pull,
    );
    let s = &ind.sources[0];
    assert_eq!((s.severity, s.reputation), (Severity::High, 8));
    assert_eq!(s.tags, vec!["old", "new"]);
    assert_eq!((s.first_seen, s.last_seen), (t(1), t(2)));
    assert_eq!(s.external_hits, 2);
    assert_eq!(ind.external_hits, 2);

    let ind = run(
        &newer,
        &older,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Pull,
    );
    let s = &ind.sources[0];
    assert_eq!((s.severity, s.reputation), (Severity::High, 8));
    assert_eq!(s.tags, vec!["new"]);
    assert_eq!((s.first_seen, s.last_seen), (t(1), t(2)));
}

#[test]
fn first_seen_criterion_replaces_only_earlier_reports() {
    let older = obs(1, Severity::Low, 2, &[]);
    let newer = obs(2, Severity::High, 8, &[]);
    let ind = run(
        &older,
        &newer,
        &policy(),
        Criterion::FirstSeen,
        ReportKind::Pull,
    );
    assert_eq!(ind.sources[0].severity, Severity::Low);
    let ind = run(
        &newer,
        &older,
        &policy(),
        Criterion::FirstSeen,
        ReportKind::Pull,
    );
    assert_eq!(ind.sources[0].severity, Severity::Low);
    assert_eq!(ind.sources[0].last_seen, t(2));
}

#[test]
fn highest_severity_keeps_low_against_unknown() {
    // CE's code always replaces a stored LOW (its `or SeverityType.MEDIUM` branch); we do not.
    let low = obs(1, Severity::Low, 2, &[]);
    let unknown = obs(2, Severity::Unknown, 8, &[]);
    let ind = run(
        &low,
        &unknown,
        &policy(),
        Criterion::HighestSeverity,
        ReportKind::Pull,
    );
    assert_eq!(ind.sources[0].severity, Severity::Low);
    assert_eq!(ind.sources[0].reputation, 2);
    let critical = obs(0, Severity::Critical, 9, &[]);
    let ind = run(
        &low,
        &critical,
        &policy(),
        Criterion::HighestSeverity,
        ReportKind::Pull,
    );
    assert_eq!(ind.sources[0].severity, Severity::Critical);
}

#[test]
fn explicit_edit_replaces_whatever_the_criterion() {
    // The seed's PATCH example: same lastSeen, reputation 5 -> 7.
    let first = obs(1, Severity::Critical, 5, &["test_tag"]);
    let edit = obs(1, Severity::Critical, 7, &[]);
    let ind = run(
        &first,
        &edit,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Edit,
    );
    assert_eq!(ind.sources[0].reputation, 7);
    assert_eq!(ind.sources[0].tags, vec!["test_tag"]);
}

#[test]
fn api_reports_always_take_comments_and_tags() {
    let first = obs(2, Severity::Low, 5, &["a"]);
    let stale = obs(1, Severity::High, 9, &["b"]);
    let ind = run(
        &first,
        &stale,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
    );
    let s = &ind.sources[0];
    assert_eq!(s.comments, "seen at 1");
    assert_eq!(s.tags, vec!["a", "b"]);
    assert_eq!(s.severity, Severity::Low);
}

#[test]
fn overwrite_strategy_replaces_tags() {
    let p = SourcePolicy {
        tag_strategy: TagStrategy::Overwrite,
        ..policy()
    };
    let ind = run(
        &obs(1, Severity::Low, 5, &["a"]),
        &obs(2, Severity::Low, 5, &["b"]),
        &p,
        Criterion::LastSeen,
        ReportKind::Pull,
    );
    assert_eq!(ind.sources[0].tags, vec!["b"]);
}

#[test]
fn second_source_adds_a_record_and_rereport_clears_retraction() {
    let a = merge(
        None,
        &obs(1, Severity::Low, 5, &[]),
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(1),
    );
    let mut other = obs(2, Severity::High, 5, &[]);
    other.source = "Other".into();
    let mut b = merge(
        Some(a),
        &other,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(2),
    );
    assert_eq!(b.sources.len(), 2);
    assert_eq!(b.external_hits, 2);
    b.sources[0].retracted = true;
    b.active = false;
    let c = merge(
        Some(b),
        &obs(3, Severity::Low, 5, &[]),
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(3),
    );
    assert!(!c.sources[0].retracted);
    assert!(c.active);
}

#[test]
fn expiry_keeps_the_later_value() {
    let mut a = obs(1, Severity::Low, 5, &[]);
    a.expires_at = Some(t(1000));
    let mut b = obs(2, Severity::Low, 5, &[]);
    b.expires_at = Some(t(500));
    let ind = run(&a, &b, &policy(), Criterion::LastSeen, ReportKind::Api);
    assert_eq!(ind.expires_at, Some(t(1000)));
}

#[test]
fn a_missing_first_seen_defaults_to_the_reported_last_seen() {
    let mut o = obs(1, Severity::Low, 5, &[]);
    o.first_seen = None;
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    let s = &ind.sources[0];
    assert_eq!((s.first_seen, s.last_seen), (t(1), t(1)));
}

#[test]
fn a_missing_last_seen_is_now_and_never_before_first_seen() {
    let mut o = obs(1, Severity::Low, 5, &[]);
    o.last_seen = None;
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    assert_eq!(
        (ind.sources[0].first_seen, ind.sources[0].last_seen),
        (t(1), t(100))
    );
    // firstSeen after lastSeen: lastSeen is raised to firstSeen.
    let mut o = obs(50, Severity::Low, 5, &[]);
    o.last_seen = Some(t(10));
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    assert_eq!(
        (ind.sources[0].first_seen, ind.sources[0].last_seen),
        (t(50), t(50))
    );
}

#[test]
fn an_expired_report_is_stored_inactive() {
    let mut o = obs(1, Severity::Low, 5, &[]);
    o.expires_at = Some(t(50));
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    assert!(!ind.active);
    assert_eq!(ind.expires_at, Some(t(50)));
    // A later report with a later expiry makes it active again.
    let mut again = obs(2, Severity::Low, 5, &[]);
    again.expires_at = Some(t(500));
    let ind = merge(
        Some(ind),
        &again,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    assert!(ind.active);
    // Expiry exactly now counts as expired, as the age cycle has it.
    let mut o = obs(1, Severity::Low, 5, &[]);
    o.expires_at = Some(t(100));
    let ind = merge(
        None,
        &o,
        &policy(),
        Criterion::LastSeen,
        ReportKind::Api,
        t(100),
    );
    assert!(!ind.active);
}

#[test]
fn an_edit_counts_no_hit_and_combines_tags_by_the_strategy() {
    let edit_after_post = |p: &SourcePolicy| {
        let posted = merge(
            None,
            &obs(1, Severity::Critical, 5, &["a"]),
            p,
            Criterion::LastSeen,
            ReportKind::Api,
            t(100),
        );
        let edit = obs(1, Severity::High, 7, &[]);
        merge(
            Some(posted),
            &edit,
            p,
            Criterion::LastSeen,
            ReportKind::Edit,
            t(200),
        )
    };
    let ind = edit_after_post(&policy());
    assert_eq!((ind.external_hits, ind.sources[0].external_hits), (1, 1));
    assert_eq!(ind.sources[0].tags, vec!["a"]);
    assert_eq!(ind.sources[0].reputation, 7);
    let ind = edit_after_post(&SourcePolicy {
        tag_strategy: TagStrategy::Overwrite,
        ..policy()
    });
    assert!(ind.sources[0].tags.is_empty());
    assert_eq!(ind.sources[0].severity, Severity::High);
}
