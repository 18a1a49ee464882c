//! Seeded, platform-independent generator of malware and malsite alerts as the Data Export iterator serves them.
//!
//! The fields are the ones CE's Netskope plugin reads (ce-threat-exchange.md §2.2): malware alerts carry `md5`,
//! `local_md5`, `sha256`, `local_sha256`, `malware_name`, `malware_type`, `object`; malsite alerts carry `url` and
//! `malsite_category` (a list). Both carry `alert_type`, `severity`, `timestamp` (epoch seconds) and `_id`.
//! The `local_*` hashes are sometimes equal to the remote ones, sometimes different and sometimes empty, so that a
//! consumer has to handle every case.

use serde_json::{json, Value};

use crate::config::AlertSpec;

/// SplitMix64: tiny, fast, and defined only by wrapping 64-bit arithmetic, so the stream is the same on every
/// platform and Rust version (unlike `rand`'s `StdRng`, whose algorithm may change between releases).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift (no modulo bias worth caring about for test data).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, n_chars: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(n_chars);
        let mut bits = 0u64;
        for i in 0..n_chars {
            if i % 16 == 0 {
                bits = self.next_u64();
            }
            out.push(DIGITS[(bits & 0xf) as usize] as char);
            bits >>= 4;
        }
        out
    }
}

const SEVERITIES: &[&str] = &[
    "low",
    "medium",
    "high",
    "critical",
    "High",
    "Medium",
    "informational",
];
const MALWARE_NAMES: &[&str] = &[
    "Trojan.GenericKD.46543120",
    "W32.Malware.Gen",
    "EICAR-Test-File",
    "Ransom.WannaCry",
    "Backdoor.Agent.XYZ",
    "Adware.BrowseFox",
    "JS.Downloader.Nemucod",
];
const MALWARE_TYPES: &[&str] = &[
    "Trojan",
    "Virus",
    "Ransomware",
    "Backdoor",
    "Adware",
    "Worm",
    "Spyware",
    "",
];
const EXTENSIONS: &[&str] = &["exe", "dll", "docm", "pdf", "zip", "js", "xlsm"];
const WORDS: &[&str] = &[
    "invoice", "update", "setup", "report", "payroll", "secure", "login", "account", "verify",
    "download", "cdn", "portal", "mail", "docs", "files",
];
const TLDS: &[&str] = &["com", "net", "org", "io", "info", "xyz", "ru"];
const MALSITE_CATEGORIES: &[&str] = &[
    "Phishing",
    "Malware Distribution Point",
    "Command and Control",
    "Spam URLs",
    "Botnet",
    "Cryptomining",
];
const APPS: &[&str] = &[
    "Google Drive",
    "Microsoft OneDrive",
    "Box",
    "Dropbox",
    "Web Browsing",
];

/// Generates `(malware, malsite)` alerts for `spec`, each sorted by `timestamp` (ascending, ties by `_id`).
///
/// The result depends only on `spec`: the same spec gives the same alerts on every platform, so tests of other
/// crates can compute which IoCs a pull must produce.
pub fn generate_alerts(spec: &AlertSpec) -> (Vec<Value>, Vec<Value>) {
    let malware = (0..spec.malware_count)
        .map(|i| malware_alert(spec, i))
        .collect();
    let malsite = (0..spec.malsite_count)
        .map(|i| malsite_alert(spec, i))
        .collect();
    (sorted(malware), sorted(malsite))
}

fn sorted(mut alerts: Vec<Value>) -> Vec<Value> {
    alerts.sort_by(|a, b| {
        (a["timestamp"].as_i64(), a["_id"].as_str())
            .cmp(&(b["timestamp"].as_i64(), b["_id"].as_str()))
    });
    alerts
}

/// One generator per alert, derived from the seed, the kind and the index, so alert `i` does not depend on counts.
fn rng_for(spec: &AlertSpec, kind: u64, index: usize) -> SplitMix64 {
    let mut mix = SplitMix64::new(spec.seed ^ kind.wrapping_mul(0xA24B_AED4_963E_E407));
    let base = mix.next_u64();
    SplitMix64::new(base ^ (index as u64).wrapping_mul(0x9FB2_1C65_1E98_DF25))
}

fn timestamp(spec: &AlertSpec, rng: &mut SplitMix64) -> i64 {
    let (lo, hi) = if spec.start_epoch <= spec.end_epoch {
        (spec.start_epoch, spec.end_epoch)
    } else {
        (spec.end_epoch, spec.start_epoch)
    };
    let span = (hi - lo) as u64 + 1;
    lo + rng.below(span) as i64
}

