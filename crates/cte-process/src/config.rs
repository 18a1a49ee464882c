//! Layered configuration: each binary has one typed configuration struct, filled from, lowest
//! first, its defaults, an optional TOML file (`--config`, env `CTE_CONFIG`), `CTE_*` environment
//! variables (`CTE_DB` for the key `db`, and so on: the key's name upper-cased) and command-line
//! flags. A value that does not fit its key is an error naming the key and where the value came
//! from; a key the struct does not know is an error in a file (a typo would otherwise be ignored
//! silently) and ignored in the environment (other tools use `CTE_*` names too).

use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a configuration could not be loaded.
#[derive(Debug)]
pub struct ConfigError(String);

impl ConfigError {
    /// A value of `key` that parsed but is not allowed.
    pub fn invalid(key: &str, why: impl fmt::Display) -> ConfigError {
        ConfigError(format!("invalid configuration key `{key}`: {why}"))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> ConfigError {
        // One line per problem, each naming its key and where the value came from.
        let line = |e: figment::Error| {
            let key = e.path.join(".").to_lowercase();
            let source = match &e.metadata {
                Some(m) if m.name.contains("environment") => {
                    format!(" (from environment variable CTE_{})", key.to_uppercase())
                }
                Some(m) => match &m.source {
                    Some(source) => format!(" (from {}: {source})", m.name),
                    None => format!(" (from {})", m.name),
                },
                None => String::new(),
            };
            format!("invalid configuration key `{key}`{source}: {}", e.kind)
        };
        ConfigError(e.into_iter().map(line).collect::<Vec<_>>().join("\n"))
    }
}

/// The flags as a provider of their own name, so that errors say "command-line flags".
struct Flags<'a, T>(&'a T);

impl<T: Serialize> figment::Provider for Flags<'_, T> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("command-line flags")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Serialized::defaults(self.0).data()
    }
}

/// The environment variable that names a configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "CTE_CONFIG";

/// The configuration file to read: `flag`, else `CTE_CONFIG`, else none.
pub fn config_file(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
}

/// Loads `T`: `T::default()`, then `file` (which must exist when given), then the `CTE_<KEY>`
/// environment variables of `T`'s top-level keys, then `flags` (a struct whose unset fields are
/// skipped when serialised, e.g. `Option`s with `skip_serializing_if = "Option::is_none"`).
pub fn load<T>(file: Option<&Path>, flags: &impl Serialize) -> Result<T, ConfigError>
where
    T: Default + Serialize + DeserializeOwned,
{
    let defaults = Serialized::defaults(T::default());
    let keys: Vec<String> = match Value::serialize(T::default())? {
        Value::Dict(_, dict) => dict.into_keys().collect(),
        _ => Vec::new(),
    };
    let mut figment = Figment::from(defaults);
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    figment = figment
        .merge(Env::prefixed("CTE_").only(&keys))
        .merge(Flags(flags));
    Ok(figment.extract()?)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Conf {
        db: PathBuf,
        port: u16,
        name: String,
    }

    impl Default for Conf {
        fn default() -> Self {
            Conf {
                db: "cte.db".into(),
                port: 8080,
                name: "default".into(),
            }
        }
    }

    #[derive(Serialize, Default)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    }

    #[test]
    fn flags_beat_environment_beats_file_beats_defaults() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                load::<Conf>(None, &Flags::default()).unwrap(),
                Conf::default()
            );
            jail.create_file("c.toml", "db = \"file.db\"\nport = 1\nname = \"file\"")?;
            let file = Path::new("c.toml");
            let conf: Conf = load(Some(file), &Flags::default()).unwrap();
            assert_eq!(
                (conf.db.to_str(), conf.port, conf.name.as_str()),
                (Some("file.db"), 1, "file")
            );
            jail.set_env("CTE_PORT", "2");
            jail.set_env("CTE_NAME", "env");
            jail.set_env("CTE_UNRELATED", "ignored");
            let conf: Conf = load(Some(file), &Flags::default()).unwrap();
            assert_eq!(
                (conf.db.to_str(), conf.port, conf.name.as_str()),
                (Some("file.db"), 2, "env")
            );
            let flags = Flags {
                name: Some("flag".into()),
                port: None,
            };
            let conf: Conf = load(Some(file), &flags).unwrap();
            assert_eq!((conf.port, conf.name.as_str()), (2, "flag"));
            Ok(())
        });
    }

    #[test]
    fn errors_name_the_key_and_where_the_value_came_from() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CTE_PORT", "eighty");
            let e = load::<Conf>(None, &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("`port` (from environment variable CTE_PORT)"),
                "{e}"
            );
            jail.clear_env();
            jail.create_file("c.toml", "prot = 1")?;
            let e = load::<Conf>(Some(Path::new("c.toml")), &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("prot") && e.contains("c.toml"), "{e}");
            let e = load::<Conf>(Some(Path::new("missing.toml")), &Flags::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("missing.toml") && e.contains("does not exist"),
                "{e}"
            );
            Ok(())
        });
    }
}
