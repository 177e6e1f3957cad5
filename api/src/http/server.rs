//! Starting and stopping one API instance: storage, seeds, readiness, the background loop,
//! both listeners, graceful shutdown. The binary and the integration tests share [`start`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use kairos_platform::cache::Redis;
use kairos_platform::config::{ApiSettings, StorageMode, redact_url};
use kairos_platform::storage::Db;
use kairos_platform::telemetry::Telemetry;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _, SizeAbove};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::error::ApiError;
use crate::http::middleware::{RequestId, error_envelope, record_metrics, request_id};
use crate::readiness::ReadyStatus;
use crate::state::AppState;

/// Why an instance did not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database {url} is unreachable: {cause}")]
    Database { url: String, cause: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("seeding the database failed: {0}")]
    Seed(String),
    #[error("Redis {url} is unreachable and KAIROS_STORAGE_MODE=strict: {cause}")]
    Redis { url: String, cause: kairos_platform::cache::CacheError },
    #[error(transparent)]
    RedisUrl(kairos_platform::cache::CacheError),
    #[error("cannot listen on {addr} ({variable}): {cause}")]
    Bind { addr: SocketAddr, variable: &'static str, cause: String },
    #[error("metrics recorder: {0}")]
    Metrics(String),
    #[error("route table: {0}")]
    Routes(String),
    #[error("secrets: {0}")]
    Secrets(#[from] crate::state::StateError),
    #[error("rebuilding the paper venue's books failed: {0}")]
    Venue(String),
    #[error("the dev profile's local chain: {0}")]
    LocalChain(String),
    #[error("not ready in strict storage mode: {0}")]
    NotReady(String),
}

/// A started instance.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Where other instances forward paper requests (never the public listener).
    pub internal_addr: SocketAddr,
    pub state: AppState,
    /// The id this instance holds market leases under.
    pub instance_id: String,
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, std::io::Result<()>)>,
    /// Dev only: the local chain this instance started, held so it stops with the instance.
    _local_chain: Option<kairos_local_chain::LocalChain>,
}

/// How often readiness, the market catalog and runtime settings (the kill switch) are
/// refreshed: twice a second, so every instance sees a kill-switch change within a second.
const REFRESH_EVERY: Duration = Duration::from_millis(500);

