//! Every variable Kairos reads, declared once. The table drives the unknown-variable warning,
//! `config check`'s description (each binary's [`describe`](super::ApiSettings::describe) walks
//! it), `.env.example` ([`env_example`]) and the README's table ([`readme_table`]); the tests
//! check that the parser reads exactly these names and that both files are what the table
//! gives (`KAIROS_REGENERATE=1 cargo test -p kairos-platform config::` rewrites them).

/// Which binaries read a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    /// Every binary: profile, storage, logs, telemetry.
    All,
    /// `kairos-api` only: `kairos-keepers` starts without these.
    Api,
    /// `kairos-keepers` only.
    Keepers,
    /// `kairos-quoter` only.
    Quoter,
}

impl ReadBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadBy::All => "all",
            ReadBy::Api => "api",
            ReadBy::Keepers => "keepers",
            ReadBy::Quoter => "quoter",
        }
    }
}

/// One variable.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub read_by: ReadBy,
    /// Redacted wherever settings are shown.
    pub secret: bool,
    /// The default as the README shows it (per profile where it differs).
    pub default: &'static str,
    /// The value `.env.example` shows; `commented` leaves it as a commented-out line.
    pub example: &'static str,
    pub commented: bool,
    /// One line: what it does.
    pub about: &'static str,
}

const fn v(
    name: &'static str,
    read_by: ReadBy,
    default: &'static str,
    example: &'static str,
    about: &'static str,
) -> Variable {
    Variable { name, read_by, secret: false, default, example, commented: false, about }
}

const fn commented(v: Variable) -> Variable {
    Variable { commented: true, ..v }
}

const fn secret(v: Variable) -> Variable {
    Variable { secret: true, ..v }
}

use ReadBy::{All, Api, Keepers, Quoter};

/// The rate-limit variables, one per class and principal kind: a family, not a name.
pub const RATE_LIMIT_FAMILY: &str = "KAIROS_RATE_LIMITS__<CLASS>__<KIND>";

