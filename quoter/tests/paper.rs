//! The `kairos` target against a running API, as in dev with zero setup: the server's dev
//! provisioning writes the market maker's key, the quoter finds the mirror market by the
//! recorded token, quotes both sides from the recorded frames, amends as the book moves, takes
//! a taker's fill into its inventory, stops placing when the kill switch goes to cancel-only,
//! and cancels everything on shutdown.

use std::path::Path;
use std::time::Duration;

use kairos_api::http::server;
use kairos_domain::{Role, TradingState};
use kairos_platform::config::{ApiSettings, DEV_QUOTER_ACCOUNT_FILE, RawSources, load_api_from, load_quoter_from};
use kairos_platform::storage::{scratch, settings as stored_settings, users};
use kairos_quoter::feed::{self, Feed};
use kairos_quoter::{paper, setup};
use serde_json::{Value, json};

fn api_settings(db_url: &str, data: &Path) -> ApiSettings {
    let mut vars: Vec<(String, String)> = [
        ("KAIROS_PROFILE", "test"),
        ("KAIROS_BIND", "127.0.0.1:0"),
        ("KAIROS_METRICS_BIND", "127.0.0.1:0"),
        ("KAIROS_DATABASE_MAX_CONNECTIONS", "4"),
        ("KAIROS_JWT_SECRET", "test-jwt-secret-Zq8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0"),
        ("KAIROS_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
    .collect();
    vars.push(("KAIROS_DATABASE_URL".into(), db_url.to_string()));
    vars.push(("KAIROS_DATA_DIR".into(), data.display().to_string()));
    let (settings, problems) = load_api_from(&RawSources::from_vars(vars).expect("sources"));
    assert!(problems.is_empty(), "{problems:?}");
    settings
}

async fn book(client: &reqwest::Client, base: &str, market: &str) -> Value {
    let res = client.get(format!("{base}/v1/markets/{market}/book")).send().await.expect("book");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

#[tokio::test]
async fn the_kairos_target_places_amends_takes_fills_halts_and_cancels_through_a_running_api() {
    // The quoter's own log, shown when the test fails.
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("kairos_quoter=debug,warn").try_init();
    let db = scratch::sqlite();
    let data = tempfile::tempdir().expect("data dir");
    let running = server::start(api_settings(&db.url, data.path())).await.expect("the API starts");
    let base = format!("http://{}", running.addr);
    let state = running.state.clone();

    // What a dev server does at start: the mirror market and the market maker's key file,
    // which a second start keeps.
    kairos_api::tools::dev_quoter::seed_mirror(state.db()).await.expect("mirror");
    kairos_api::tools::dev_quoter::provision(&state, data.path()).await.expect("account");
    let file = data.path().join(DEV_QUOTER_ACCOUNT_FILE);
    let written = std::fs::read_to_string(&file).expect("key file");
    kairos_api::tools::dev_quoter::seed_mirror(state.db()).await.expect("mirror again");
    kairos_api::tools::dev_quoter::provision(&state, data.path()).await.expect("account again");
    assert_eq!(std::fs::read_to_string(&file).expect("key file"), written, "a second start keeps the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is its owner's only: {mode:o}");
    }

    // The quoter's dev settings: no key given, so the file's.
    let vars = vec![
        ("KAIROS_PROFILE".to_string(), "dev".to_string()),
        ("KAIROS_DATA_DIR".to_string(), data.path().display().to_string()),
        ("KAIROS_QUOTER__API_URL".to_string(), base.clone()),
        ("KAIROS_QUOTER__HEARTBEAT_MS".to_string(), "1000".to_string()),
    ];
    let (settings, problems) = load_quoter_from(&RawSources::from_vars(vars).expect("sources"));
    assert!(problems.is_empty(), "{problems:?}");
    let mut engine = setup::engine(&settings).expect("engine");
    // The catalog is refreshed twice a second: the mirror appears within one.
    let mut tries = 0;
    let (api, mut orders) = loop {
        match paper::connect(&settings, "t").await {
            Ok(connected) => break connected,
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!(error = %e, "not yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the quoter cannot start on the API: {e}"),
        }
    };
    let market = orders.markets()[0].market_id.clone();
    assert_eq!(orders.markets()[0].outcome, 0, "the recorded token is the mirror's YES");

    // The recorded book (best 0.40 / 0.55) and its bid moving 0.40 → 0.41 and back.
    let mut feed = Feed::recorded(feed::BUILT_IN, Duration::from_millis(100)).expect("feed");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let quoting = paper::run::run(&mut engine, &api, &mut orders, &mut feed, Duration::from_millis(1_000), async {
        let _ = stopped.await;
    });
    let client = reqwest::Client::new();
    let checks = async {
        // Both sides rest: mid 0.475 ± 0.01 gives a bid at 0.46 or 0.47 and an ask at 0.49
        // (a NO bid at 0.51, which the binary book shows as a YES ask).
        let mut quoted = Value::Null;
        for _ in 0..100 {
            quoted = book(&client, &base, &market).await;
            if quoted["bids"].as_array().is_some_and(|b| !b.is_empty())
                && quoted["asks"].as_array().is_some_and(|a| !a.is_empty())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(quoted["asks"][0]["price"], "0.49", "{quoted}");
        assert_eq!(quoted["asks"][0]["size"], "10", "{quoted}");
        let bid = quoted["bids"][0]["price"].as_str().unwrap_or_default().to_string();
        assert!(bid == "0.46" || bid == "0.47", "{quoted}");

        // A taker buys 2 YES at 0.49: the quoter's ask fills by 2.
        let wallet = bs58_wallet();
        let (taker, _) = users::get_or_create_by_wallet(state.db(), &wallet, Role::User).await.expect("taker");
        kairos_api::http::routes::balances::credit(&state, &taker.id, 100_000_000, "credit", "test", "taker")
            .await
            .expect("credit");
        let token = state.jwt().issue(&taker.id, Role::User, kairos_domain::now_us() / 1_000_000).expect("jwt").0;
        let order = json!({ "market_id": market, "outcome": 0, "side": "buy", "price": "0.49", "size": "2",
                            "time_in_force": "ioc", "client_order_id": "taker-1" });
        let res = client.post(format!("{base}/v1/orders")).bearer_auth(&token).json(&order).send().await.expect("take");
        let taken: Value = res.json().await.expect("json");
        assert_eq!(taken["filled_size"], "2", "{taken}");

        // Watch the quoter amend the bid as the recorded book moves, then flip the kill switch
        // to cancel-only: the next amend or place is refused and the quoter stops placing.
        tokio::time::sleep(Duration::from_millis(800)).await;
        stored_settings::put(state.db(), TradingState::SETTINGS_KEY, TradingState::CancelOnly.as_str())
            .await
            .expect("kill switch");
        state.runtime().reload(state.db()).await.expect("reload");
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let _ = stop.send(());
    };
    let (summary, ()) = tokio::join!(quoting, checks);
    let summary = summary.expect("the run ends cleanly");
    assert!(summary.placed >= 2, "{summary:?}");
    assert!(summary.amended >= 1, "the bid moved with the book: {summary:?}");
    assert!(summary.fills >= 1 && summary.refused >= 1, "{summary:?}");
    assert_eq!(engine.markets()[0].inventory, -2_000_000, "2 shares sold through the NO bid");
    assert_ne!(engine.gate().trading, TradingState::Enabled, "the kill switch stopped new orders");

    // Shutdown cancelled every order (cancels pass the kill switch): the book is empty.
    let after = book(&client, &base, &market).await;
    assert_eq!(
        (after["bids"].as_array().map(Vec::len), after["asks"].as_array().map(Vec::len)),
        (Some(0), Some(0)),
        "{after}"
    );
    running.shutdown();
    running.wait().await.expect("clean shutdown");
}

/// A wallet address no one else in the test uses.
fn bs58_wallet() -> String {
    // The public key of the ed25519 seed [1; 32], as the CI's schemathesis admin uses.
    "AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9".to_string()
}