pub async fn start(mut settings: ApiSettings) -> Result<Running, StartError> {
    let url = redact_url(settings.core.database_url.expose());
    let db = Db::connect(settings.core.database_url.expose(), settings.core.database_max_connections)
        .await
        .map_err(|e| StartError::Database { url: url.clone(), cause: e.to_string() })?;
    db.migrate().await.map_err(|e| StartError::Migration(e.to_string()))?;
    crate::tools::seed::run(&db, settings.core.profile).await.map_err(|e| StartError::Seed(e.to_string()))?;

    let redis = match &settings.core.redis_url {
        Some(url) => Some(Redis::new(url.expose()).map_err(StartError::RedisUrl)?),
        None => None,
    };
    if let Some(r) = &redis {
        if let Err(cause) = r.ping().await {
            match settings.core.storage_mode {
                StorageMode::Strict => return Err(StartError::Redis { url: r.redacted_url().to_string(), cause }),
                StorageMode::Degraded => tracing::warn!(
                    redis = r.redacted_url(),
                    error = %cause,
                    "Redis is unreachable: serving DEGRADED on in-process fallbacks until it answers"
                ),
            }
        }
    } else if settings.core.storage_mode == StorageMode::Degraded {
        tracing::warn!("KAIROS_REDIS_URL is not set: serving DEGRADED on in-process fallbacks (see /ready)");
    }

    crate::access::route_rules::check_against(crate::http::openapi::spec()).map_err(StartError::Routes)?;
    let local_chain = crate::flash::dev_chain::start_if_dev(&mut settings).await.map_err(StartError::LocalChain)?;
    let state = AppState::new(settings.clone(), db.clone(), redis)?;
    let report = state.readiness().refresh().await;
    if settings.core.storage_mode == StorageMode::Strict && report.status != ReadyStatus::Ready {
        return Err(StartError::NotReady(serde_json::to_string(&*report).unwrap_or_default()));
    }
    state.catalog().refresh(&db).await.map_err(|e| StartError::Seed(e.to_string()))?;
    state.runtime().reload(&db).await.map_err(|e| StartError::Seed(e.to_string()))?;
    if settings.core.profile == kairos_platform::config::Profile::Dev {
        crate::tools::dev_quoter::provision(&state, &settings.core.data_dir).await.map_err(StartError::Seed)?;
    }
    let prometheus = crate::http::metrics::handle().map_err(StartError::Metrics)?;

    let listener = bind(settings.bind, "KAIROS_BIND").await?;
    let metrics_listener = bind(settings.core.metrics_bind, "KAIROS_METRICS_BIND").await?;
    let internal_listener = bind(settings.internal_bind, "KAIROS_INTERNAL_BIND").await?;
    let addr = local_addr(&listener, settings.bind, "KAIROS_BIND")?;
    let metrics_addr = local_addr(&metrics_listener, settings.core.metrics_bind, "KAIROS_METRICS_BIND")?;
    let internal_addr = local_addr(&internal_listener, settings.internal_bind, "KAIROS_INTERNAL_BIND")?;

    // Other instances reach this one on its internal listener: that is the address its leases
    // advertise. Its id stays named by the public address, which restarts keep.
    let instance = instance(&settings, addr, internal_addr);
    let instance_id = instance.id.clone();
    state.venues().forwarder.set_own_address(instance.address.clone());
    tracing::info!(instance = %instance.id, address = %instance.address, "matching the paper markets this instance leases");
    state
        .venues()
        .paper
        .start(settings.core.database_url.expose(), instance)
        .await
        .map_err(|e| StartError::Venue(e.to_string()))?;
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    if let Some(live) = state.venues().polymarket.live() {
        tracing::info!(
            "the Polymarket venue is on: the user channel starts, and orders wait for the heartbeat the keepers keep (venue-heartbeat)"
        );
        let token = shutdown.clone();
        tasks.spawn(async move {
            kairos_venues::polymarket::sync::run(live, token).await;
            ("polymarket venue", Ok(()))
        });
    }
    let api = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let token = shutdown.clone();
    tasks.spawn(async move {
        ("api listener", axum::serve(listener, api).with_graceful_shutdown(token.cancelled_owned()).await)
    });
    let token = shutdown.clone();
    let upkeep_handle = prometheus.clone();
    tasks.spawn(async move {
        crate::http::metrics::upkeep(upkeep_handle, token).await;
        ("metrics upkeep", Ok(()))
    });
    let metrics_app = crate::http::metrics::app(state.clone(), prometheus);
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "metrics listener",
            axum::serve(metrics_listener, metrics_app).with_graceful_shutdown(token.cancelled_owned()).await,
        )
    });
    let internal_app = crate::http::routes::internal::router(state.clone());
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "internal listener",
            axum::serve(internal_listener, internal_app).with_graceful_shutdown(token.cancelled_owned()).await,
        )
    });
    let token = shutdown.clone();
    let loop_state = state.clone();
    tasks.spawn(async move {
        refresh_loop(loop_state, token).await;
        ("refresh loop", Ok(()))
    });
    let token = shutdown.clone();
    let sweep_state = state.clone();
    tasks.spawn(async move {
        dead_man_loop(sweep_state, token).await;
        ("dead-man's switch sweeper", Ok(()))
    });
    let token = shutdown.clone();
    let follow_state = state.clone();
    tasks.spawn(async move {
        let s = &follow_state;
        crate::runtime_settings::follow_announcements(s.runtime(), s.db(), s.redis(), token).await;
        ("runtime-settings announcements", Ok(()))
    });
    tracing::info!(%addr, %metrics_addr, %internal_addr, profile = settings.core.profile.as_str(), "kairos-api listening");
    Ok(Running { addr, metrics_addr, internal_addr, state, instance_id, shutdown, tasks, _local_chain: local_chain })
}

