//! `kairos-api release-gate`: the four checks the platform this replaces could never tick,
//! each proved by this binary at release time and printed with its evidence in the preflight
//! report shape:
//! 1. no production-path stubs: the flash-bets program's unbuilt instructions do not decode in
//!    this build, and every route of the OpenAPI document is a served, ruled route with no
//!    placeholder wording and no 501; `serve` in `staging` and `prod` refuses the simulated
//!    price feed (and has no default feed to fall back on);
//! 2. no auth bypass: `serve` in `prod` is started with each bypass toggle and must refuse;
//! 3. no silent durability downgrade: `serve` in `prod`, strict mode, is started with the
//!    database and then Redis unreachable and must refuse; started healthy, it must turn `/ready`
//!    to 503 and `kairos_ready` to 0 when either store is cut at run time;
//! 4. the runbook exercised: the report the drill (`scripts/runbook-drill.sh`) wrote is present,
//!    complete and recent.
//!
//! Checks 2 and 3 start this same executable as child processes against the database and Redis
//! of the gate's own config, through TCP relays the gate can cut.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kairos_ops::{Check, Report};
use kairos_platform::config::{AUTH_BYPASS_VARIABLES, ApiSettings, SIMULATED};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How old the runbook drill's report may be.
const RUNBOOK_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3_600);
/// The steps a complete drill reports.
pub const RUNBOOK_STEPS: [&str; 5] = ["preflight", "kill_switch", "sighup_reload", "failover", "backup_restore"];

pub async fn run(settings: &ApiSettings, runbook_report: Option<&Path>) -> Report {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return Report::new(vec![Check::fail("release_gate", format!("cannot find this executable: {e}"))]),
    };
    let mut checks = vec![experimental_instructions(), routes()];
    checks.push(simulated_feed_refused(&exe).await);
    checks.push(local_chain_dev_only(settings).await);
    checks.push(auth_bypass_refused(&exe).await);
    checks.extend(durability(&exe, settings).await);
    checks.push(runbook(runbook_report));
    Report::new(checks)
}

/// 1a. The unbuilt instructions are refused as unknown in this build.
fn experimental_instructions() -> Check {
    use kairos_flash_bets::error::FlashError;
    use kairos_flash_bets::instruction::{EXPERIMENTAL_TAGS, FlashInstruction};
    const NAME: &str = "stubs.experimental_instructions";
    if kairos_flash_bets::EXPERIMENTAL_BUILD {
        return Check::fail(NAME, "kairos-flash-bets is built with the `experimental` feature: rebuild without it");
    }
    for tag in EXPERIMENTAL_TAGS {
        match FlashInstruction::decode(&[tag], kairos_flash_bets::EXPERIMENTAL_BUILD) {
            Err(FlashError::InvalidInstruction) => {}
            other => return Check::fail(NAME, format!("tag {tag} decodes as {other:?}")),
        }
    }
    Check::pass(
        NAME,
        format!("`experimental` off; tags {EXPERIMENTAL_TAGS:?} (the unbuilt instructions) are refused as invalid"),
    )
}

/// Words that give a route away as unfinished.
const PLACEHOLDER_WORDS: [&str; 6] = ["placeholder", "stub", "mock", "not implemented", "todo", "dummy"];

/// 1b. Every operation of the document is served under a rule, none is a placeholder.
fn routes() -> Check {
    const NAME: &str = "stubs.routes";
    let spec: serde_json::Value = match serde_json::from_str(crate::http::openapi::spec_json()) {
        Ok(v) => v,
        Err(e) => return Check::fail(NAME, format!("the OpenAPI document does not parse: {e}")),
    };
    let Some(paths) = spec["paths"].as_object() else { return Check::fail(NAME, "the document has no paths") };
    let mut problems = Vec::new();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let method = method.to_ascii_uppercase();
            operations += 1;
            if crate::access::route_rules::rule_for(&method, path).is_none() {
                problems.push(format!("{method} {path} has no access rule"));
            }
            if op["responses"].get("501").is_some() {
                problems.push(format!("{method} {path} documents 501"));
            }
            let words =
                format!("{} {}", op["summary"].as_str().unwrap_or(""), op["description"].as_str().unwrap_or(""))
                    .to_lowercase();
            if let Some(w) = PLACEHOLDER_WORDS.iter().find(|w| words.contains(*w)) {
                problems.push(format!("{method} {path} says {w:?}"));
            }
        }
    }
    if problems.is_empty() {
        Check::pass(
            NAME,
            format!(
                "{operations} operations, each served under an access rule; none documents 501 or placeholder wording"
            ),
        )
    } else {
        Check::fail(NAME, problems.join("; "))
    }
}

