//! One error type for the circuit crate and the `flash` CLI, with a stable code per kind.

#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    /// The caller's input is wrong (bad hex, wrong length, a rule that does not validate…).
    #[error("{0}")]
    Input(String),
    /// Key files are missing, corrupt, or not the circuit's.
    #[error("{0}")]
    Keys(String),
    #[error("proving failed: {0}")]
    Proving(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CircuitError {
    pub fn input(msg: impl Into<String>) -> Self {
        Self::Input(msg.into())
    }

    pub fn keys(msg: impl Into<String>) -> Self {
        Self::Keys(msg.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Input(_) => "invalid_input",
            Self::Keys(_) => "invalid_keys",
            Self::Proving(_) => "proving_failed",
            Self::Io(_) => "io",
        }
    }
}
