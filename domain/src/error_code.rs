//! Every error code the API answers with, in one enum: the stable strings clients branch on
//! (`{"error":{"code",…}}` and the streams' `{"type":"error","code",…}`). The domain's refusals
//! and rejections give theirs from here too, so a code is spelled once; the OpenAPI document
//! lists them all as the enum of `ErrorDetail.code`.

use std::fmt;

macro_rules! error_codes {
    ($($variant:ident => $text:literal,)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)+
                }
            }
        }
    };
}

error_codes! {
    AlreadyApproved => "already_approved",
    AlreadyRevoked => "already_revoked",
    AmendNotSupported => "amend_not_supported",
    AmountOutOfRange => "amount_out_of_range",
    ApprovalClosed => "approval_closed",
    ApprovalExpired => "approval_expired",
    BadRequest => "bad_request",
    CancelOnly => "cancel_only",
    ChainUnavailable => "chain_unavailable",
    ChallengeExpired => "challenge_expired",
    ChallengeUsed => "challenge_used",
    ClientOrderIdReused => "client_order_id_reused",
    Conflict => "conflict",
    DatabaseUnavailable => "database_unavailable",
    EmptyAmend => "empty_amend",
    ExpiresAtInPast => "expires_at_in_past",
    ExposureLimit => "exposure_limit",
    FaucetDisabled => "faucet_disabled",
    IncompleteSignatureHeaders => "incomplete_signature_headers",
    InsufficientBalance => "insufficient_balance",
    InsufficientRole => "insufficient_role",
    InsufficientScope => "insufficient_scope",
    Internal => "internal",
    InvalidAmount => "invalid_amount",
    InvalidBatch => "invalid_batch",
    InvalidBook => "invalid_book",
    InvalidChallenge => "invalid_challenge",
    InvalidClientOrderId => "invalid_client_order_id",
    InvalidContentType => "invalid_content_type",
    InvalidCursor => "invalid_cursor",
    InvalidExpiresAt => "invalid_expires_at",
    InvalidFlag => "invalid_flag",
    InvalidId => "invalid_id",
    InvalidIds => "invalid_ids",
    InvalidInstanceSignature => "invalid_instance_signature",
    InvalidIpAllowlist => "invalid_ip_allowlist",
    InvalidJson => "invalid_json",
    InvalidLabel => "invalid_label",
    InvalidMarketId => "invalid_market_id",
    InvalidMarketStatus => "invalid_market_status",
    InvalidMessage => "invalid_message",
    InvalidOutcome => "invalid_outcome",
    InvalidPath => "invalid_path",
    InvalidPostOnly => "invalid_post_only",
    InvalidPrice => "invalid_price",
    InvalidQuery => "invalid_query",
    InvalidRefreshToken => "invalid_refresh_token",
    InvalidRequest => "invalid_request",
    InvalidScopes => "invalid_scopes",
    InvalidSignature => "invalid_signature",
    InvalidSignatureFormat => "invalid_signature_format",
    InvalidSize => "invalid_size",
    InvalidTimeInForce => "invalid_time_in_force",
    InvalidTerms => "invalid_terms",
    InvalidTimeout => "invalid_timeout",
    InvalidTimestamp => "invalid_timestamp",
    InvalidToken => "invalid_token",
    InvalidTokenSignature => "invalid_token_signature",
    InvalidWallet => "invalid_wallet",
    IpNotAllowed => "ip_not_allowed",
    KeyOwnerRole => "key_owner_role",
    KeysNotAllowed => "keys_not_allowed",
    MarketMoved => "market_moved",
    MarketNotMatchedHere => "market_not_matched_here",
    MarketNotOpen => "market_not_open",
    MarketNotTradable => "market_not_tradable",
    MarketResolved => "market_resolved",
    MethodNotAllowed => "method_not_allowed",
    MissingCredentials => "missing_credentials",
    MissingExpiresAt => "missing_expires_at",
    NotAPaperMarket => "not_a_paper_market",
    NotAWebsocket => "not_a_websocket",
    NotFound => "not_found",
    OrderGroupFrozen => "order_group_frozen",
    OrderNotFound => "order_not_found",
    OrderNotLive => "order_not_live",
    OrderNotionalTooLarge => "order_notional_too_large",
    OwnRequest => "own_request",
    PayloadTooLarge => "payload_too_large",
    PriceOffTick => "price_off_tick",
    PriceOutOfRange => "price_out_of_range",
    PriceOutsideBand => "price_outside_band",
    ProposalClosed => "proposal_closed",
    ProposalExpired => "proposal_expired",
    RateLimited => "rate_limited",
    RefreshTokenExpired => "refresh_token_expired",
    RefreshTokenReused => "refresh_token_reused",
    RefreshTokenRevoked => "refresh_token_revoked",
    ReplayedInstanceSignature => "replayed_instance_signature",
    ReplayedSignature => "replayed_signature",
    RevokedKey => "revoked_key",
    RoleChanged => "role_changed",
    SizeBelowFilled => "size_below_filled",
    SizeBelowMinimum => "size_below_minimum",
    SizeOffLot => "size_off_lot",
    SlowConsumer => "slow_consumer",
    StaleTimestamp => "stale_timestamp",
    SuspendedUser => "suspended_user",
    Timeout => "timeout",
    TokenExpired => "token_expired",
    TooManyKeys => "too_many_keys",
    TooManyOpenOrders => "too_many_open_orders",
    TradingDisabled => "trading_disabled",
    Unavailable => "unavailable",
    UnexpectedExpiresAt => "unexpected_expires_at",
    UnknownKey => "unknown_key",
    UnknownKid => "unknown_kid",
    UnknownMarket => "unknown_market",
    UnknownUser => "unknown_user",
    UnsupportedAlgorithm => "unsupported_algorithm",
    UnsupportedMediaType => "unsupported_media_type",
    VenueDisabled => "venue_disabled",
    VenueHeartbeatLost => "venue_heartbeat_lost",
    VenueRateLimited => "venue_rate_limited",
    VenueUnavailable => "venue_unavailable",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{text}");
            assert!(seen.insert(text), "{text} twice");
        }
    }
}