/// A `prod` environment for a child `serve`: explicit listeners on free ports, fresh strong
/// secrets, the given stores, strict mode.
fn prod_env(database_url: &str, redis_url: &str, data: &Path) -> Vec<(String, String)> {
    use base64::Engine as _;
    let b64 = |n: usize| {
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    [
        ("KAIROS_PROFILE", "prod".to_string()),
        ("KAIROS_BIND", "127.0.0.1:0".to_string()),
        ("KAIROS_METRICS_BIND", "127.0.0.1:0".to_string()),
        ("KAIROS_INTERNAL_BIND", "127.0.0.1:0".to_string()),
        ("KAIROS_DATABASE_URL", database_url.to_string()),
        ("KAIROS_REDIS_URL", redis_url.to_string()),
        ("KAIROS_STORAGE_MODE", "strict".to_string()),
        ("KAIROS_JWT_SECRET", b64(48)),
        ("KAIROS_MASTER_KEY", b64(32)),
        ("KAIROS_DATA_DIR", data.display().to_string()),
        ("KAIROS_LOG", "info".to_string()),
        ("KAIROS_LOG_FORMAT", "json".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn serve(exe: &Path, env: &[(String, String)]) -> std::io::Result<Child> {
    Command::new(exe)
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
}

/// How a child `serve` ended up: listening (with its addresses), or exited (with its code and
/// last error line), within `wait`.
enum Started {
    Listening { child: Child, addr: String, metrics: String },
    Exited { code: Option<i32>, last: String },
    Hung,
}

fn start(exe: &Path, env: &[(String, String)], wait: Duration) -> Started {
    let mut child = match serve(exe, env) {
        Ok(c) => c,
        Err(e) => return Started::Exited { code: None, last: format!("cannot start: {e}") },
    };
    let Some(stderr) = child.stderr.take() else { return Started::Hung };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut last = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["message"] == "kairos-api listening" {
                let _ = tx.send(Ok((
                    v["addr"].as_str().unwrap_or("").to_string(),
                    v["metrics_addr"].as_str().unwrap_or("").to_string(),
                )));
            } else if !line.trim().is_empty() {
                last = line;
            }
        }
        let _ = tx.send(Err(last));
    });
    let deadline = Instant::now() + wait;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok((addr, metrics))) => return Started::Listening { child, addr, metrics },
            Ok(Err(last)) => {
                let code = child.wait().ok().and_then(|s| s.code());
                return Started::Exited { code, last };
            }
            Err(_) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Started::Hung;
            }
            Err(_) => {}
        }
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `serve` with `env` plus `variable=value` and wants it refused: exit 2 naming the
/// variable. `Err` says what happened instead.
async fn refused_naming(exe: &Path, env: &[(String, String)], variable: &str, value: &str) -> Result<(), String> {
    let mut env = env.to_vec();
    env.push((variable.to_string(), value.to_string()));
    let exe = exe.to_path_buf();
    let started = tokio::task::spawn_blocking(move || start(&exe, &env, Duration::from_secs(30))).await;
    match started {
        // Problems print as `NAME: message`; the colon keeps a longer name that starts with
        // this one (KAIROS_FLASH__PRICE_FEED_API_KEY) from passing for it.
        Ok(Started::Exited { code: Some(2), last }) if last.contains(&format!("{variable}:")) => Ok(()),
        Ok(Started::Exited { code, last }) => {
            Err(format!("{variable}={value}: exit {code:?} without naming it: {last}"))
        }
        Ok(Started::Listening { child, .. }) => {
            stop(child);
            Err(format!("{variable}={value}: it started and listened"))
        }
        Ok(Started::Hung) | Err(_) => Err(format!("{variable}={value}: no answer within 30 s")),
    }
}

