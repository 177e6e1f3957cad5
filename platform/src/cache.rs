//! The Redis connection, for state that several API instances share (rate-limit budgets,
//! cache state). It may be absent or down: in `degraded` storage mode callers fall back to
//! in-process state and readiness says so; in `strict` mode start-up and readiness fail.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::redact_url;

/// A Redis handle that (re)connects lazily: created even when Redis is down, so a degraded
/// instance recovers without a restart when Redis comes back.
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    redacted_url: String,
    manager: Arc<RwLock<Option<ConnectionManager>>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("url", &self.redacted_url).finish_non_exhaustive()
    }
}

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("KAIROS_REDIS_URL: {0}")]
    BadUrl(#[source] redis::RedisError),
    #[error("no answer from Redis")]
    Timeout,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("unexpected PING reply {0:?}")]
    UnexpectedReply(String),
}

/// How long one Redis command or connection attempt may take.
const REDIS_TIMEOUT: Duration = Duration::from_millis(1_000);

impl Redis {
    /// Parses the URL; connects on first use. A malformed URL is an error at once.
    pub fn new(url: &str) -> Result<Redis, CacheError> {
        let client = redis::Client::open(url).map_err(CacheError::BadUrl)?;
        Ok(Redis { client, redacted_url: redact_url(url), manager: Arc::new(RwLock::new(None)) })
    }

    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// A connection, creating the manager on first success. The manager itself reconnects
    /// after Redis restarts.
    pub async fn connection(&self) -> Result<ConnectionManager, CacheError> {
        if let Some(manager) = crate::locks::read(&self.manager).clone() {
            return Ok(manager);
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(REDIS_TIMEOUT)
            .set_response_timeout(REDIS_TIMEOUT)
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(REDIS_TIMEOUT * 2, self.client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| CacheError::Timeout)??;
        *crate::locks::write(&self.manager) = Some(manager.clone());
        Ok(manager)
    }

    /// A dedicated connection subscribed to `channel` (pub/sub needs its own connection).
    pub async fn subscribe(&self, channel: &str) -> Result<redis::aio::PubSub, CacheError> {
        let mut pubsub = tokio::time::timeout(REDIS_TIMEOUT * 2, self.client.get_async_pubsub())
            .await
            .map_err(|_| CacheError::Timeout)??;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    }

    /// Publishes `message` on `channel`; returns how many subscribers received it.
    pub async fn publish(&self, channel: &str, message: &str) -> Result<u64, CacheError> {
        let mut conn = self.connection().await?;
        tokio::time::timeout(
            REDIS_TIMEOUT,
            redis::cmd("PUBLISH").arg(channel).arg(message).query_async::<u64>(&mut conn),
        )
        .await
        .map_err(|_| CacheError::Timeout)?
        .map_err(CacheError::from)
    }

    /// Sends PING; returns the round-trip time.
    pub async fn ping(&self) -> Result<Duration, CacheError> {
        let start = Instant::now();
        let mut conn = self.connection().await?;
        let reply = tokio::time::timeout(REDIS_TIMEOUT, redis::cmd("PING").query_async::<String>(&mut conn))
            .await
            .map_err(|_| CacheError::Timeout)??;
        if reply != "PONG" {
            return Err(CacheError::UnexpectedReply(reply));
        }
        Ok(start.elapsed())
    }

    /// Writes a short-lived key, reads it back and deletes it; returns the time all three
    /// took. Proves Redis takes writes (a replica or a full `maxmemory` with `noeviction`
    /// answers PING but refuses SET).
    pub async fn write_and_read_back(&self) -> Result<Duration, CacheError> {
        let start = Instant::now();
        let mut conn = self.connection().await?;
        let key = format!("kairos:preflight:{}", uuid::Uuid::now_v7());
        let value = uuid::Uuid::now_v7().to_string();
        let round_trip = async {
            redis::cmd("SET").arg(&key).arg(&value).arg("PX").arg(30_000).query_async::<()>(&mut conn).await?;
            let read: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
            redis::cmd("DEL").arg(&key).query_async::<()>(&mut conn).await?;
            Ok::<_, redis::RedisError>(read)
        };
        let read = tokio::time::timeout(REDIS_TIMEOUT * 3, round_trip).await.map_err(|_| CacheError::Timeout)??;
        if read.as_deref() != Some(value.as_str()) {
            return Err(CacheError::UnexpectedReply(format!("wrote {value}, read back {read:?}")));
        }
        Ok(start.elapsed())
    }
}