fn malware_alert(spec: &AlertSpec, index: usize) -> Value {
    let mut rng = rng_for(spec, 1, index);
    let ts = timestamp(spec, &mut rng);
    let md5 = rng.hex(32);
    let sha256 = rng.hex(64);
    // 0-4: local equals remote, 5-6: local differs, 7-8: local empty, 9: local differs and remote empty.
    let (local_md5, md5) = local_variant(&mut rng, md5, 32);
    let (local_sha256, sha256) = local_variant(&mut rng, sha256, 64);
    let object = format!(
        "{}_{}.{}",
        rng.pick(WORDS),
        rng.below(10_000),
        rng.pick(EXTENSIONS)
    );
    json!({
        "_id": rng.hex(24),
        "alert_type": "Malware",
        "alert_name": "Malware detected",
        "type": "nspolicy",
        "severity": rng.pick(SEVERITIES),
        "timestamp": ts,
        "md5": md5,
        "local_md5": local_md5,
        "sha256": sha256,
        "local_sha256": local_sha256,
        "malware_name": rng.pick(MALWARE_NAMES),
        "malware_type": rng.pick(MALWARE_TYPES),
        "malware_id": rng.hex(32),
        "object": object,
        "object_type": "File",
        "app": rng.pick(APPS),
        "user": format!("user{}@example.com", rng.below(50)),
        "action": "block",
        "acked": "false",
    })
}

fn local_variant(rng: &mut SplitMix64, remote: String, len: usize) -> (String, String) {
    match rng.below(10) {
        0..=4 => (remote.clone(), remote),
        5 | 6 => (rng.hex(len), remote),
        7 | 8 => (String::new(), remote),
        _ => (rng.hex(len), String::new()),
    }
}

fn malsite_alert(spec: &AlertSpec, index: usize) -> Value {
    let mut rng = rng_for(spec, 2, index);
    let ts = timestamp(spec, &mut rng);
    let host = format!(
        "{}-{}{}.{}",
        rng.pick(WORDS),
        rng.pick(WORDS),
        rng.below(1000),
        rng.pick(TLDS)
    );
    let url = match rng.below(4) {
        0 => host.clone(),
        1 => format!("http://{host}/{}", rng.pick(WORDS)),
        2 => format!("https://{host}/{}/{}.php", rng.pick(WORDS), rng.pick(WORDS)),
        _ => format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
    };
    let n_categories = 1 + rng.below(2) as usize;
    let mut categories: Vec<&str> = Vec::new();
    while categories.len() < n_categories {
        let c = rng.pick(MALSITE_CATEGORIES);
        if !categories.contains(&c) {
            categories.push(c);
        }
    }
    json!({
        "_id": rng.hex(24),
        "alert_type": "malsite",
        "alert_name": "Malicious site",
        "type": "nspolicy",
        "severity": rng.pick(SEVERITIES),
        "timestamp": ts,
        "url": url,
        "hostname": host,
        "malsite_category": categories,
        "site": rng.pick(APPS),
        "user": format!("user{}@example.com", rng.below(50)),
        "action": "block",
        "acked": "false",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // Published SplitMix64 outputs for seed 0; guards against accidental algorithm changes.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn same_spec_same_alerts_and_sorted() {
        let spec = AlertSpec {
            seed: 42,
            malware_count: 200,
            malsite_count: 100,
            ..AlertSpec::default()
        };
        let (a, b) = generate_alerts(&spec);
        assert_eq!((a.clone(), b.clone()), generate_alerts(&spec));
        assert_eq!(a.len(), 200);
        assert!(a
            .windows(2)
            .all(|w| w[0]["timestamp"].as_i64() <= w[1]["timestamp"].as_i64()));
        assert!(b
            .iter()
            .all(|x| x["alert_type"] == "malsite" && x["malsite_category"].is_array()));
        let other = generate_alerts(&AlertSpec {
            seed: 43,
            ..spec.clone()
        });
        assert_ne!(a, other.0);
    }

    #[test]
    fn local_hash_cases_all_occur() {
        let spec = AlertSpec {
            seed: 7,
            malware_count: 300,
            malsite_count: 0,
            ..AlertSpec::default()
        };
        let (malware, _) = generate_alerts(&spec);
        let same = malware
            .iter()
            .filter(|a| a["md5"] == a["local_md5"] && a["md5"] != "")
            .count();
        let empty = malware.iter().filter(|a| a["local_md5"] == "").count();
        let differ = malware
            .iter()
            .filter(|a| a["local_md5"] != "" && a["md5"] != a["local_md5"])
            .count();
        assert!(
            same > 0 && empty > 0 && differ > 0,
            "{same} {empty} {differ}"
        );
    }
}
