//! The `kairos` target: the same engine quoting a Kairos paper market through the public API
//! as a market maker with an API key, priced off the Polymarket token the market mirrors (the
//! paper market's outcome whose venue token id is the token). This gives paper markets real,
//! moving liquidity; in `dev` it runs with zero setup on the recorded frames.
//!
//! - [`api`]: the signed requests and their typed answers;
//! - [`orders`]: the engine's actions as orders, amends and cancels, and the answers back;
//! - [`stream`]: the `orders` websocket channel with cancel-on-disconnect;
//! - [`run`]: the loop, its safety rules and shutdown.
//!
//! Not the hot path the bench measures: each request is an HTTP round trip to the API.

pub mod api;
pub mod orders;
pub mod run;
pub mod stream;

use base64::Engine as _;
use kairos_platform::config::QuoterSettings;

use crate::paper::api::PaperApi;
use crate::paper::orders::{PaperMarket, PaperOrders};
use crate::setup::SetupError;

/// The key id and decoded secret the quoter trades with: the settings', or in `dev` the one
/// `kairos-api` wrote for it.
pub fn api_key(settings: &QuoterSettings) -> Result<(String, Vec<u8>), SetupError> {
    let (key_id, secret) = match &settings.api_key {
        Some(key) => (key.key_id.clone(), key.secret.expose().to_string()),
        None => {
            let path = &settings.dev_account_file;
            let accounts = kairos_load::Accounts::read(path).map_err(|e| {
                SetupError(format!(
                    "no KAIROS_QUOTER__API_KEY, and no dev key to fall back to ({e}): \
                     start the API in dev first (cargo run -p kairos-api), which writes it"
                ))
            })?;
            let account = accounts
                .accounts
                .into_iter()
                .next()
                .ok_or_else(|| SetupError(format!("{}: no account in it", path.display())))?;
            (account.key_id, account.secret)
        }
    };
    let secret = base64::engine::general_purpose::URL_SAFE
        .decode(secret.trim())
        .map_err(|e| SetupError(format!("KAIROS_QUOTER__API_SECRET is not url-safe base64: {e}")))?;
    Ok((key_id, secret))
}

/// The paper market of each quoted token, in the settings' order.
pub async fn markets(api: &PaperApi, tokens: &[String]) -> Result<Vec<PaperMarket>, SetupError> {
    let mut markets = Vec::with_capacity(tokens.len());
    for token in tokens {
        let info = api
            .market_of_token(token)
            .await
            .map_err(|e| SetupError(format!("looking up the paper market of token {token}: {e}")))?
            .ok_or_else(|| {
                SetupError(format!(
                    "no open paper market mirrors token {token}: import one whose outcome's external_id is the token \
                     (kairos-api markets import FILE); dev seeds one for the recorded token"
                ))
            })?;
        markets.push(PaperMarket::new(&info, token).map_err(SetupError)?);
    }
    Ok(markets)
}

/// The client and the order book-keeping for `settings` (the run's client order ids are
/// tagged with `run`).
pub async fn connect(settings: &QuoterSettings, run: &str) -> Result<(PaperApi, PaperOrders), SetupError> {
    let (key_id, secret) = api_key(settings)?;
    let api = PaperApi::connect(&settings.api_url, &key_id, secret)
        .await
        .map_err(|e| SetupError(format!("KAIROS_QUOTER__API_URL {}: {e}", settings.api_url)))?;
    let markets = markets(&api, &settings.tokens).await?;
    Ok((api, PaperOrders::new(markets, run)))
}
