//! What `kairos-quoter` needs to run with zero setup beside a `dev` server: a paper market that
//! mirrors the Polymarket market of the quoter's recorded frames (its YES outcome names the
//! recorded token, which is how the quoter finds it), and a market maker with collateral and an
//! API key, written to `KAIROS_DATA_DIR/dev-quoter.json` in the form `kairos-api dev-accounts`
//! prints (the data directory is git-ignored). The server does this at each start in `dev`
//! (keeping what is there); tests call it in `test`.

use std::path::Path;

use kairos_domain::{MarketStatus, Role, Scope, Venue};
use kairos_load::{Account, Accounts};
use kairos_platform::config::{DEV_QUOTER_ACCOUNT_FILE, Profile, RECORDED_TOKEN};
use kairos_platform::storage::{Db, StorageError, api_keys, markets, users};

use crate::state::AppState;

/// The mirror's external id on the paper venue.
pub const MIRROR_EXTERNAL_ID: &str = "sample:polymarket-mirror";

/// The dev market maker's wallet: fixed bytes, not a key anyone holds (it only names the user,
/// so every start finds the same one).
const WALLET_BYTES: &[u8; 32] = b"kairos-dev-quoter-market-maker!!";

/// Collateral the dev market maker starts with: 100,000 USDC.
const CREDIT_MICROS: i64 = 100_000_000_000;

/// Adds the mirror market when it is missing (never resetting one an operator changed).
pub async fn seed_mirror(db: &Db) -> Result<(), StorageError> {
    let all = markets::all(db).await?;
    if all.iter().any(|m| m.venue == Venue::Paper && m.external_id.as_deref() == Some(MIRROR_EXTERNAL_ID)) {
        return Ok(());
    }
    let mut mirror = crate::tools::seed::binary(
        "sample-polymarket-mirror",
        "Paper mirror of the Polymarket market in kairos-quoter's recorded frames",
    );
    mirror.external_id = Some(MIRROR_EXTERNAL_ID.to_string());
    mirror.description =
        "Seeded by the dev profile: kairos-quoter quotes it, priced off the Polymarket token its YES outcome names."
            .to_string();
    mirror.status = MarketStatus::Open;
    mirror.outcomes[0].external_id = Some(RECORDED_TOKEN.to_string());
    markets::upsert(db, &mirror).await?;
    tracing::info!("dev: seeded the paper mirror kairos-quoter quotes");
    Ok(())
}

/// Makes sure `dir/dev-quoter.json` names a live key of the dev market maker; writes a new
/// one (with a fresh key and collateral) when it does not.
pub async fn provision(state: &AppState, dir: &Path) -> Result<(), String> {
    if !matches!(state.settings().core.profile, Profile::Dev | Profile::Test) {
        return Err("the dev quoter's account is made only in the dev and test profiles".to_string());
    }
    let path = dir.join(DEV_QUOTER_ACCOUNT_FILE);
    let db = state.db();
    let market = markets::all(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|m| m.venue == Venue::Paper && m.external_id.as_deref() == Some(MIRROR_EXTERNAL_ID))
        .ok_or("the mirror market is missing")?;
    if let Ok(existing) = Accounts::read(&path)
        && let Some(account) = existing.accounts.first()
        && let Ok(Some(key)) = api_keys::get(db, &account.key_id).await
        && key.revoked_at_us.is_none()
        && key.user_id == account.user_id
        && existing.market_id == market.id
    {
        return Ok(());
    }
    let wallet = bs58::encode(WALLET_BYTES).into_string();
    let (user, _) = users::get_or_create_by_wallet(db, &wallet, Role::MarketMaker).await.map_err(|e| e.to_string())?;
    let (key, secret) = crate::http::routes::api_keys::create_key(
        state,
        &user.id,
        "dev-quoter",
        &[Scope::Read, Scope::Trade],
        None,
        "dev",
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    crate::http::routes::balances::credit(state, &user.id, CREDIT_MICROS, "credit", "dev", "dev-quoter")
        .await
        .map_err(|e| e.to_string())?;
    let accounts =
        Accounts { market_id: market.id, accounts: vec![Account { user_id: user.id, key_id: key.id, secret }] };
    write_private(&path, &serde_json::to_vec_pretty(&accounts).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::info!(file = %path.display(), "dev: wrote the market maker kairos-quoter trades as");
    Ok(())
}

/// The file holds a secret: readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // The mode applies only to a new file: an older one is narrowed too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    std::io::Write::write_all(&mut file, bytes)
}
