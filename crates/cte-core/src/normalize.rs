//! Canonical normalisation of IoC values at ingest, so two spellings of one IoC become one row.

use crate::indicator::IndicatorKind;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    /// What is wrong, in words fit for a user.
    pub reason: String,
}

impl InvalidValue {
    fn new(reason: impl Into<String>) -> InvalidValue {
        InvalidValue {
            reason: reason.into(),
        }
    }
}

/// Returns the canonical spelling of `raw` as an IoC of `kind`, or why it is not one.
pub fn normalize_value(kind: IndicatorKind, raw: &str) -> Result<String, InvalidValue> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(InvalidValue::new("value is empty"));
    }
    match kind {
        IndicatorKind::Md5 => hex_digest(v, 32, "md5"),
        IndicatorKind::Sha256 => hex_digest(v, 64, "sha256"),
        IndicatorKind::Ipv4 => v
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| InvalidValue::new("not an IPv4 address")),
        IndicatorKind::Ipv6 => v
            .parse::<std::net::Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| InvalidValue::new("not an IPv6 address")),
        IndicatorKind::Domain | IndicatorKind::Hostname | IndicatorKind::Fqdn => {
            Ok(v.trim_end_matches('.').to_ascii_lowercase())
        }
        IndicatorKind::Url => Ok(v.to_string()),
    }
}

fn hex_digest(v: &str, len: usize, name: &str) -> Result<String, InvalidValue> {
    if v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(InvalidValue::new(format!(
            "not a {name} hash: expected {len} hexadecimal characters"
        )))
    }
}

/// Checks CE's rule for `extendedInformation`: empty, or an http/https URL with a host.
pub fn validate_extended_information(raw: &str) -> Result<String, InvalidValue> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| InvalidValue::new("extendedInformation must be an http or https URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(InvalidValue::new("extendedInformation URL has no host"));
    }
    Ok(v.to_string())
}
