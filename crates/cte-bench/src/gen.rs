//! A seeded generator of realistic IoCs: the kinds in the proportions feeds send them, values that
//! are already in `cte_core::normalize` canonical form, a few tags, four sources, severities and
//! timestamps. Row `i` depends only on the seed and `i`, so any row can be made again (re-posts).

use serde::Serialize;

/// Sources (configurations) the bench creates; `src2` is the one the by-source filter selects.
pub const SOURCES: [&str; 4] = ["src1", "src2", "src3", "src4"];
/// How often each source reports, per mille.
const SOURCE_WEIGHTS: [u32; 4] = [400, 300, 200, 100];

/// Tags the bench creates; `tagX` is the one the by-tag filter selects.
pub const TAGS: [&str; 12] = [
    "phishing",
    "malware",
    "c2",
    "botnet",
    "tagX",
    "ransomware",
    "spam",
    "tor-exit",
    "scanner",
    "apt",
    "miner",
    "dropper",
];

/// Kinds with their share of a feed, per mille: URLs and hashes dominate, IPv6 is rare.
const KINDS: [(&str, u32); 8] = [
    ("url", 300),
    ("domain", 150),
    ("hostname", 50),
    ("fqdn", 50),
    ("ipv4", 150),
    ("ipv6", 30),
    ("md5", 90),
    ("sha256", 180),
];

const SEVERITIES: [(&str, u32); 5] = [
    ("unknown", 200),
    ("low", 250),
    ("medium", 300),
    ("high", 180),
    ("critical", 70),
];

const WORDS: [&str; 24] = [
    "secure", "login", "update", "account", "cdn", "mail", "verify", "bank", "cloud", "files",
    "office", "support", "pay", "portal", "track", "static", "auth", "drive", "shop", "news",
    "game", "free", "promo", "service",
];
const TLDS: [&str; 10] = [
    "com", "net", "org", "io", "ru", "cn", "info", "xyz", "top", "biz",
];
const HOST_PREFIXES: [&str; 5] = ["www", "mail", "api", "login", "cdn"];
const PATH_EXTS: [&str; 5] = ["php", "html", "exe", "zip", "js"];
const COMMENTS: [&str; 5] = [
    "",
    "seen in phishing campaign",
    "sandbox detonation",
    "reported by partner feed",
    "",
];

/// 2025-06-01T00:00:00Z in milliseconds.
const T_START_MS: i64 = 1_748_736_000_000;
/// 2026-03-01T00:00:00Z in milliseconds.
const T_END_MS: i64 = 1_772_323_200_000;
const DAY_MS: i64 = 86_400_000;