pub const VARIABLES: &[Variable] = &[
    v(
        "KAIROS_PROFILE",
        All,
        "`dev`",
        "prod",
        "Profile: `dev`, `test`, `staging` or `prod`; `prod` and `staging` get no defaults for secrets and fail closed.",
    ),
    commented(v(
        "KAIROS_CONFIG",
        All,
        "unset: no file",
        "/etc/kairos/kairos.toml",
        "A TOML file the environment adds to (environment variables win).",
    )),
    v(
        "KAIROS_DATABASE_URL",
        All,
        "`sqlite:data/kairos-<profile>.db` in dev/test; **required** otherwise",
        "postgres://kairos:change-me@127.0.0.1:5432/kairos",
        "`sqlite:PATH` or `postgres://…` (compose points it at its postgres service).",
    ),
    v("KAIROS_DATABASE_MAX_CONNECTIONS", All, "16", "10", "Connections in the database pool."),
    v(
        "KAIROS_REDIS_URL",
        All,
        "unset; **required in strict mode**",
        "redis://127.0.0.1:6379",
        "Redis, for shared rate limits, replay guards and caches.",
    ),
    v(
        "KAIROS_STORAGE_MODE",
        All,
        "`degraded` in dev/test, `strict` otherwise",
        "strict",
        "`strict`: refuse to start (and report not ready) without every store; `degraded`: serve on, and say so in `/ready` and metrics.",
    ),
    v(
        "KAIROS_METRICS_BIND",
        All,
        "`127.0.0.1:9090`",
        "127.0.0.1:9090",
        "The Prometheus listener (compose: 0.0.0.0:9090 inside the container, not published).",
    ),
    v(
        "KAIROS_LOG",
        All,
        "`info`",
        "info",
        "Tracing filter (`info`, `info,kairos_api=debug`); the API reloads it on SIGHUP.",
    ),
    v("KAIROS_LOG_FORMAT", All, "`pretty` in dev, `json` otherwise", "json", "`json` or `pretty`."),
    v(
        "KAIROS_DATA_DIR",
        All,
        "`data`",
        "data",
        "Local state (SQLite files, generated dev secrets), relative to the working directory (image: /var/lib/kairos/data).",
    ),
    v("KAIROS_SHUTDOWN_GRACE_MS", All, "30000", "10000", "How long in-flight work may finish on SIGTERM."),
    commented(v(
        "KAIROS_TIME__NTP_SERVERS",
        All,
        "unset: preflight warns in dev/test and fails otherwise",
        "time.cloudflare.com:123,pool.ntp.org:123",
        "NTP servers preflight measures the clock against, comma-separated `host:port`.",
    )),
    v(
        "KAIROS_TIME__MAX_DRIFT_MS",
        All,
        "1000",
        "1000",
        "The clock drift preflight accepts; signed requests and token expiry rely on the clock.",
    ),
    commented(v(
        "KAIROS_SOLANA__RPC_URL",
        All,
        "unset: no chain configured",
        "https://api.mainnet-beta.solana.com",
        "Solana JSON-RPC endpoint (probed with `getSlot` and `getLatestBlockhash`).",
    )),
    commented(v(
        "KAIROS_SOLANA__WS_URL",
        All,
        "unset: no chain websocket",
        "wss://api.mainnet-beta.solana.com",
        "Solana websocket endpoint: the keepers subscribe to their transactions' signatures and to the flash program's accounts (chain-sync) instead of polling for them; unset, they poll. Probed with a slot subscription.",
    )),
    commented(v(
        "KAIROS_SOLANA__CLUSTER",
        All,
        "`localnet` in dev/test; `mainnet-beta` otherwise",
        "mainnet-beta",
        "The cluster's name as wallets know it (mainnet-beta, devnet, testnet, localnet), shown in `GET /v1/flash/config`.",
    )),
    v(
        "KAIROS_BACKUP__URL",
        All,
        "unset: no backups (the keepers' `backup` job needs it outside dev/test)",
        "file:///var/lib/kairos/backups",
        "Where backups go: `file:///dir`, or off-site `s3://bucket/prefix` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL for other S3-compatible stores).",
    ),
    v(
        "KAIROS_BACKUP__AGE_RECIPIENT",
        All,
        "unset (the `backup` job needs it outside dev/test)",
        "change-me",
        "The age public key (age1…, `age-keygen -y identity.txt`) every backup is encrypted to; the identity (private key) stays off the database host.",
    ),
    commented(v(
        "KAIROS_BACKUP__AGE_IDENTITY_FILE",
        All,
        "unset (restores need it)",
        "/etc/kairos/backup-identity.txt",
        "The age identity file `kairos-api restore` decrypts with; refused unless readable by its owner only.",
    )),
    v(
        "KAIROS_FLASH__PRICE_FEED",
        All,
        "`simulated` in dev/test; unset in staging/prod",
        "https://api.coingecko.com/api/v3/simple/price",
        "The flash oracle's price feed: the URL of a CoinGecko-format `simple/price` endpoint (probed), or `simulated` (a seeded random walk, refused outside dev/test).",
    ),
    commented(secret(v(
        "KAIROS_FLASH__PRICE_FEED_API_KEY",
        All,
        "unset",
        "change-me",
        "The feed's API key: sent as `x-cg-pro-api-key` to pro-api.coingecko.com, as `x-cg-demo-api-key` elsewhere.",
    ))),
    commented(v(
        "KAIROS_FLASH__PRICE_FEED_VS_CURRENCY",
        All,
        "`usd`",
        "usd",
        "The currency feed prices are quoted in (`vs_currencies`).",
    )),
    commented(v(
        "KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE",
        All,
        "50",
        "50",
        "At most this many calls to the feed per minute, one at a time (burst of 1), whatever the number of markets.",
    )),
    commented(v(
        "KAIROS_FLASH__PRICE_FEED_CACHE_S",
        All,
        "30",
        "30",
        "How long a fetched price is reused; a price older than a market's tick interval is never a tick.",
    )),
    commented(v("KAIROS_FLASH__PRICE_FEED_SEED", All, "1", "1", "The simulated feed's seed (dev/test).")),
    commented(v(
        "KAIROS_FLASH__PROGRAM_ID",
        All,
        "`F1ashBets1111111111111111111111111111111111`",
        "F1ashBets1111111111111111111111111111111111",
        "The flash-bets program's address.",
    )),
    commented(v(
        "KAIROS_FLASH__CIRCUIT_ID",
        All,
        "1",
        "1",
        "The verifying key's slot on chain (`SetVerifyingKey`) that new markets are proved against.",
    )),
    commented(v(
        "KAIROS_FLASH__TICKS",
        All,
        "16",
        "16",
        "Ticks per market: the size of the circuit its keys were made for.",
    )),
    commented(v(
        "KAIROS_FLASH__RESOLVE_WINDOW_S",
        All,
        "120",
        "120",
        "Seconds between a market's last tick and its deadline: time to lock, prove, resolve and confirm.",
    )),
    commented(v(
        "KAIROS_FLASH__ORACLE_KEYPAIR_FILE",
        All,
        "`<KAIROS_DATA_DIR>/flash-oracle.dev.json` in dev/test (made on first use); unset otherwise",
        "/etc/kairos/flash-oracle.json",
        "The flash oracle's keypair (Solana's JSON array of 64 bytes), outside git; refused unless mode 0600.",
    )),
    commented(v(
        "KAIROS_FLASH__PROVING_KEY_DIR",
        All,
        "`<KAIROS_DATA_DIR>/flash-keys.dev` in dev/test (`kairos-api` makes a single-party dev key there); unset otherwise",
        "/var/lib/kairos/flash-keys",
        "The ceremony's key directory (`flash setup`/`contribute`: `proving_key.bin`, `ceremony.json`) `flash-oracle` proves with; outside git. Its verifying key must be the one stored on chain for KAIROS_FLASH__CIRCUIT_ID.",
    )),
    commented(v(
        "KAIROS_FLASH__MAX_PRIORITY_FEE_MICRO_LAMPORTS",
        All,
        "100000",
        "100000",
        "The cap on the compute-unit price (from `getRecentPrioritizationFees`) in wallets' and keepers' transactions.",
    )),
    v(
        "KAIROS_BIND",
        Api,
        "`127.0.0.1:8080` in dev/test; **required** otherwise",
        "127.0.0.1:8080",
        "The API listener (compose sets 0.0.0.0:8080 inside the container); dev/test refuse a non-loopback address.",
    ),
    v(
        "KAIROS_INTERNAL_BIND",
        Api,
        "`127.0.0.1:0` (a free loopback port)",
        "10.0.0.11:8081",
        "The listener other API instances forward paper requests to; keep it on a private network.",
    ),
    secret(v(
        "KAIROS_JWT_SECRET",
        Api,
        "generated into `data/secrets.<profile>.toml` in dev/test; **required** otherwise",
        "change-me",
        "Signs session tokens: at least 32 random bytes, no placeholder (`openssl rand -base64 48`).",
    )),
    secret(commented(v(
        "KAIROS_JWT_SECRET_PREVIOUS",
        Api,
        "unset",
        "",
        "The secret being rotated out: tokens it signed still verify until they expire.",
    ))),
    secret(v(
        "KAIROS_MASTER_KEY",
        All,
        "generated, as above, in dev/test; **required** otherwise (by `kairos-keepers` while `flash-oracle` is on)",
        "change-me",
        "Seals API key secrets and flash markets' commitment salts at rest: 32 bytes in base64, either alphabet (`openssl rand -base64 32`).",
    )),
    secret(commented(v(
        "KAIROS_MASTER_KEY_PREVIOUS",
        All,
        "unset",
        "",
        "The master key being rotated out: key secrets it encrypted still decrypt until `kairos-api api-keys reencrypt` moves them to KAIROS_MASTER_KEY; flash salts it sealed open while it is set, so remove it only once no market sealed under it is still open or locked (a deadline after the rotation began).",
    ))),
    v(
        "KAIROS_SIGNATURE_WINDOW_MS",
        Api,
        "5000",
        "5000",
        "How far a signed request's timestamp may be from the server clock.",
    ),
    v(
        "KAIROS_SIGNATURE_LEGACY_FORM",
        Api,
        "`false`",
        "false",
        "Also accept the old, ambiguous signature form (timestamp+METHOD+path+body, no separators): for one release.",
    ),
    v(
        "KAIROS_KILL_SWITCH__APPROVALS",
        Api,
        "2",
        "2",
        "Operators needed to re-enable trading (M of the M-of-N kill switch).",
    ),
    v("KAIROS_KILL_SWITCH__WINDOW_SECS", Api, "900", "900", "How long a kill-switch proposal collects approvals."),
    v(
        "KAIROS_CREDIT__APPROVAL_ABOVE",
        Api,
        "10000",
        "10000",
        "A credit above this (collateral units), or any credit to oneself, waits for the kill switch's M operators.",
    ),
    v("KAIROS_API_KEYS__MAX_PER_USER", Api, "10", "10", "Live API keys one user may hold."),
    commented(v(
        "KAIROS_TRUSTED_PROXIES",
        Api,
        "empty",
        "10.0.0.0/24",
        "Addresses or CIDRs of the load balancers, comma-separated: only from them is the client read from `Forwarded`/`X-Forwarded-For`, right to left.",
    )),
    commented(v(
        RATE_LIMIT_FAMILY,
        Api,
        "read 20/50/100/200, trade 1/10/50/100, cancel 1/50/200/400, auth 5/10/10/20",
        "100",
        "Requests per second. CLASS `READ`, `TRADE`, `CANCEL`, `AUTH`; KIND `ANONYMOUS`, `USER`, `KEY`, and `ACCOUNT` (every token and key of one user together, on top of their own); a batch spends one `TRADE` per order; reloaded on SIGHUP.",
    )),
    v("KAIROS_REQUEST_TIMEOUT_MS", Api, "10000", "10000", "Per-request timeout."),
    v("KAIROS_BODY_LIMIT_BYTES", Api, "1048576", "1048576", "Largest request body."),
    v(
        "KAIROS_CORS_ORIGINS",
        Api,
        "`*` in dev/test, none otherwise",
        "http://localhost:3000",
        "Allowed CORS origins, comma-separated; `*` allows any.",
    ),
    v("KAIROS_PAPER__MAKER_FEE_BPS", Api, "0", "0", "Paper venue maker fee, basis points of the notional (0–1000)."),
    v("KAIROS_PAPER__TAKER_FEE_BPS", Api, "0", "0", "Paper venue taker fee, basis points of the notional (0–1000)."),
    v(
        "KAIROS_RISK__MAX_ORDER_NOTIONAL",
        Api,
        "100000",
        "100000",
        "Largest order notional in collateral units; 0 turns it off.",
    ),
    v("KAIROS_RISK__MAX_OPEN_ORDERS", Api, "1000", "1000", "Open orders per account; 0 turns it off."),
    v(
        "KAIROS_RISK__PRICE_BAND",
        Api,
        "0.5",
        "0.5",
        "How far (units) from the mid or last trade an order may be priced; 0 turns it off.",
    ),
    v(
        "KAIROS_RISK__MAX_MARKET_EXPOSURE",
        Api,
        "1000000",
        "1000000",
        "Collateral one account may hold in one market's open buys; 0 turns it off.",
    ),
    commented(v(
        "KAIROS_INSTANCE_ID",
        Api,
        "`<hostname>/<bound address>`",
        "api-1",
        "Unique per instance when several share a database.",
    )),
    commented(v(
        "KAIROS_ADVERTISE_URL",
        Api,
        "`http://<internal address>`",
        "http://api-1:8081",
        "Where the other instances reach this one's internal listener.",
    )),
    commented(v(
        "KAIROS_MARKET_LEASE_MS",
        Api,
        "3000",
        "3000",
        "How long an instance's hold on a paper market lasts without renewal (at least 500).",
    )),
    secret(commented(v(
        "KAIROS_POLYMARKET__API_KEY",
        All,
        "unset: Polymarket venue off",
        "",
        "CLOB API key. The venue needs all four of API_KEY, API_SECRET, API_PASSPHRASE and PRIVATE_KEY, or none; give the keepers the same four (they keep the heartbeat and poll the orders).",
    ))),
    secret(commented(v("KAIROS_POLYMARKET__API_SECRET", All, "unset", "", "CLOB API secret (L2 HMAC)."))),
    secret(commented(v("KAIROS_POLYMARKET__API_PASSPHRASE", All, "unset", "", "CLOB API passphrase."))),
    secret(commented(v("KAIROS_POLYMARKET__PRIVATE_KEY", All, "unset", "", "The key that signs orders (hex)."))),
    commented(v(
        "KAIROS_POLYMARKET__FUNDER",
        All,
        "unset",
        "",
        "The account's deposit wallet (accounts made since the V2 cutover, with SIGNATURE_TYPE=3; `clob check-credentials` prints it); unset for a plain EOA.",
    )),
    commented(v(
        "KAIROS_POLYMARKET__SIGNATURE_TYPE",
        All,
        "0",
        "0",
        "0 (EOA), 1 (POLY_PROXY), 2 (GNOSIS_SAFE) or 3 (POLY_1271, deposit wallets).",
    )),
    commented(v(
        "KAIROS_POLYMARKET__CLOB_BASE_URL",
        All,
        "`https://clob.polymarket.com`",
        "https://clob.polymarket.com",
        "The CLOB's REST base URL.",
    )),
    commented(v(
        "KAIROS_POLYMARKET__WS_URL",
        All,
        "`wss://ws-subscriptions-clob.polymarket.com/ws/user`",
        "wss://ws-subscriptions-clob.polymarket.com/ws/user",
        "The CLOB's user channel.",
    )),
    commented(v(
        "KAIROS_POLYMARKET__CHAIN_ID",
        All,
        "137",
        "137",
        "137 (Polygon) or 80002 (Amoy): picks the exchange contracts orders are signed for.",
    )),
    commented(v(
        "KAIROS_POLYMARKET__POLL_MS",
        All,
        "5000",
        "5000",
        "How often the keepers' `venue-reconcile` looks every unsettled order up over REST (at least 100).",
    )),
    commented(v(
        "KAIROS_POLYMARKET__TIMEOUT_MS",
        All,
        "10000",
        "10000",
        "How long one CLOB request may take before its outcome counts as unknown (at least 100).",
    )),
    commented(v(
        "KAIROS_POLYMARKET__ORDERS_PER_SECOND",
        All,
        "20",
        "20",
        "Orders a second this instance places on the CLOB for everyone (cancels are not counted).",
    )),
    commented(v(
        "KAIROS_POLYMARKET__USER_SHARE_PERCENT",
        All,
        "25",
        "25",
        "The part of ORDERS_PER_SECOND one user may take, in percent.",
    )),
    v(
        "KAIROS_KEEPERS__METRICS_BIND",
        Keepers,
        "`127.0.0.1:9091`",
        "127.0.0.1:9091",
        "The keepers' Prometheus listener (its own port: the API's is KAIROS_METRICS_BIND).",
    ),
    v(
        "KAIROS_KEEPERS__LEASE_MS",
        Keepers,
        "15000",
        "15000",
        "A job's lease without renewal; another keeper takes a dead holder's jobs within it.",
    ),
    v(
        "KAIROS_KEEPERS__PROBES__ENABLED",
        Keepers,
        "`true`",
        "true",
        "Run `dependency-probes`: the Solana, Polymarket and price feed probes, feeding `kairos_dependency_up`.",
    ),
    v("KAIROS_KEEPERS__PROBES__PERIOD_S", Keepers, "60", "60", "How often `dependency-probes` runs."),
    v(
        "KAIROS_KEEPERS__BACKUP__ENABLED",
        Keepers,
        "`true`",
        "true",
        "Run `backup` (one per deployment, under a lease): staging/prod refuse to start without KAIROS_BACKUP__URL and KAIROS_BACKUP__AGE_RECIPIENT while it is on; dev/test skip it then.",
    ),
    v("KAIROS_KEEPERS__BACKUP__PERIOD_S", Keepers, "3600", "3600", "How often `backup` runs (the RPO is one hour)."),
    v(
        "KAIROS_KEEPERS__FLASH_CREATE__ENABLED",
        Keepers,
        "true",
        "false",
        "Run `flash-create` (puts pending flash markets on chain, signed by the oracle): staging/prod refuse to start without KAIROS_SOLANA__RPC_URL and KAIROS_FLASH__ORACLE_KEYPAIR_FILE while it is on. The example switches the chain jobs off until those are set.",
    ),
    v(
        "KAIROS_KEEPERS__FLASH_CREATE__PERIOD_S",
        Keepers,
        "5",
        "5",
        "How often `flash-create` looks for pending markets.",
    ),
    v(
        "KAIROS_KEEPERS__FLASH_VOID__ENABLED",
        Keepers,
        "true",
        "false",
        "Run `flash-void` (voids markets still open or locked after their deadline): needs the RPC URL and the oracle's key (its fee payer) outside dev/test.",
    ),
    v(
        "KAIROS_KEEPERS__FLASH_VOID__PERIOD_S",
        Keepers,
        "15",
        "15",
        "How often `flash-void` looks for markets past their deadline.",
    ),
    v(
        "KAIROS_KEEPERS__CHAIN_SYNC__ENABLED",
        Keepers,
        "true",
        "false",
        "Run `chain-sync` (the program's market and position accounts, finalized, into the database): needs the RPC URL outside dev/test.",
    ),
    v(
        "KAIROS_KEEPERS__CHAIN_SYNC__PERIOD_S",
        Keepers,
        "5",
        "5",
        "How often `chain-sync` reads the program's accounts.",
    ),
    v(
        "KAIROS_KEEPERS__FLASH_ORACLE__ENABLED",
        Keepers,
        "true",
        "false",
        "Run `flash-oracle` (ticks from the price feed, the commitment, LockMarket, the Groth16 proof, ResolveMarket): outside dev/test it needs the RPC URL, the oracle's key, KAIROS_FLASH__PROVING_KEY_DIR, KAIROS_FLASH__PRICE_FEED and KAIROS_MASTER_KEY.",
    ),
    v(
        "KAIROS_KEEPERS__FLASH_ORACLE__PERIOD_S",
        Keepers,
        "1",
        "1",
        "How often `flash-oracle` looks for a due tick, lock or resolve (at most a market's tick interval).",
    ),
    v(
        "KAIROS_KEEPERS__VENUE_HEARTBEAT__ENABLED",
        Keepers,
        "true",
        "true",
        "Run `venue-heartbeat` while the Polymarket venue is on (its four secrets set): the CLOB heartbeat every API instance needs before it accepts Polymarket orders.",
    ),
    v(
        "KAIROS_KEEPERS__VENUE_RECONCILE__ENABLED",
        Keepers,
        "true",
        "true",
        "Run `venue-reconcile` while the Polymarket venue is on: the REST poll of unsettled CLOB orders, every KAIROS_POLYMARKET__POLL_MS.",
    ),
    v(
        "KAIROS_QUOTER__METRICS_BIND",
        Quoter,
        "`127.0.0.1:9093`",
        "127.0.0.1:9093",
        "The quoter's Prometheus listener (`kairos_tick_to_order_seconds` and the rest).",
    ),
    v(
        "KAIROS_QUOTER__TARGET",
        Quoter,
        "`kairos`",
        "kairos",
        "`polymarket` (the CLOB, only with the KAIROS_POLYMARKET__ secrets) or `kairos` (a paper market through the API).",
    ),
    v(
        "KAIROS_QUOTER__TOKENS",
        Quoter,
        "the recorded frames' token",
        "65818619657568813474341868652308942079804919287380422192892211131408793125422",
        "The Polymarket token ids quoted (decimal, comma-separated).",
    ),
    v("KAIROS_QUOTER__TICK", Quoter, "0.01", "0.01", "The tokens' tick size until the feed says otherwise."),
    v("KAIROS_QUOTER__NEG_RISK", Quoter, "false", "false", "The tokens trade on the neg-risk exchange."),
    v("KAIROS_QUOTER__FAIR", Quoter, "`mid`", "mid", "The fair price: `mid` or `microprice`."),
    v("KAIROS_QUOTER__HALF_SPREAD", Quoter, "0.01", "0.01", "Each quote's distance from the fair price."),
    v("KAIROS_QUOTER__SIZE", Quoter, "10", "10", "Shares per quote (whole 0.01-share lots)."),
    v("KAIROS_QUOTER__SKEW", Quoter, "0", "0.0001", "Price the quotes move against each share of inventory."),
    v(
        "KAIROS_QUOTER__MAX_INVENTORY",
        Quoter,
        "100",
        "100",
        "Shares held at which the side that adds to them stops being quoted.",
    ),
    v(
        "KAIROS_QUOTER__MAX_POSITION",
        Quoter,
        "500",
        "500",
        "The risk gate's position limit in shares, resting orders on the adding side included.",
    ),
    v("KAIROS_QUOTER__MAX_NOTIONAL", Quoter, "100", "100", "The risk gate's largest order, price × size in USDC."),
    v(
        "KAIROS_QUOTER__PRICE_BAND",
        Quoter,
        "0.1",
        "0.1",
        "How far a quote may sit from the touch on its own side (a quote at the mid of a book 0.15 wide is 0.075 from either).",
    ),
    v("KAIROS_QUOTER__MAX_ORDERS_PER_S", Quoter, "10", "10", "Orders placed per second at most (a token bucket)."),
    v(
        "KAIROS_QUOTER__FEED_URL",
        Quoter,
        "`wss://ws-subscriptions-clob.polymarket.com/ws/market`",
        "wss://ws-subscriptions-clob.polymarket.com/ws/market",
        "The CLOB's market channel.",
    ),
    commented(v(
        "KAIROS_QUOTER__RECORDED_FEED",
        Quoter,
        "unset: the frames built into the binary",
        "/var/lib/kairos/recorded.jsonl",
        "Market-channel frames (one per line) replayed when the feed cannot be reached.",
    )),
    v(
        "KAIROS_QUOTER__HEARTBEAT_MS",
        Quoter,
        "5000",
        "5000",
        "The heartbeat (1000-8000 ms): the CLOB's on the order connection (it cancels everything after 10 s without one); on the kairos target, the API's dead-man's switch armed for twice this.",
    ),
    v(
        "KAIROS_QUOTER__API_URL",
        Quoter,
        "`http://127.0.0.1:8080`",
        "http://127.0.0.1:8080",
        "The Kairos API the kairos target quotes on.",
    ),
    commented(v(
        "KAIROS_QUOTER__API_KEY",
        Quoter,
        "unset: in dev, the key kairos-api writes to KAIROS_DATA_DIR/dev-quoter.json",
        "",
        "The market maker's API key id (scopes read and trade) for the kairos target.",
    )),
    secret(commented(v(
        "KAIROS_QUOTER__API_SECRET",
        Quoter,
        "unset",
        "",
        "That key's secret, as POST /v1/api-keys gave it.",
    ))),
    commented(v(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        All,
        "unset: no trace export",
        "http://otel-collector:4318",
        "OpenTelemetry OTLP/HTTP endpoint for traces.",
    )),
];