/// 2. Every bypass toggle stops a `prod` start, named.
async fn auth_bypass_refused(exe: &Path) -> Check {
    const NAME: &str = "auth.bypass_refused";
    let data = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Check::fail(NAME, format!("no scratch directory: {e}")),
    };
    let base = prod_env("postgres://gate@127.0.0.1:9/gate", "redis://127.0.0.1:9", data.path());
    for toggle in AUTH_BYPASS_VARIABLES {
        if let Err(e) = refused_naming(exe, &base, toggle, "true").await {
            return Check::fail(NAME, e);
        }
    }
    Check::pass(
        NAME,
        format!(
            "`serve` in prod refused to start (exit 2, naming it) with each of {}",
            AUTH_BYPASS_VARIABLES.join(", ")
        ),
    )
}

/// 1c. The simulated price feed cannot be switched on in `staging` or `prod`.
async fn simulated_feed_refused(exe: &Path) -> Check {
    const NAME: &str = "stubs.simulated_feed";
    let data = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Check::fail(NAME, format!("no scratch directory: {e}")),
    };
    for profile in ["staging", "prod"] {
        let mut env = prod_env("postgres://gate@127.0.0.1:9/gate", "redis://127.0.0.1:9", data.path());
        env.retain(|(k, _)| k != "KAIROS_PROFILE");
        env.push(("KAIROS_PROFILE".to_string(), profile.to_string()));
        if let Err(e) = refused_naming(exe, &env, "KAIROS_FLASH__PRICE_FEED", SIMULATED).await {
            return Check::fail(NAME, format!("{profile}: {e}"));
        }
    }
    Check::pass(
        NAME,
        "`serve` in staging and prod refused to start (exit 2, naming it) with KAIROS_FLASH__PRICE_FEED=simulated; \
         neither profile has a default feed",
    )
}

/// 1d. The local chain (LiteSVM behind JSON-RPC) starts only in `dev`: outside it, even with
/// no RPC URL set, nothing starts it.
async fn local_chain_dev_only(settings: &ApiSettings) -> Check {
    use kairos_platform::config::Profile;
    const NAME: &str = "stubs.local_chain";
    for profile in [Profile::Test, Profile::Staging, Profile::Prod] {
        let mut s = settings.clone();
        s.core.profile = profile;
        s.core.solana.rpc_url = None;
        match crate::flash::dev_chain::start_if_dev(&mut s).await {
            Ok(None) if s.core.solana.rpc_url.is_none() => {}
            Ok(_) => return Check::fail(NAME, format!("{}: the local chain started", profile.as_str())),
            Err(e) => return Check::fail(NAME, format!("{}: {e}", profile.as_str())),
        }
    }
    Check::pass(NAME, "with no KAIROS_SOLANA__RPC_URL, test, staging and prod start no local chain (dev alone does)")
}

/// A TCP relay to `target` that [`Relay::cut`] closes: its listener and every connection.
struct Relay {
    port: u16,
    cut: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: String) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut accept_cut = cut_rx.clone();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let (target, mut conn_cut) = (target.clone(), cut_rx.clone());
                        tokio::spawn(async move {
                            let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = conn_cut.wait_for(|c| *c) => {}
                            }
                        });
                    }
                    _ = accept_cut.wait_for(|c| *c) => return,
                }
            }
        });
        Ok(Relay { port, cut })
    }

    fn cut(&self) {
        let _ = self.cut.send(true);
    }
}

/// `scheme://user:pw@host:port/db?q` with host and port replaced by `127.0.0.1:port`.
fn via(url: &str, port: u16) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    u.set_host(Some("127.0.0.1")).ok()?;
    u.set_port(Some(port)).ok()?;
    Some(u.to_string())
}

fn host_port(url: &str, default_port: u16) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(format!("{}:{}", u.host_str()?, u.port().unwrap_or(default_port)))
}

