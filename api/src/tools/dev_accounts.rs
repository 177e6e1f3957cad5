//! Market makers for a load run or a demo (`kairos-api dev-accounts`), made directly in the
//! database: users with the market-maker role, API keys with read and trade scopes, collateral,
//! and an open paper market, printed as `kairos-load` reads them. Refused outside `dev` and
//! `test`.

use kairos_domain::{Role, Scope};
use kairos_platform::config::Profile;
use kairos_platform::storage::{markets, users};

use crate::state::AppState;
use kairos_load::{Account, Accounts};

pub async fn create(state: &AppState, makers: usize, credit_micros: i64) -> Result<Accounts, String> {
    if !matches!(state.settings().core.profile, Profile::Dev | Profile::Test) {
        return Err("dev accounts are made only in the dev and test profiles".to_string());
    }
    let mut market = crate::tools::seed::binary("load-test", "Load test market (paper)");
    market.external_id = Some("load:paper".to_string());
    market.description = "Made by kairos-api dev-accounts for load runs.".to_string();
    let (market, _) = markets::upsert(state.db(), &market).await.map_err(|e| e.to_string())?;
    let mut accounts = Vec::with_capacity(makers);
    for i in 0..makers {
        let wallet = bs58::encode(rand::random::<[u8; 32]>()).into_string();
        let (user, _) =
            users::get_or_create_by_wallet(state.db(), &wallet, Role::MarketMaker).await.map_err(|e| e.to_string())?;
        let (key, secret) = crate::http::routes::api_keys::create_key(
            state,
            &user.id,
            &format!("load-{i}"),
            &[Scope::Read, Scope::Trade],
            None,
            "cli",
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        crate::http::routes::balances::credit(state, &user.id, credit_micros, "credit", "cli", "dev-accounts")
            .await
            .map_err(|e| e.to_string())?;
        accounts.push(Account { user_id: user.id, key_id: key.id, secret });
    }
    Ok(Accounts { market_id: market.id, accounts })
}
