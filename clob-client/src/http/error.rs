//! What can go wrong talking to a CLOB, keeping the HTTP status and Polymarket's own message.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClobError {
    /// The CLOB answered with an error status; `message` is its `error` field (or the body).
    #[error("CLOB answered {status}: {message}")]
    Status { status: u16, message: String, code: Option<String>, retry_after: Option<Duration> },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach the CLOB: {0}")]
    Transport(String),
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error("this call needs L2 credentials and a signer address")]
    NoCredentials,
}

impl ClobError {
    /// The server refused an order signed for another exchange version.
    pub fn is_version_mismatch(&self) -> bool {
        matches!(self, ClobError::Status { message, .. } if message.contains("order_version_mismatch"))
    }

    /// Whether the same request may be tried again (for requests that are safe to repeat).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClobError::Status { status, .. } => matches!(status, 425 | 429 | 500 | 502 | 503 | 504),
            ClobError::Timeout(_) | ClobError::Transport(_) => true,
            ClobError::Decode(_) | ClobError::NoCredentials => false,
        }
    }

    /// Whether the request may have reached the CLOB and been applied although no answer came
    /// back (a submit in this state is reconciled before anything is sent again).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ClobError::Timeout(_) => true,
            ClobError::Transport(_) => true,
            ClobError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
