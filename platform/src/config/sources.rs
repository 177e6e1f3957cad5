//! Where raw setting values come from: `KAIROS_*` environment variables, layered over an optional
//! TOML file named by `KAIROS_CONFIG`. Keys are normalised to the environment spelling
//! (`KAIROS_RATE_LIMITS__READ__USER` is `[rate_limits.read] user = …` in the file).

use std::collections::BTreeMap;
use std::path::Path;

/// Where a value came from; printed by `config check` so an operator sees what is a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    File,
    Env,
    Generated,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::File => "file",
            Origin::Env => "env",
            Origin::Generated => "generated",
        }
    }
}

/// Raw values by variable name (`KAIROS_BIND`), environment over file.
#[derive(Debug, Default, Clone)]
pub struct RawSources {
    values: BTreeMap<String, (String, Origin)>,
}

/// Why the config file named by `KAIROS_CONFIG` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    Toml { path: String, source: toml::de::Error },
    #[error("config file {path}: {message}")]
    Shape { path: String, message: String },
}

impl RawSources {
    /// Reads the process environment and, when `KAIROS_CONFIG` names one, the TOML file.
    pub fn from_process() -> Result<Self, ConfigFileError> {
        Self::from_vars(std::env::vars())
    }

    /// The same from an explicit list of variables, for tests and for reloads.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigFileError> {
        let env: Vec<(String, String)> =
            vars.into_iter().filter(|(k, _)| k.starts_with("KAIROS_") || k == "OTEL_EXPORTER_OTLP_ENDPOINT").collect();
        let mut sources = RawSources::default();
        if let Some((_, file)) = env.iter().find(|(k, _)| k == "KAIROS_CONFIG") {
            sources.add_file(Path::new(file))?;
        }
        for (k, v) in env {
            sources.values.insert(k, (v, Origin::Env));
        }
        Ok(sources)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), ConfigFileError> {
        let shown = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read { path: shown(), source })?;
        let table: toml::Table = text.parse().map_err(|source| ConfigFileError::Toml { path: shown(), source })?;
        flatten("KAIROS", &table, &mut self.values).map_err(|message| ConfigFileError::Shape { path: shown(), message })
    }

    pub fn get(&self, key: &str) -> Option<(&str, Origin)> {
        self.values.get(key).map(|(v, o)| (v.as_str(), *o))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, (String, Origin)>) -> Result<(), String> {
    for (k, v) in table {
        let sep = if prefix == "KAIROS" { "_" } else { "__" };
        let key = format!("{prefix}{sep}{}", k.to_ascii_uppercase());
        let value = match v {
            toml::Value::Table(t) => {
                flatten(&key, t, out)?;
                continue;
            }
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s.clone()),
                        other => parts.push(other.to_string()),
                    }
                }
                parts.join(",")
            }
            other => return Err(format!("{k}: unsupported value {other}")),
        };
        out.insert(key, (value, Origin::File));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_file_and_tables_nest_with_double_underscore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("kairos.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:1\"\nlog = \"debug\"\ncors_origins = [\"https://a\", \"https://b\"]\n[rate_limits.read]\nuser = 7\n",
        )
        .expect("write");
        let vars = vec![
            ("KAIROS_CONFIG".to_string(), file.display().to_string()),
            ("KAIROS_BIND".to_string(), "127.0.0.1:2".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let s = RawSources::from_vars(vars).expect("sources");
        assert_eq!(s.get("KAIROS_BIND"), Some(("127.0.0.1:2", Origin::Env)));
        assert_eq!(s.get("KAIROS_LOG"), Some(("debug", Origin::File)));
        assert_eq!(s.get("KAIROS_CORS_ORIGINS"), Some(("https://a,https://b", Origin::File)));
        assert_eq!(s.get("KAIROS_RATE_LIMITS__READ__USER"), Some(("7", Origin::File)));
        assert_eq!(s.get("HOME"), None);
    }

    #[test]
    fn unreadable_or_invalid_file_is_an_error() {
        let missing = vec![("KAIROS_CONFIG".to_string(), "/nonexistent/kairos.toml".to_string())];
        assert!(RawSources::from_vars(missing).is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "bind = ").expect("write");
        let bad = vec![("KAIROS_CONFIG".to_string(), file.display().to_string())];
        assert!(RawSources::from_vars(bad).is_err());
    }
}
