//! The engine both targets run, and the pipeline, the endpoint, the REST books and the user
//! channel that `QuoterSettings` describe for the `polymarket` target: the account from the venue's credentials (the funder as maker when
//! set), one market per token (version 3 for Protocol V2 positions, else the CLOB's current
//! version 2), the default strategy and the risk gate from the `KAIROS_QUOTER__*` settings.

use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::eth::{Address, U256};
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::http::types::ApiKeyCredentials;
use kairos_clob_client::http::{ClientConfig, ClobClient};
use kairos_clob_client::orders::Version;
use kairos_clob_client::positions;
use kairos_clob_client::ws::WsConfig;
use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_platform::config::{PolymarketCredentials, QuoterFair, QuoterSettings};

use crate::clock::{Salts, ServerClock};
use crate::engine::Engine;
use crate::order::{Account, OrderSigner, Token};
use crate::outbox::Outbox;
use crate::pipeline::Pipeline;
use crate::risk::{RiskGate, RiskLimits};
use crate::run::{Endpoint, UserChannel, Venue};
use crate::strategy::{Fair, SpreadQuoter, SpreadSettings};
use crate::wire::{L2Auth, RequestWriter};

/// Micro-units of price per price unit (0.0001).
const MICROS_PER_PRICE_UNIT: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

fn err(e: impl std::fmt::Display) -> SetupError {
    SetupError(e.to_string())
}

/// The pipeline quoting `settings.tokens` for the CLOB account of `venue`.
pub fn pipeline(
    settings: &QuoterSettings,
    venue: &PolymarketCredentials,
) -> Result<Pipeline<SpreadQuoter>, SetupError> {
    let key = Signer::from_hex(venue.private_key.expose()).map_err(err)?;
    let maker = match &venue.funder {
        Some(funder) => funder.parse::<Address>().map_err(|e| SetupError(format!("KAIROS_POLYMARKET__FUNDER: {e}")))?,
        None => key.address(),
    };
    let account = Account {
        maker,
        key,
        signature_type: venue.signature_type,
        chain_id: venue.chain_id,
        api_key: venue.api_key.expose().to_string(),
        order_type: OrderType::Gtc,
        post_only: true,
    };
    let mut signer = OrderSigner::new(&account).map_err(err)?;
    let mut tokens = Vec::with_capacity(settings.tokens.len());
    for id in &settings.tokens {
        let value = id.parse::<U256>().map_err(|e| SetupError(format!("token {id}: {e}")))?;
        let version = if positions::is_position_id(value) { Version::V3 } else { Version::V2 };
        let token = Token::new(value, settings.neg_risk, version);
        signer.add_token(&token).map_err(err)?;
        tokens.push(token);
    }
    let credentials =
        Credentials::new(venue.api_key.expose(), venue.api_secret.expose(), venue.api_passphrase.expose())
            .map_err(|e| SetupError(format!("KAIROS_POLYMARKET__API_SECRET: {e}")))?;
    let endpoint = endpoint(venue)?;
    let writer = RequestWriter::new(&endpoint.host_header(), L2Auth::new(&credentials, account.key.address()));
    let outbox = Outbox::new(signer, writer, tokens, ServerClock::default(), Salts::from_entropy());
    Pipeline::new(engine(settings)?, outbox).map_err(err)
}

/// The engine quoting `settings.tokens` (either target): the default strategy and the risk
/// gate from the `KAIROS_QUOTER__*` settings.
pub fn engine(settings: &QuoterSettings) -> Result<Engine<SpreadQuoter>, SetupError> {
    let price_units = |micros: i64| u32::try_from(micros / MICROS_PER_PRICE_UNIT).map_err(err);
    let strategy = SpreadQuoter::new(SpreadSettings {
        fair: match settings.fair {
            QuoterFair::Mid => Fair::Mid,
            QuoterFair::Microprice => Fair::Microprice,
        },
        half_spread: price_units(settings.half_spread)?,
        size: u64::try_from(settings.size).map_err(err)?,
        skew_per_share_micros: u64::try_from(settings.skew).map_err(err)?,
        max_inventory: settings.max_inventory,
    });
    let limits = RiskLimits {
        max_position: settings.max_position,
        max_notional: Collateral::from_micros(settings.max_notional),
        price_band: price_units(settings.price_band)?,
        max_orders_per_s: settings.max_orders_per_s,
    };
    let tick = price_units(settings.tick)?;
    let assets: Vec<(&str, u32)> = settings.tokens.iter().map(|t| (t.as_str(), tick)).collect();
    Ok(Engine::new(&assets, strategy, RiskGate::new(limits, TradingState::Enabled)))
}

/// Where the orders go: the venue's CLOB base URL.
pub fn endpoint(venue: &PolymarketCredentials) -> Result<Endpoint, SetupError> {
    Endpoint::parse(&venue.clob_base_url).map_err(|e| SetupError(format!("KAIROS_POLYMARKET__CLOB_BASE_URL: {e}")))
}

/// The REST books and the user channel of the venue.
pub fn venue(venue: &PolymarketCredentials) -> Result<Venue, SetupError> {
    let config =
        ClientConfig { base_url: venue.clob_base_url.clone(), timeout: venue.timeout, ..ClientConfig::default() };
    let rest = ClobClient::new(config).map_err(err)?;
    Ok(Venue { rest: Some(rest), user_channel: Some(user_channel(venue)), trading: None })
}

/// The user channel fills arrive on.
fn user_channel(venue: &PolymarketCredentials) -> UserChannel {
    UserChannel {
        config: WsConfig::new(venue.ws_url.clone()),
        credentials: ApiKeyCredentials {
            api_key: venue.api_key.expose().to_string(),
            secret: venue.api_secret.expose().to_string(),
            passphrase: venue.api_passphrase.expose().to_string(),
        },
    }
}
