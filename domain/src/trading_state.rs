//! The kill switch: whether orders are accepted. Lives in the settings table under
//! [`TradingState::SETTINGS_KEY`] so every instance sees one value.

use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradingState {
    Enabled,
    /// Only cancels are accepted, so market makers can always pull quotes.
    CancelOnly,
    Disabled,
}

impl TradingState {
    pub const SETTINGS_KEY: &'static str = "trade_enabled";

    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Enabled => "enabled",
            TradingState::CancelOnly => "cancel_only",
            TradingState::Disabled => "disabled",
        }
    }
}

impl FromStr for TradingState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enabled" => Ok(TradingState::Enabled),
            "cancel_only" => Ok(TradingState::CancelOnly),
            "disabled" => Ok(TradingState::Disabled),
            other => Err(format!("unknown trading state {other:?}")),
        }
    }
}
