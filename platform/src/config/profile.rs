//! The profile, the storage mode and the log format: what every binary is told first.

use std::str::FromStr;

/// Deployment profile. `dev` and `test` are "local": they get defaults and generated secrets;
/// `staging` and `prod` get neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Test,
    Staging,
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Test => "test",
            Profile::Staging => "staging",
            Profile::Prod => "prod",
        }
    }

    pub fn is_local(self) -> bool {
        matches!(self, Profile::Dev | Profile::Test)
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Profile::Dev),
            "test" => Ok(Profile::Test),
            "staging" => Ok(Profile::Staging),
            "prod" => Ok(Profile::Prod),
            other => Err(format!("unknown profile {other:?}; expected dev, test, staging or prod")),
        }
    }
}

/// What to do when a store (database, Redis) is missing or unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    /// Refuse to start, and report not ready, without every store.
    Strict,
    /// Keep serving on in-process fallbacks, and say so in `/ready` and in metrics.
    Degraded,
}

impl StorageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::Strict => "strict",
            StorageMode::Degraded => "degraded",
        }
    }
}

impl FromStr for StorageMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(StorageMode::Strict),
            "degraded" => Ok(StorageMode::Degraded),
            other => Err(format!("unknown storage mode {other:?}; expected strict or degraded")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("unknown log format {other:?}; expected json or pretty")),
        }
    }
}