/// SplitMix64: small, fast, and good enough to make test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for row `i` of the data set `seed`.
    pub fn for_row(seed: u64, i: u64) -> Rng {
        Rng(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias does not matter here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for &(item, w) in items {
            if r < w {
                return item;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }
}

/// One IoC as `POST /api/cte/indicators/` takes it (CE's `IndicatorIn`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ioc {
    /// Canonical value.
    pub value: String,
    /// Kind (wire name).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Reporting configuration.
    pub source: &'static str,
    /// Tag names, distinct.
    pub tags: Vec<&'static str>,
    /// Severity (wire name).
    pub severity: &'static str,
    /// 1..=10.
    pub reputation: u8,
    /// RFC 3339 UTC with milliseconds.
    pub first_seen: String,
    /// RFC 3339 UTC with milliseconds.
    pub last_seen: String,
    /// Free text.
    pub comments: &'static str,
    /// A link or empty.
    pub extended_information: String,
    /// Milliseconds, for the bare-insert floor.
    #[serde(skip)]
    pub first_seen_ms: i64,
    /// Milliseconds, for the bare-insert floor.
    #[serde(skip)]
    pub last_seen_ms: i64,
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

fn hex_words(rng: &mut Rng, words: usize) -> String {
    let mut s = String::with_capacity(words * 16);
    for _ in 0..words {
        s.push_str(&format!("{:016x}", rng.next_u64()));
    }
    s
}

/// RFC 3339 with milliseconds and `Z` for a time in milliseconds since the epoch (proleptic
/// Gregorian, days from civil by Howard Hinnant's algorithm), without a date crate.
pub fn rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// A host name that contains `tag` (unique per row), so no two rows share a value.
fn host(rng: &mut Rng, tag: &str) -> String {
    format!("{}-{}.{}", rng.pick(&WORDS), tag, rng.pick(&TLDS))
}

fn value(rng: &mut Rng, kind: &str, i: u64) -> String {
    let id = base36(i);
    match kind {
        "sha256" => hex_words(rng, 4),
        "md5" => hex_words(rng, 2),
        "ipv4" => {
            // Multiplying by an odd constant permutes u32, so distinct rows get distinct addresses.
            let ip = (i as u32).wrapping_mul(0x9E37_79B1) ^ 0x5bd1_e995;
            let [a, b, c, d] = ip.to_be_bytes();
            format!("{a}.{b}.{c}.{d}")
        }
        "ipv6" => {
            // Groups are kept >= 0x1000 so none is zero and the text is already RFC 5952 canonical.
            let (lo, hi) = (i % 0xf000, i / 0xf000 % 0xf000);
            let r = rng.next_u64();
            format!(
                "2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                0x1000 + hi,
                0x1000 + lo,
                0x1000 + (r & 0xfff),
                0x1000 + (r >> 12 & 0xfff),
                0x1000 + (r >> 24 & 0xfff),
                0x1000 + (r >> 36 & 0xfff),
            )
        }
        "domain" => host(rng, &format!("d{id}")),
        "hostname" => format!(
            "{}.{}",
            rng.pick(&HOST_PREFIXES),
            host(rng, &format!("h{id}"))
        ),
        "fqdn" => format!(
            "{}.{}.{}",
            rng.pick(&HOST_PREFIXES),
            rng.pick(&WORDS),
            host(rng, &format!("f{id}"))
        ),
        _ => {
            let scheme = match rng.below(10) {
                0..=3 => "http://",
                4..=6 => "https://",
                _ => "",
            };
            let host = host(rng, &format!("u{id}"));
            let path = format!(
                "/{}/{}.{}",
                rng.pick(&WORDS),
                base36(rng.below(1 << 30)),
                rng.pick(&PATH_EXTS)
            );
            let query = if rng.below(5) == 0 {
                format!("?id={}", rng.below(100_000))
            } else {
                String::new()
            };
            format!("{scheme}{host}{path}{query}")
        }
    }
}

/// Row `i` of data set `seed`.
pub fn ioc(seed: u64, i: u64) -> Ioc {
    let mut rng = Rng::for_row(seed, i);
    let kind = rng.weighted(&KINDS);
    let value = value(&mut rng, kind, i);
    let sources: Vec<(&str, u32)> = SOURCES.iter().copied().zip(SOURCE_WEIGHTS).collect();
    let source = rng.weighted(&sources);
    let n_tags = match rng.below(10) {
        0..=2 => 0,
        3..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    let mut tags = Vec::with_capacity(n_tags);
    while tags.len() < n_tags {
        // Skewed towards the first tags, as real feeds reuse a few labels.
        let t = TAGS[(rng.below(TAGS.len() as u64) * rng.below(TAGS.len() as u64)
            / TAGS.len() as u64) as usize];
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let first_seen_ms = T_START_MS + rng.below((T_END_MS - T_START_MS) as u64) as i64;
    let last_seen_ms = (first_seen_ms + rng.below(60 * DAY_MS as u64) as i64).min(T_END_MS);
    let extended_information = if rng.below(5) == 0 {
        format!("https://intel.example.com/ioc/{}", base36(i))
    } else {
        String::new()
    };
    Ioc {
        value,
        kind,
        source,
        tags,
        severity: rng.weighted(&SEVERITIES),
        reputation: 1 + rng.below(10) as u8,
        first_seen: rfc3339_ms(first_seen_ms),
        last_seen: rfc3339_ms(last_seen_ms),
        comments: rng.pick(&COMMENTS),
        extended_information,
        first_seen_ms,
        last_seen_ms,
    }
}

/// Rows `start..start + n`.
pub fn batch(seed: u64, start: u64, n: u64) -> Vec<Ioc> {
    (start..start + n).map(|i| ioc(seed, i)).collect()
}

/// Row `i` as reported again in re-post round `round` (0-based): seen later, so reconciliation
/// replaces the record; every other row comes from another source, so half the rows gain a second
/// source record.
pub fn repost(seed: u64, i: u64, round: u32) -> Ioc {
    let mut row = ioc(seed, i);
    row.last_seen_ms = T_END_MS + i64::from(round + 1) * DAY_MS;
    row.last_seen = rfc3339_ms(row.last_seen_ms);
    if i % 2 == 1 {
        let k = SOURCES.iter().position(|s| *s == row.source).unwrap_or(0);
        row.source = SOURCES[(k + 1) % SOURCES.len()];
    }
    row
}

/// The JSON body of one `POST /api/cte/indicators/`.
pub fn body(rows: &[Ioc]) -> Vec<u8> {
    serde_json::to_vec(rows).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cte_core::indicator::IndicatorKind;
    use cte_core::normalize::normalize_value;
    use std::collections::HashSet;

    #[test]
    fn values_are_canonical_unique_and_mixed() {
        let mut seen = HashSet::new();
        let mut kinds = HashSet::new();
        for i in 0..50_000 {
            let row = ioc(42, i);
            let kind: IndicatorKind = row.kind.parse().unwrap();
            let canonical = normalize_value(kind, &row.value)
                .unwrap_or_else(|e| panic!("row {i} {} {:?}: {e}", row.kind, row.value));
            assert_eq!(canonical, row.value, "row {i} is not canonical");
            assert!(
                seen.insert(row.value.clone()),
                "row {i} repeats {}",
                row.value
            );
            assert!(row.first_seen_ms <= row.last_seen_ms);
            kinds.insert(row.kind);
        }
        assert_eq!(kinds.len(), 8);
    }

    #[test]
    fn rows_depend_only_on_seed_and_index() {
        assert_eq!(ioc(7, 123).value, ioc(7, 123).value);
        assert_ne!(ioc(7, 123).value, ioc(8, 123).value);
    }

    #[test]
    fn formats_times_like_ce() {
        assert_eq!(rfc3339_ms(T_START_MS), "2025-06-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(T_END_MS), "2026-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_653_022_174_033), "2022-05-20T04:49:34.033Z");
    }
}
