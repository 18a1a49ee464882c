//! Parsing the datetime spellings CE's clients send.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

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
    match DateTimeText::new(t) {
        Some(text) => text.as_str().to_owned(),
        None => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

/// [`format_datetime`]'s text without an allocation, for the years 0 to 9999 (which is every time
/// the store can hold that a client sent as RFC 3339) and no leap second: a serialiser writes
/// five of these per indicator document, and chrono's general formatter was a few per cent of an
/// ingest answer's CPU.
#[derive(Clone, Copy)]
pub struct DateTimeText([u8; 24]);

impl DateTimeText {
    /// `None` for a year outside 0..=9999 or a leap second, which [`format_datetime`] leaves to
    /// chrono.
    pub fn new(t: DateTime<Utc>) -> Option<DateTimeText> {
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let nanos = t.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        put(20, 3, nanos / 1_000_000);
        Some(DateTimeText(b))
    }

    /// The text, e.g. `2022-05-19T04:49:34.033Z`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits and separators")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_text_is_chronos_rfc3339_with_millis() {
        let chrono_text = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // Every field's edges, leap days, and a spread of instants from year 0 to 9999.
        let mut cases: Vec<i64> = vec![
            0,
            -1,
            951_782_400_000, // 2000-02-29
            1_652_935_774_033,
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            -62_167_219_200_000, // 0000-01-01T00:00:00.000
        ];
        let mut x: i64 = 0x2545_f491;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            cases.push(x.rem_euclid(253_402_300_800_000 + 62_167_219_200_000) - 62_167_219_200_000);
        }
        for ms in cases {
            let t = DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(
                DateTimeText::new(t).unwrap().as_str(),
                chrono_text(t),
                "{ms}"
            );
            assert_eq!(format_datetime(t), chrono_text(t));
        }
        // Outside the fast range, chrono's text.
        for ms in [253_402_300_800_000, -62_167_219_200_001] {
            let t = DateTime::from_timestamp_millis(ms).unwrap();
            assert!(DateTimeText::new(t).is_none());
            assert_eq!(format_datetime(t), chrono_text(t));
        }
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap()
            .and_utc();
        assert!(DateTimeText::new(leap).is_none());
        assert_eq!(format_datetime(leap), chrono_text(leap));
    }

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
