//! Autorecovery under the deployment unit's own restart policy. systemd cannot run here, so a
//! small supervisor stands in for it: it reads `Restart=`, `RestartSec=`, `TimeoutStartSec=` and
//! the start limits from `deploy/systemd/kairos-api.service`, starts the server with a notify
//! socket (`Type=notify`: started means READY=1), and restarts it as systemd would. The server
//! is killed with SIGKILL under load; it must serve again within the policy's time (the restart
//! delay plus the start timeout) with every acknowledged order stored and the ledger whole, and
//! a SIGTERM must stop it for good.

use std::os::unix::net::UnixDatagram;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use kairos_platform::storage::scratch;
use kairos_platform::storage::{Db, ledger, orders};

/// What the unit says about restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    restart: String,
    restart_sec: Duration,
    timeout_start: Duration,
    burst: u32,
    interval: Duration,
}

impl Policy {
    /// Reads the unit's `[Unit]` and `[Service]` keys the supervisor needs, with systemd's
    /// defaults for the ones it leaves out.
    fn from_unit(text: &str) -> Policy {
        let value = |key: &str| {
            text.lines().filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('=')).next_back().map(str::trim)
        };
        Policy {
            restart: value("Restart").unwrap_or("no").to_string(),
            restart_sec: value("RestartSec").map_or(Duration::from_millis(100), span),
            timeout_start: value("TimeoutStartSec").map_or(Duration::from_secs(90), span),
            burst: value("StartLimitBurst").map_or(5, |v| v.parse().expect("StartLimitBurst")),
            interval: value("StartLimitIntervalSec").map_or(Duration::from_secs(10), span),
        }
    }

    /// systemd's `Restart=` rule for how the process ended: `on-failure` restarts after a
    /// non-zero exit or a signal other than the four clean ones (HUP, INT, TERM, PIPE).
    fn restarts(&self, status: ExitStatus) -> bool {
        let failed = match (status.code(), status.signal()) {
            (Some(code), _) => code != 0,
            (None, Some(signal)) => ![1, 2, 13, 15].contains(&signal),
            (None, None) => true,
        };
        match self.restart.as_str() {
            "always" => true,
            "on-failure" => failed,
            "on-abnormal" => status.signal().is_some_and(|s| ![1, 2, 13, 15].contains(&s)),
            _ => false,
        }
    }
}

/// A systemd time span as the units write them: `90`, `90s`, `500ms`, `5min`.
fn span(text: &str) -> Duration {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n: u64 = text[..digits].parse().unwrap_or_else(|_| panic!("a time span: {text}"));
    match &text[digits..] {
        "" | "s" | "sec" => Duration::from_secs(n),
        "ms" | "msec" => Duration::from_millis(n),
        "min" | "m" => Duration::from_secs(n * 60),
        unit => panic!("a time span unit the test does not know: {unit}"),
    }
}

fn unit_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/systemd/kairos-api.service");
    std::fs::read_to_string(path).expect("deploy/systemd/kairos-api.service")
}

#[derive(Debug)]
enum Event {
    Ready {
        at: Instant,
    },
    Exited {
        status: ExitStatus,
    },
    /// The start limit was hit (or a start timed out): the supervisor stopped restarting.
    GaveUp(String),
}

/// Runs `cmd` as systemd runs the unit: started once it says READY=1, restarted by `policy`.
struct Supervisor {
    pid: Arc<AtomicU32>,
    events: mpsc::Receiver<Event>,
}

impl Supervisor {
    fn start(
        policy: Policy,
        command: impl Fn() -> Command + Send + 'static,
        socket_dir: &std::path::Path,
    ) -> Supervisor {
        let socket = socket_dir.join("notify");
        let manager = UnixDatagram::bind(&socket).expect("notify socket");
        let pid = Arc::new(AtomicU32::new(0));
        let (tx, events) = mpsc::channel();
        let shared = pid.clone();
        std::thread::spawn(move || {
            let mut starts: Vec<Instant> = Vec::new();
            loop {
                let now = Instant::now();
                starts.retain(|s| now.duration_since(*s) < policy.interval);
                if starts.len() >= policy.burst as usize {
                    let _ = tx.send(Event::GaveUp("start limit hit".to_string()));
                    return;
                }
                starts.push(now);
                let mut cmd = command();
                cmd.env("NOTIFY_SOCKET", &socket);
                let mut child = cmd.spawn().expect("spawn");
                shared.store(child.id(), Ordering::SeqCst);
                manager.set_read_timeout(Some(policy.timeout_start)).expect("timeout");
                let mut buf = [0u8; 256];
                match manager.recv(&mut buf) {
                    Ok(n) if &buf[..n] == b"READY=1" => {
                        let _ = tx.send(Event::Ready { at: Instant::now() });
                    }
                    other => {
                        let _ = child.kill();
                        let _ = child.wait();
                        let _ = tx.send(Event::GaveUp(format!("no READY=1 within TimeoutStartSec: {other:?}")));
                        return;
                    }
                }
                let status = child.wait().expect("wait");
                // Whatever else it said (STOPPING=1) is of this life only.
                manager.set_nonblocking(true).expect("nonblocking");
                while manager.recv(&mut buf).is_ok() {}
                manager.set_nonblocking(false).expect("blocking");
                let _ = tx.send(Event::Exited { status });
                if !policy.restarts(status) {
                    return;
                }
                std::thread::sleep(policy.restart_sec);
            }
        });
        Supervisor { pid, events }
    }