/// 3. Strict mode refuses to start without either store and reports not ready when one is lost.
async fn durability(exe: &Path, settings: &ApiSettings) -> Vec<Check> {
    let database_url = settings.core.database_url.expose().to_string();
    let redis_url = settings.core.redis_url.as_ref().map(|r| r.expose().to_string());
    let (Some(redis_url), true) = (redis_url, database_url.starts_with("postgres")) else {
        return vec![Check::fail(
            "durability",
            "the gate needs the deployment's PostgreSQL (KAIROS_DATABASE_URL) and Redis (KAIROS_REDIS_URL) to start strict instances against",
        )];
    };
    let data = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return vec![Check::fail("durability", format!("no scratch directory: {e}"))],
    };
    let dead =
        || std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9);
    let mut checks = Vec::new();
    for (store, env) in [
        ("database", prod_env(&via(&database_url, dead()).unwrap_or_default(), &redis_url, data.path())),
        ("redis", prod_env(&database_url, &via(&redis_url, dead()).unwrap_or_default(), data.path())),
    ] {
        let name = format!("durability.start_without_{store}");
        let exe = exe.to_path_buf();
        match tokio::task::spawn_blocking(move || start(&exe, &env, Duration::from_secs(60))).await {
            Ok(Started::Exited { code, last }) if code != Some(0) => {
                let code = code.map_or_else(|| "by a signal".to_string(), |c| c.to_string());
                checks.push(Check::pass(
                    name,
                    format!("refused to start (exit {code}): {}", last.chars().take(300).collect::<String>()),
                ))
            }
            Ok(Started::Exited { code, .. }) => {
                checks.push(Check::fail(name, format!("exited {code:?} as if it were fine")))
            }
            Ok(Started::Listening { child, .. }) => {
                stop(child);
                checks.push(Check::fail(name, format!("strict mode started and listened without its {store}")));
            }
            Ok(Started::Hung) | Err(_) => checks.push(Check::fail(name, "neither started nor refused within 60 s")),
        }
    }
    for store in ["database", "redis"] {
        checks.push(lost_at_run_time(exe, store, &database_url, &redis_url, data.path()).await);
    }
    checks
}