/// This instance as market leases name it: configured, or `<hostname>/<public address>` (stable
/// across restarts, so a restarted instance takes its leases back at once), reached by the
/// others at its internal listener.
fn instance(
    settings: &ApiSettings,
    addr: SocketAddr,
    internal_addr: SocketAddr,
) -> kairos_venues::paper::sequencer::Instance {
    let hostname = kairos_platform::host::hostname();
    kairos_venues::paper::sequencer::Instance {
        id: settings.cluster.instance_id.clone().unwrap_or_else(|| format!("{hostname}/{addr}")),
        address: settings.cluster.advertise_url.clone().unwrap_or_else(|| format!("http://{internal_addr}")),
        lease: settings.cluster.lease,
    }
}

async fn bind(addr: SocketAddr, variable: &'static str) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| StartError::Bind { addr, variable, cause: e.to_string() })
}

fn local_addr(
    listener: &tokio::net::TcpListener,
    addr: SocketAddr,
    variable: &'static str,
) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|e| StartError::Bind { addr, variable, cause: e.to_string() })
}

/// How often lapsed dead-man's switches are looked for: a switch fires within this of its
/// deadline.
const DEAD_MAN_EVERY: Duration = Duration::from_millis(100);

/// Every 100 ms: lapsed dead-man's switches, and a passive SQLite checkpoint (off the commit
/// path; see [`kairos_platform::storage::Db::checkpoint`]).
async fn dead_man_loop(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(DEAD_MAN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = crate::trading::dead_man::sweep(&state).await {
            tracing::warn!(error = %e, "dead-man's switch sweep failed; retrying");
        }
        if let Err(e) = state.db().checkpoint().await {
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
        }
    }
}