    fn signal(&self, name: &str) {
        let pid = self.pid.load(Ordering::SeqCst).to_string();
        assert!(Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill").success());
    }

    /// The next event; giving up fails the test with the supervisor's reason.
    fn next(&self, within: Duration) -> Event {
        match self.events.recv_timeout(within) {
            Ok(Event::GaveUp(why)) => panic!("the supervisor gave up: {why}"),
            Ok(event) => event,
            Err(e) => panic!("no supervisor event within {within:?}: {e}"),
        }
    }
}

/// A port nobody listens on now, for a server that must come back where it was.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn the_unit_restarts_on_failure_within_start_limits() {
    let policy = Policy::from_unit(&unit_text());
    assert_eq!(policy.restart, "on-failure");
    assert!(policy.burst > 0 && policy.interval > Duration::ZERO, "{policy:?}");
    let exited = |code: i32| ExitStatus::from_raw(code << 8);
    let killed = ExitStatus::from_raw;
    assert!(policy.restarts(exited(1)), "a failed start-up is retried");
    assert!(policy.restarts(killed(9)), "SIGKILL");
    assert!(policy.restarts(killed(6)), "an abort");
    assert!(!policy.restarts(exited(0)), "a clean stop stays stopped");
    assert!(!policy.restarts(killed(15)), "SIGTERM is a clean stop");
    assert_eq!(span("2s"), Duration::from_secs(2));
    assert_eq!(span("300"), Duration::from_secs(300));
    assert_eq!(span("500ms"), Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_with_sigkill_serves_again_within_the_units_policy_with_nothing_lost() {
    let policy = Policy::from_unit(&unit_text());
    let within = policy.restart_sec + policy.timeout_start;
    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let port = free_port();
        let mut vars = crate::crash::env(&db, data.path());
        vars.push(("KAIROS_BIND".into(), format!("127.0.0.1:{port}")));
        vars.push(("KAIROS_INSTANCE_ID".into(), "supervised".into()));
        let accounts = crate::crash::dev_accounts(&vars, 4, "100000");

        let command_vars = vars.clone();
        let supervisor = Supervisor::start(
            policy.clone(),
            move || {
                let mut cmd = crate::crash::kairos_api(&command_vars);
                cmd.arg("serve").stdout(Stdio::null()).stderr(Stdio::null());
                cmd
            },
            data.path(),
        );
        assert!(matches!(supervisor.next(within), Event::Ready { .. }), "{}: first start", db.label);
        let base = format!("http://127.0.0.1:{port}");
        let store = Db::connect(&db.url, 2).await.expect("db");
        let load = crate::crash::load_until_stored(&base, accounts, 8, &store, db.label).await;

        supervisor.signal("KILL");
        let killed = Instant::now();
        match supervisor.next(within) {
            Event::Exited { status } => assert_eq!(status.signal(), Some(9), "{}", db.label),
            other => panic!("{}: expected the exit, got {other:?}", db.label),
        }
        let Event::Ready { at } = supervisor.next(within) else { panic!("{}: not restarted", db.label) };
        let client = reqwest::Client::new();
        while !client.get(format!("{base}/v1/markets")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(killed.elapsed() < within, "{}: not serving {within:?} after the kill", db.label);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let serving = killed.elapsed();
        eprintln!(
            "{}: SIGKILL → READY=1 in {:?}, serving in {serving:?} (policy: {within:?})",
            db.label,
            at.duration_since(killed)
        );
        assert!(serving <= within, "{}: {serving:?} > {within:?}", db.label);

        load.stop.store(true, Ordering::Relaxed);
        let report = load.report.await.expect("load");
        assert!(!report.acked.is_empty(), "{}: {}", db.label, report.summary());
        for acked in &report.acked {
            let stored = orders::get(&store, &acked.order_id).await.expect("read");
            assert!(stored.is_some(), "{}: acknowledged order {} is lost", db.label, acked.order_id);
        }
        let verified = ledger::verify(&store).await.expect("verify");
        assert!(verified.is_ok(), "{}: {verified:?}", db.label);

        // A clean stop is not a failure: the supervisor, like systemd, leaves it stopped.
        supervisor.signal("TERM");
        match supervisor.next(Duration::from_secs(60)) {
            Event::Exited { status } => assert!(status.success(), "{}: SIGTERM exits 0, got {status}", db.label),
            other => panic!("{}: expected the exit, got {other:?}", db.label),
        }
        assert!(
            supervisor.events.recv_timeout(policy.restart_sec * 2).is_err(),
            "{}: restarted after SIGTERM",
            db.label
        );
        store.close().await;
    }
}