/// The table entry of `name`.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// What `.env.example` starts with: the compose project's own variables.
const ENV_EXAMPLE_HEADER: &str = "\
# Kairos environment: copy to .env and replace every placeholder.
#   cp .env.example .env
# .env is read by docker compose (both for ${VAR} interpolation in
# docker-compose.yml and as the services' env_file) and can be sourced for a
# local run. Never commit .env. Values marked change-me are refused by the app
# under KAIROS_PROFILE=prod, on purpose.
# Generated from platform/src/config/variables.rs: edit the table, not this file.

# ---------------------------------------------------------------- compose ----
# Compose project name (prefix of container, network and volume names).
COMPOSE_PROJECT_NAME=kairos
# Postgres superuser the postgres container creates on first start.
POSTGRES_USER=kairos
# Postgres password (required by docker-compose.yml); URL-safe, e.g. `openssl rand -hex 24`.
POSTGRES_PASSWORD=change-me
# Database the postgres container creates on first start.
POSTGRES_DB=kairos
";

/// `.env.example`, from the table.
pub fn env_example() -> String {
    let mut out = String::from(ENV_EXAMPLE_HEADER);
    for (read_by, title) in
        [(All, "every binary"), (Api, "kairos-api"), (Keepers, "kairos-keepers"), (Quoter, "kairos-quoter")]
    {
        out.push_str(&format!("\n# {:-^76}\n", format!(" {title} ")));
        for v in VARIABLES.iter().filter(|v| v.read_by == read_by) {
            out.push_str(&format!("# {} (default: {})\n", v.about, v.default.replace('`', "")));
            let name = if v.name == RATE_LIMIT_FAMILY { "KAIROS_RATE_LIMITS__READ__KEY" } else { v.name };
            let prefix = if v.commented { "# " } else { "" };
            out.push_str(&format!("{prefix}{name}={}\n", v.example));
        }
    }
    out
}

/// The README's table of variables, from the table.
pub fn readme_table() -> String {
    let mut out = String::from("| variable | read by | default | what it does |\n|---|---|---|---|\n");
    for v in VARIABLES {
        let read_by = match v.read_by {
            All => "every binary",
            Api => "`kairos-api`",
            Keepers => "`kairos-keepers`",
            Quoter => "`kairos-quoter`",
        };
        out.push_str(&format!("| `{}` | {read_by} | {} | {} |\n", v.name, v.default, v.about));
    }
    out
}
