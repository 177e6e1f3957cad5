//! One websocket connection: subscriptions, forwarding the venue's events, keepalive, token
//! expiry, slow consumers and cancel-on-disconnect.

use kairos_domain::ErrorCode;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use kairos_domain::{Role, Scope, Venue};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use kairos_platform::config::RateClass;

use super::limits::RECHECK_EVERY;
use super::protocol::{self, Channel, ClientMessage};
use crate::access::route_rules::Access;
use crate::access::{Principal, authorize};
use crate::state::AppState;
use kairos_venues::common::CancelCause;

pub const CLOSE_UNAUTHORIZED: u16 = 4401;
/// The connection fell too far behind the stream: it is closed rather than buffered.
pub const CLOSE_SLOW_CONSUMER: u16 = 4408;
const PING_EVERY: Duration = Duration::from_secs(20);
const BOOK_HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

pub async fn close(socket: &mut WebSocket, code: u16, reason: ErrorCode) {
    let frame = CloseFrame { code, reason: reason.as_str().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn send(socket: &mut WebSocket, value: &Value) -> bool {
    socket.send(Message::Text(value.to_string().into())).await.is_ok()
}

struct Session {
    state: AppState,
    principal: Principal,
    subscribed: HashSet<Channel>,
    /// Last `seq` sent per book.
    seen: HashMap<(String, usize), u64>,
    cancel_on_disconnect: bool,
}

impl Session {
    /// Handles one client message; returns the replies. Every message spends the caller's
    /// read budget, as a REST read would.
    async fn handle(&mut self, text: &str) -> Vec<Value> {
        let decision =
            self.state.limiter().check(RateClass::Read, self.principal.kind(), &self.principal.rate_key()).await;
        if !decision.allowed {
            return vec![serde_json::json!({ "type": "error", "code": ErrorCode::RateLimited,
                "message": "too many messages; slow down", "retry_after": decision.reset_secs })];
        }
        let message = match protocol::parse(text) {
            Ok(m) => m,
            Err(e) => return vec![e],
        };
        match message {
            ClientMessage::Ping => vec![serde_json::json!({ "type": "pong" })],
            ClientMessage::CancelOnDisconnect { enabled } => {
                if enabled && authorize(Access::RoleOrKey(Role::User, Scope::Trade), &self.principal).is_err() {
                    return vec![protocol::error(
                        ErrorCode::InsufficientScope,
                        "cancel-on-disconnect needs the trade scope",
                    )];
                }
                self.cancel_on_disconnect = enabled;
                vec![serde_json::json!({ "type": "cancel_on_disconnect", "enabled": enabled })]
            }
            ClientMessage::Unsubscribe(channel) => {
                if let Channel::Book { market_id, book } = &channel {
                    self.seen.remove(&(market_id.clone(), *book));
                }
                let was = self.subscribed.remove(&channel);
                vec![serde_json::json!({ "type": "unsubscribed", "was_subscribed": was })]
            }
            ClientMessage::Subscribe(channel) => self.subscribe(channel).await,
        }
    }

    async fn subscribe(&mut self, channel: Channel) -> Vec<Value> {
        let market_id = match &channel {
            Channel::Book { market_id, .. } | Channel::Trades { market_id } => Some(market_id.clone()),
            Channel::Orders | Channel::Fills => None,
        };
        if matches!(channel, Channel::Orders | Channel::Fills)
            && authorize(Access::RoleOrKey(Role::User, Scope::Read), &self.principal).is_err()
        {
            return vec![protocol::error(
                ErrorCode::InsufficientScope,
                "the orders and fills channels need the read scope",
            )];
        }
        if let Some(id) = &market_id {
            // The catalog's snapshot first; only a well-formed id it does not hold yet (a market
            // made in the last second) is looked up, within the read budget spent above.
            let market = match self.state.catalog().cached(id) {
                Some(m) => Some(m),
                None if kairos_domain::parse_id(id).is_some() => {
                    match self.state.catalog().market(self.state.db(), id).await {
                        Ok(m) => m,
                        Err(_) => {
                            return vec![protocol::error(
                                ErrorCode::Unavailable,
                                "the market could not be read; retry",
                            )];
                        }
                    }
                }
                None => None,
            };
            match market {
                Some(m) if m.venue == Venue::Paper => {
                    let books = if m.outcomes.len() == 2 { 1 } else { m.outcomes.len() };
                    if let Channel::Book { book, .. } = &channel
                        && *book >= books
                    {
                        return vec![protocol::error(ErrorCode::InvalidBook, &format!("book must be below {books}"))];
                    }
                }
                Some(_) => return vec![protocol::error(ErrorCode::NotAPaperMarket, "streams serve paper markets")],
                None => {
                    return vec![protocol::error(
                        ErrorCode::UnknownMarket,
                        "there is no such market (a new one: retry in a second)",
                    )];
                }
            }
        }
        let mut replies = vec![serde_json::json!({ "type": "subscribed", "channel": channel_name(&channel) })];
        if let Channel::Book { market_id, book } = &channel {
            // Subscribing again is how a client resynchronises: a fresh snapshot every time.
            let view = self.state.venues().paper.book(market_id, *book);
            self.seen.insert((market_id.clone(), *book), view.seq);
            replies.push(protocol::snapshot(market_id, *book, view.seq, &view.bids, &view.asks));
        }
        self.subscribed.insert(channel);
        replies
    }
}

/// The connection's credentials checked again: the close code's reason when they no longer
/// hold. A store that cannot be read keeps the connection (the next check tries again).
async fn still_valid(session: &Session) -> Result<(), ErrorCode> {
    match crate::access::recheck(&session.state, &session.principal).await {
        Ok(()) => Ok(()),
        Err(e) if e.status().as_u16() == 401 => Err(e.code()),
        Err(_) => Ok(()),
    }
}

fn channel_name(c: &Channel) -> &'static str {
    match c {
        Channel::Book { .. } => "book",
        Channel::Trades { .. } => "trades",
        Channel::Orders => "orders",
        Channel::Fills => "fills",
    }
}

/// Runs an authenticated connection until either side ends it.
pub async fn run(mut socket: WebSocket, state: AppState, principal: Principal) {
    let expires_in = match &principal {
        Principal::User { expires_at_s, .. } => {
            let now_s = kairos_domain::now_us() / 1_000_000;
            Some(Duration::from_secs(u64::try_from(expires_at_s - now_s).unwrap_or(0)))
        }
        Principal::Key { .. } => None,
    };
    let expiry = async {
        match expires_in {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let mut events = state.venues().paper.subscribe();
    let mut changes = state.credential_changes();
    let mut recheck = tokio::time::interval(RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heartbeat = tokio::time::interval(BOOK_HEARTBEAT_EVERY);
    let user_id = principal.user_id().to_string();
    let mut session =
        Session { state, principal, subscribed: HashSet::new(), seen: HashMap::new(), cancel_on_disconnect: false };
    loop {
        tokio::select! {
            () = &mut expiry => {
                close(&mut socket, CLOSE_UNAUTHORIZED, ErrorCode::TokenExpired).await;
                break;
            }
            _ = recheck.tick() => {
                if let Err(code) = still_valid(&session).await {
                    close(&mut socket, CLOSE_UNAUTHORIZED, code).await;
                    break;
                }
            }
            changed = changes.recv() => {
                let ours = match &changed {
                    Ok(who) => *who == user_id,
                    // Missed some: check, to be safe.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => false,
                };
                if ours && let Err(code) = still_valid(&session).await {
                    close(&mut socket, CLOSE_UNAUTHORIZED, code).await;
                    break;
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            }
            _ = heartbeat.tick() => {
                let beats: Vec<Value> = session
                    .seen
                    .keys()
                    .map(|(m, b)| protocol::heartbeat(m, *b, session.state.venues().paper.book(m, *b).seq))
                    .collect();
                let mut ok = true;
                for beat in beats {
                    ok &= send(&mut socket, &beat).await;
                }
                if !ok { break; }
            }
            event = events.recv() => match event {
                Ok(event) => {
                    if let Some(message) = protocol::render(&event, &user_id, &session.subscribed, &session.seen) {
                        if let kairos_venues::common::StreamEvent::Book { market_id, book, seq, .. } = event.as_ref() {
                            session.seen.insert((market_id.clone(), *book), *seq);
                        }
                        if !send(&mut socket, &message).await { break; }
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    metrics::counter!("kairos_ws_slow_consumers_total").increment(1);
                    close(&mut socket, CLOSE_SLOW_CONSUMER, ErrorCode::SlowConsumer).await;
                    break;
                }
                Err(RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    for reply in session.handle(&text).await {
                        if !send(&mut socket, &reply).await { break; }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    }
    if session.cancel_on_disconnect {
        let result = session
            .state
            .venues()
            .cancel_everywhere_because(session.state.db(), &user_id, None, CancelCause::Disconnected)
            .await;
        match result {
            Ok(orders) => tracing::info!(user_id, cancelled = orders.len(), "cancel-on-disconnect"),
            Err(e) => tracing::error!(user_id, error = %e, "cancel-on-disconnect failed"),
        }
    }
}
