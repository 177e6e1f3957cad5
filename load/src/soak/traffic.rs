//! The soak's REST clients: traders that place signed orders at a steady rate and cancel their
//! oldest resting ones (so the books stay the same size however long the soak runs), and
//! readers that walk the public and private read routes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::window::{Class, Outcome, Window};
use crate::Signer;

/// What every client of one soak shares.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub client: reqwest::Client,
    pub base_url: String,
    pub market_id: String,
    pub window: Arc<Window>,
    pub deadline: tokio::time::Instant,
}

/// Sends one request (signed when a signer is given), records how it ended, and gives the body
/// of a 2xx answer.
async fn send(
    ctx: &Ctx,
    signer: Option<&Signer>,
    class: Class,
    method: Method,
    path: &str,
    body: String,
) -> Option<Value> {
    let mut request = ctx.client.request(method.clone(), format!("{}{path}", ctx.base_url));
    if let Some(signer) = signer {
        for (name, value) in signer.headers(method.as_str(), path, body.as_bytes()) {
            request = request.header(name, value);
        }
    }
    if !body.is_empty() {
        request = request.header("content-type", "application/json").body(body);
    }
    let began = Instant::now();
    let answer = match request.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let value: Value = res.json().await.unwrap_or_default();
            Ok((status, value))
        }
        Err(e) => Err(crate::transport_kind(&e)),
    };
    let latency = began.elapsed();
    match answer {
        Ok((status, value)) if (200..300).contains(&status) => {
            ctx.window.request(class, latency, Outcome::Ok);
            Some(value)
        }
        Ok((status, value)) => {
            let code = value["error"]["code"].as_str().unwrap_or("").to_string();
            let outcome =
                if status >= 500 { Outcome::ServerError(status, code) } else { Outcome::Refused(status, code) };
            ctx.window.request(class, latency, outcome);
            None
        }
        Err(kind) => {
            ctx.window.request(class, latency, Outcome::Transport(kind));
            // A server that does not answer is not hammered.
            tokio::time::sleep(Duration::from_millis(20)).await;
            None
        }
    }
}

fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(period);
    // After a stall the soak goes on at its rate instead of catching up with a burst.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Places one order per `period`; keeps at most `keep` of its orders resting by cancelling the
/// oldest. A cancel that finds the order filled meanwhile is refused (a 4xx), as it should be.
pub(crate) async fn trader(ctx: Ctx, signer: Signer, worker: usize, period: Duration, keep: usize) {
    let mut resting = VecDeque::with_capacity(keep + 1);
    let mut tick = ticker(period);
    let mut n = 0u64;
    while tokio::time::Instant::now() < ctx.deadline {
        tick.tick().await;
        n += 1;
        let body = crate::order_body(&ctx.market_id, worker, n).to_string();
        if let Some(order) = send(&ctx, Some(&signer), Class::Order, Method::POST, "/v1/orders", body).await {
            let live = matches!(order["status"].as_str(), Some("open" | "partially_filled"));
            if let (true, Some(id)) = (live, order["id"].as_str()) {
                resting.push_back(id.to_string());
            }
        }
        while resting.len() > keep {
            let Some(id) = resting.pop_front() else { break };
            let path = format!("/v1/orders/{id}");
            send(&ctx, Some(&signer), Class::Cancel, Method::DELETE, &path, String::new()).await;
        }
    }
}

/// The read routes, in the order a reader walks them: `true` when the route needs the key.
fn read_routes(market_id: &str) -> Vec<(bool, String)> {
    vec![
        (false, "/v1/markets?limit=50".to_string()),
        (false, format!("/v1/markets/{market_id}/book")),
        (true, "/v1/balances".to_string()),
        (false, format!("/v1/markets/{market_id}")),
        (true, "/v1/orders?open=true&limit=50".to_string()),
        (true, "/v1/fills?limit=50".to_string()),
        (true, "/v1/positions".to_string()),
    ]
}

/// One read per `period`, round the read routes.
pub(crate) async fn reader(ctx: Ctx, signer: Signer, period: Duration) {
    let routes = read_routes(&ctx.market_id);
    let mut tick = ticker(period);
    for (signed, path) in routes.iter().cycle() {
        if tokio::time::Instant::now() >= ctx.deadline {
            break;
        }
        tick.tick().await;
        let signer = signed.then_some(&signer);
        send(&ctx, signer, Class::Read, Method::GET, path, String::new()).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn readers_walk_public_and_private_routes_of_the_market() {
        let routes = super::read_routes("m-1");
        assert!(routes.iter().any(|(signed, _)| *signed) && routes.iter().any(|(signed, _)| !*signed));
        assert!(routes.iter().any(|(_, path)| path == "/v1/markets/m-1/book"));
    }
}