/// A strict instance whose `store` is cut while it serves must answer `/ready` 503 and set
/// `kairos_ready` to 0.
async fn lost_at_run_time(exe: &Path, store: &str, database_url: &str, redis_url: &str, data: &Path) -> Check {
    let name = format!("durability.{store}_lost_at_run_time");
    let (Some(db_target), Some(redis_target)) = (host_port(database_url, 5432), host_port(redis_url, 6379)) else {
        return Check::fail(name, "cannot read the store URLs' host and port");
    };
    let (db_relay, redis_relay) = match (Relay::start(db_target).await, Relay::start(redis_target).await) {
        (Ok(d), Ok(r)) => (d, r),
        _ => return Check::fail(name, "cannot open the relays"),
    };
    let env = prod_env(
        &via(database_url, db_relay.port).unwrap_or_default(),
        &via(redis_url, redis_relay.port).unwrap_or_default(),
        data,
    );
    let exe = exe.to_path_buf();
    let (child, addr, metrics) =
        match tokio::task::spawn_blocking(move || start(&exe, &env, Duration::from_secs(60))).await {
            Ok(Started::Listening { child, addr, metrics }) => (child, addr, metrics),
            Ok(Started::Exited { code, last }) => {
                return Check::fail(name, format!("did not start (exit {code:?}): {last}"));
            }
            _ => return Check::fail(name, "did not start within 60 s"),
        };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
    let before = status_of(&client, &format!("http://{addr}/ready")).await;
    if store == "database" {
        db_relay.cut()
    } else {
        redis_relay.cut()
    }
    let started = Instant::now();
    let mut after = before;
    while started.elapsed() < Duration::from_secs(20) {
        after = status_of(&client, &format!("http://{addr}/ready")).await;
        if after == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = match client.get(format!("http://{metrics}/metrics")).send().await {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let ready_gauge =
        text.lines().find(|l| l.starts_with("kairos_ready ")).unwrap_or("kairos_ready (absent)").to_string();
    stop(child);
    db_relay.cut();
    redis_relay.cut();
    if before == 200 && after == 503 && ready_gauge.trim_end().ends_with(" 0") {
        Check::pass(
            name,
            format!(
                "/ready 200 → 503 within {} ms of cutting the {store}; `{ready_gauge}`",
                started.elapsed().as_millis()
            ),
        )
    } else {
        Check::fail(name, format!("/ready {before} → {after}, `{ready_gauge}` after cutting the {store}"))
    }
}

/// The HTTP status `url` answers with; 0 when it does not answer.
async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    client.get(url).send().await.map_or(0, |r| r.status().as_u16())
}

/// 4. The drill's report: every step passed, recently.
fn runbook(report: Option<&Path>) -> Check {
    const NAME: &str = "runbook.exercised";
    let Some(path) = report else {
        return Check::fail(
            NAME,
            "no drill report given: run scripts/runbook-drill.sh, then pass --runbook-report FILE",
        );
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Check::fail(NAME, format!("{}: {e}: run scripts/runbook-drill.sh", path.display())),
    };
    let report: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Check::fail(NAME, format!("{}: not a drill report: {e}", path.display())),
    };
    let finished = report["finished_at_us"].as_i64().unwrap_or(0);
    let age = Duration::from_micros(u64::try_from(kairos_domain::now_us() - finished).unwrap_or(u64::MAX));
    let missing: Vec<&str> =
        RUNBOOK_STEPS.iter().copied().filter(|s| report["steps"][*s]["passed"] != serde_json::json!(true)).collect();
    if !missing.is_empty() {
        return Check::fail(NAME, format!("{}: steps not passed: {}", path.display(), missing.join(", ")));
    }
    if age > RUNBOOK_MAX_AGE {
        return Check::fail(
            NAME,
            format!("{}: the drill ran {} h ago; run it again", path.display(), age.as_secs() / 3_600),
        );
    }
    let evidence: Vec<String> = RUNBOOK_STEPS
        .iter()
        .map(|s| format!("{s}: {}", report["steps"][*s]["evidence"].as_str().unwrap_or("passed")))
        .collect();
    Check::pass(
        NAME,
        format!(
            "drill of {} s ago on {}: {}",
            age.as_secs(),
            report["stack"].as_str().unwrap_or("?"),
            evidence.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dir: &Path, finished_at_us: i64, steps: &[&str]) -> std::path::PathBuf {
        let steps: serde_json::Map<String, serde_json::Value> =
            steps.iter().map(|s| (s.to_string(), serde_json::json!({ "passed": true, "evidence": "e" }))).collect();
        let path = dir.join(format!("r{finished_at_us}-{}.json", steps.len()));
        let body = serde_json::json!({ "finished_at_us": finished_at_us, "stack": "pg", "steps": steps });
        std::fs::write(&path, body.to_string()).expect("write");
        path
    }

    #[test]
    fn the_runbook_check_wants_every_step_passed_within_a_week() {
        use kairos_ops::Status;
        let dir = tempfile::tempdir().expect("dir");
        let now = kairos_domain::now_us();
        assert_eq!(runbook(None).status, Status::Fail);
        assert_eq!(runbook(Some(&dir.path().join("missing.json"))).status, Status::Fail);
        assert_eq!(runbook(Some(&report(dir.path(), now, &RUNBOOK_STEPS))).status, Status::Pass);
        let incomplete = runbook(Some(&report(dir.path(), now, &RUNBOOK_STEPS[..4])));
        assert!(incomplete.status == Status::Fail && incomplete.detail.contains("backup_restore"), "{incomplete:?}");
        let stale = now - 8 * 24 * 3_600 * 1_000_000;
        assert_eq!(runbook(Some(&report(dir.path(), stale, &RUNBOOK_STEPS))).status, Status::Fail);
    }

    #[test]
    fn this_build_has_no_stub_on_a_production_path() {
        assert_eq!(experimental_instructions().status, kairos_ops::Status::Pass);
        let routes = routes();
        assert_eq!(routes.status, kairos_ops::Status::Pass, "{routes:?}");
    }

    #[test]
    fn a_store_url_is_pointed_at_a_relay_with_its_credentials() {
        assert_eq!(
            via("postgres://u:p@db.internal:5432/k?sslmode=require", 7000).as_deref(),
            Some("postgres://u:p@127.0.0.1:7000/k?sslmode=require")
        );
        assert_eq!(host_port("redis://cache", 6379).as_deref(), Some("cache:6379"));
    }
}
