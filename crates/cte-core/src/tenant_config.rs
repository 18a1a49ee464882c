//! Netskope tenant settings (the seed's Settings > Netskope Tenant) and the connector that turns
//! them into a [`TenantClient`], plus the parameters of the Netskope CTE plugin.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::tenant::{AlertType, TenantClient, TenantError};

/// A token kept in memory; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The token itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A configured Netskope tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetskopeTenant {
    /// Unique name of this tenant configuration.
    pub name: String,
    /// The tenant host (`example.goskope.com`) or an explicit `http(s)://host:port` URL.
    pub tenant_name: String,
    /// REST API v1 token; only needed for file-hash lists.
    pub v1_token: Option<Token>,
    /// REST API v2 token.
    pub v2_token: Token,
    /// Days of alerts to pull on the first run.
    pub initial_range_days: u32,
    /// Use the system proxy.
    pub use_system_proxy: bool,
    /// When the tenant was saved.
    pub created_at: DateTime<Utc>,
}

/// Builds tenant clients from stored settings; implemented by the tenant adapter, so that the API
/// and the engine reach a tenant only through [`TenantClient`].
pub trait TenantConnector: Send + Sync {
    /// A client for `tenant`. `ssl_validation` comes from the CTE configuration using it.
    fn connect(
        &self,
        tenant: &NetskopeTenant,
        ssl_validation: bool,
    ) -> Result<Arc<dyn TenantClient>, TenantError>;
}

/// The kinds of threat data the Netskope CTE plugin can pull (`threat_data_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreatDataType {
    /// MD5 hashes from malware alerts.
    Md5,
    /// SHA-256 hashes from malware alerts.
    Sha256,
    /// URLs from malsite alerts.
    Url,
}

impl ThreatDataType {
    /// CE's choice value.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreatDataType::Md5 => "MD5",
            ThreatDataType::Sha256 => "SHA256",
            ThreatDataType::Url => "URL",
        }
    }
}

/// The Netskope CTE plugin's parameters, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetskopeParams {
    /// "Enable Polling".
    pub is_pull_required: bool,
    /// "Type of Threat Data".
    pub threat_data_type: Vec<ThreatDataType>,
    /// "Initial Range (in days)", 0..=365; 0 skips the historical pull.
    pub days: u32,
    /// Tag unshared and rejected IoCs.
    pub enable_tagging: bool,
}

impl Default for NetskopeParams {
    fn default() -> Self {
        NetskopeParams {
            is_pull_required: true,
            threat_data_type: vec![
                ThreatDataType::Md5,
                ThreatDataType::Sha256,
                ThreatDataType::Url,
            ],
            days: 7,
            enable_tagging: true,
        }
    }
}

fn invalid(field: &str, allowed: &str) -> String {
    format!("Invalid value provided for the configuration parameter '{field}'. Allowed values are {allowed}.")
}

impl NetskopeParams {
    /// The alert types that must be pulled for the selected data types.
    pub fn alert_types(&self) -> Vec<AlertType> {
        let mut out = Vec::new();
        if self
            .threat_data_type
            .iter()
            .any(|t| matches!(t, ThreatDataType::Md5 | ThreatDataType::Sha256))
        {
            out.push(AlertType::Malware);
        }
        if self.threat_data_type.contains(&ThreatDataType::Url) {
            out.push(AlertType::Malsite);
        }
        out
    }