/// Every [`REFRESH_EVERY`] (500 ms): readiness, the market catalog, runtime settings. A failure is logged and
/// retried; readiness reports it.
async fn refresh_loop(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        ticks += 1;
        if ticks.is_multiple_of(120) {
            // About once a minute: sign-in challenges past their expiry can never be used.
            let cutoff = kairos_domain::now_us();
            if let Err(e) = kairos_platform::storage::auth_challenges::delete_expired(state.db(), cutoff).await {
                tracing::warn!(error = %e, "deleting expired sign-in challenges failed");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        state.readiness().refresh().await;
        state.limiter().prune();
        if let Some(live) = state.venues().polymarket.live() {
            live.budget.prune();
        }
        let minute = kairos_domain::now_us() / 60_000_000;
        if let Err(e) =
            crate::access::failed_signatures::audit_finished(state.db(), state.failed_signatures(), minute).await
        {
            tracing::warn!(error = %e, "auditing the failed signatures of the last minute failed; retrying");
        }
        if let Err(e) = state.catalog().refresh(state.db()).await {
            tracing::warn!(error = %e, "market catalog refresh failed; serving the last one");
        }
        if let Err(e) = state.runtime().reload(state.db()).await {
            tracing::warn!(error = %e, "runtime settings refresh failed; keeping the last ones");
        }
    }
}

impl Running {
    /// Starts a graceful shutdown: listeners stop accepting, in-flight requests finish.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every task has ended. When one ends on its own (a listener failed), the
    /// others are shut down too and the failure is returned. In-flight requests get
    /// `KAIROS_SHUTDOWN_GRACE_MS` to finish after shutdown begins.
    pub async fn wait(mut self) -> Result<(), String> {
        let mut failure: Option<String> = None;
        let grace = self.state.settings().core.shutdown_grace;
        loop {
            let next = if self.shutdown.is_cancelled() {
                match tokio::time::timeout(grace, self.tasks.join_next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        failure
                            .get_or_insert_with(|| "in-flight requests did not finish within the grace period".into());
                        self.tasks.abort_all();
                        break;
                    }
                }
            } else {
                self.tasks.join_next().await
            };
            let Some(joined) = next else { break };
            match joined {
                Ok((_, Ok(()))) if self.shutdown.is_cancelled() => {}
                Ok((task, Ok(()))) => {
                    failure.get_or_insert_with(|| format!("{task} stopped unexpectedly"));
                }
                Ok((task, Err(e))) => {
                    failure.get_or_insert_with(|| format!("{task} failed: {e}"));
                }
                Err(e) => {
                    failure.get_or_insert_with(|| format!("a task panicked: {e}"));
                }
            }
            self.shutdown.cancel();
        }
        // Other instances may take this one's markets over at once rather than after the lease.
        if let Err(e) = kairos_platform::storage::market_leases::release_all(self.state.db(), &self.instance_id).await {
            tracing::warn!(error = %e, "releasing market leases failed; they lapse on their own");
        }
        self.state.db().close().await;
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}

/// Responses smaller than this go uncompressed.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The API app with every layer. Outermost first: request id, compression, error envelope,
/// trace span, metrics, CORS (preflights are answered before authentication), timeout, body
/// limit (so a signed request's body is bounded before it is read), access (authentication,
/// route rule, rate limit).
pub fn app(state: AppState) -> Router {
    let settings = state.settings().clone();
    let router = crate::http::openapi::routes()
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(from_fn_with_state(state.clone(), crate::access::enforce))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, settings.request_timeout));
    let router = match cors_layer(&settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(from_fn(record_metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req.extensions().get::<RequestId>().map_or("-", |r| r.0.as_str());
                    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                    tracing::info_span!(
                        "http_request",
                        method = %req.method(),
                        route,
                        request_id,
                        status = tracing::field::Empty,
                    )
                })
                .on_response(|res: &axum::http::Response<_>, latency: Duration, span: &tracing::Span| {
                    span.record("status", res.status().as_u16());
                    tracing::debug!(latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX), "response");
                }),
        )
        .layer(from_fn(error_envelope))
        // Small bodies (an order, an error) cost more to compress than they save on the wire.
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES))))
        .layer(from_fn(request_id))
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let base = CorsLayer::new().allow_methods(Any).allow_headers(Any).expose_headers(Any);
    if origins.iter().any(|o| o == "*") {
        return Some(base.allow_origin(Any));
    }
    let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(base.allow_origin(AllowOrigin::list(list)))
}

/// Applies what SIGHUP reloads: the log filter (from `KAIROS_LOG`, env or file) and the
/// runtime settings table. Other settings need a restart; a changed one is named in the log.
pub async fn reload(state: &AppState, telemetry: Option<&Arc<Telemetry>>) {
    let (fresh, problems) = kairos_platform::config::load_api();
    if !problems.is_empty() {
        for p in &problems {
            tracing::error!(problem = %p, "reload refused: the config has problems; keeping the running one");
        }
        return;
    }
    if let Some(t) = telemetry {
        match t.set_filter(&fresh.core.log) {
            Ok(()) => tracing::info!(log = %fresh.core.log, "reloaded log filter"),
            Err(e) => tracing::error!(error = %e, "cannot apply KAIROS_LOG"),
        }
    }
    state.limiter().reload(fresh.rate_limits);
    tracing::info!("reloaded rate limits");
    match state.runtime().reload(state.db()).await {
        Ok(s) => tracing::info!(trading = s.trading.as_str(), flags = ?s.flags, "reloaded runtime settings"),
        Err(e) => tracing::error!(error = %e, "cannot reload runtime settings"),
    }
    let running = state.settings();
    if fresh.bind != running.bind
        || fresh.core.database_url != running.core.database_url
        || fresh.core.redis_url != running.core.redis_url
    {
        tracing::warn!("listener or store settings changed; they take effect on restart");
    }
}
