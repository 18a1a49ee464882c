//! Parsing the datetime spellings CE's clients send.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses an ISO 8601 date or datetime. A value without a zone is taken as UTC (CE stores naive
/// UTC datetimes); a bare date means midnight UTC. Returns `None` for anything else.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Formats a datetime as CE's clients read it: RFC 3339, UTC, milliseconds, `Z`.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spellings_clients_send() {
        let want = "2022-05-19T04:49:34.033Z";
        for s in [
            "2022-05-19T04:49:34.033Z",
            "2022-05-19T04:49:34.033000",
            "2022-05-19 04:49:34.033",
            "2022-05-19T06:49:34.033+02:00",
            "2022-05-19T06:49:34.033+0200",
        ] {
            assert_eq!(
                parse_datetime(s).map(format_datetime).as_deref(),
                Some(want),
                "{s}"
            );
        }
        assert_eq!(
            parse_datetime("2022-05-19").map(format_datetime).as_deref(),
            Some("2022-05-19T00:00:00.000Z")
        );
        for bad in ["", "yesterday", "2022-13-01", "12345"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