    /// Reads the parameters from a configuration's JSON, with CE's defaults and messages.
    /// `threat_data_type` takes CE's list (`["MD5","SHA256","URL"]`) or the seed's words
    /// (`"Malware"` = MD5 and SHA256, `"URL"`, `"Both"`).
    pub fn from_json(v: &serde_json::Value) -> Result<NetskopeParams, String> {
        let mut p = NetskopeParams::default();
        let Some(obj) = v.as_object() else {
            return Err("parameters must be a JSON object.".into());
        };
        for key in obj.keys() {
            if ![
                "is_pull_required",
                "threat_data_type",
                "days",
                "enable_tagging",
            ]
            .contains(&key.as_str())
            {
                return Err(format!(
                    "Unknown configuration parameter '{key}'. Known: is_pull_required, threat_data_type, days, enable_tagging."
                ));
            }
        }
        if let Some(x) = obj.get("is_pull_required") {
            p.is_pull_required =
                yes_no(x).ok_or_else(|| invalid("is_pull_required", "'Yes', 'No'"))?;
        }

        if let Some(x) = obj.get("threat_data_type") {
            let words: Vec<String> = match x {
                serde_json::Value::String(s) => vec![s.clone()],
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|w| {
                        w.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| invalid("threat_data_type", "'MD5', 'SHA256', 'URL'"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(invalid("threat_data_type", "'MD5', 'SHA256', 'URL'")),
            };
            let mut types = Vec::new();
            for w in words {
                let add: &[ThreatDataType] = match w.to_ascii_lowercase().as_str() {
                    "md5" => &[ThreatDataType::Md5],
                    "sha256" => &[ThreatDataType::Sha256],
                    "url" => &[ThreatDataType::Url],
                    "malware" => &[ThreatDataType::Md5, ThreatDataType::Sha256],
                    "both" => &[
                        ThreatDataType::Md5,
                        ThreatDataType::Sha256,
                        ThreatDataType::Url,
                    ],
                    _ => {
                        return Err(invalid(
                            "threat_data_type",
                            "'MD5', 'SHA256', 'URL' (or 'Malware', 'Both')",
                        ))
                    }
                };
                for t in add {
                    if !types.contains(t) {
                        types.push(*t);
                    }
                }
            }
            if types.is_empty() {
                return Err("`threat_data_type` is a required configuration parameter.".into());
            }
            p.threat_data_type = types;
        }
        if let Some(x) = obj.get("days") {
            p.days = x
                .as_u64()
                .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|d| *d <= 365)
                .map(|d| d as u32)
                .ok_or_else(|| {
                    "Invalid value provided for the configuration parameter 'days'. It must be an integer between 0 and 365.".to_string()
                })?;
        }
        if let Some(x) = obj.get("enable_tagging") {
            p.enable_tagging = yes_no(x).ok_or_else(|| invalid("enable_tagging", "'yes', 'no'"))?;
        }
        Ok(p)
    }

    /// The parameters as stored and listed, in CE's spelling.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "is_pull_required": if self.is_pull_required { "Yes" } else { "No" },
            "threat_data_type": self.threat_data_type.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "days": self.days,
            "enable_tagging": if self.enable_tagging { "yes" } else { "no" },
        })
    }
}

/// `"Yes"`/`"No"` in any case, or a JSON boolean.
fn yes_no(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("yes") => Some(true),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("no") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_take_ce_and_seed_spellings() {
        let p = NetskopeParams::from_json(&json!({})).unwrap();
        assert_eq!(p, NetskopeParams::default());
        let p = NetskopeParams::from_json(
            &json!({"threat_data_type": "Malware", "is_pull_required": "No", "days": "3"}),
        )
        .unwrap();
        assert_eq!(
            p.threat_data_type,
            vec![ThreatDataType::Md5, ThreatDataType::Sha256]
        );
        assert_eq!(p.alert_types(), vec![AlertType::Malware]);
        assert!(!p.is_pull_required);
        assert_eq!(p.days, 3);
        let p = NetskopeParams::from_json(&json!({"threat_data_type": ["URL"]})).unwrap();
        assert_eq!(p.alert_types(), vec![AlertType::Malsite]);
        assert_eq!(NetskopeParams::from_json(&p.to_json()).unwrap(), p);
        for bad in [
            json!({"days": 366}),
            json!({"days": -1}),
            json!({"threat_data_type": []}),
            json!({"threat_data_type": ["SHA1"]}),
            json!({"is_pull_required": "maybe"}),
            json!({"enable_tagging": 3}),
            json!({"colour": "red"}),
        ] {
            assert!(NetskopeParams::from_json(&bad).is_err(), "{bad}");
        }
    }
}
