//! Solana's websocket subscriptions on the chain's own port (`ws://` at the RPC URL's
//! address), so clients can be pushed what they would otherwise poll for: `programSubscribe`,
//! `accountSubscribe`, `signatureSubscribe`, `slotSubscribe` and their `…Unsubscribe`, with
//! notifications shaped as a validator sends them.
//!
//! The chain's thread publishes one [`Landed`] per transaction that lands (with the accounts
//! it wrote, after the write); each connection turns those into its subscribers'
//! notifications. A connection that falls behind the chain's event queue is closed rather than
//! left with a gap: a client sees its subscription end and reads the chain again, exactly as
//! after a validator drops it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use serde_json::{Value, json};
use solana_account::Account;
use solana_program::pubkey::Pubkey;
use solana_transaction_error::TransactionError;
use tokio::sync::broadcast;

use crate::node::{Filter, account_json, parse_filters};
use crate::rpc::{self, RpcError};

/// A transaction that landed, as subscribers see it.
#[derive(Debug, Clone)]
pub struct Landed {
    pub signature: String,
    pub slot: u64,
    pub err: Option<TransactionError>,
    /// Every account the transaction could write, as it is after the transaction (absent
    /// when the transaction closed it).
    pub accounts: Vec<(Pubkey, Option<Account>)>,
}

/// What a connection's subscription follows.
#[derive(Debug)]
enum Subscription {
    Program { program: Pubkey, filters: Vec<Filter> },
    Account(Pubkey),
    Signature(String),
    Slot,
}

impl Subscription {
    fn kind(&self) -> &'static str {
        match self {
            Subscription::Program { .. } => "program",
            Subscription::Account(_) => "account",
            Subscription::Signature(_) => "signature",
            Subscription::Slot => "slot",
        }
    }
}

/// How a connection asks the chain whether a signature already landed (`(slot, err)`).
pub type LandedLookup = Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, Option<(u64, Option<TransactionError>)>> + Send + Sync,
>;

/// Serves one websocket connection until the client leaves or falls behind.
pub async fn serve(mut socket: WebSocket, mut events: broadcast::Receiver<Arc<Landed>>, lookup: LandedLookup) {
    let mut subscriptions: HashMap<u64, Subscription> = HashMap::new();
    let mut next_id: u64 = 1;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(data))) => {
                        if socket.send(Message::Pong(data)).await.is_err() { return; }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let mut out = Vec::new();
                let answer = match serde_json::from_str::<Value>(text.as_str()) {
                    Err(_) => json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": "Parse error" } }),
                    Ok(request) => match rpc::parse(&request) {
                        Err(answer) => answer,
                        Ok((method, params, id)) => {
                            let result = request_answer(&method, &params, &mut subscriptions, &mut next_id);
                            // A signature that landed before its subscription is notified at once.
                            if let Ok(sid) = &result
                                && let Some(sid) = sid.as_u64()
                                && let Some(Subscription::Signature(signature)) = subscriptions.get(&sid)
                                && let Some((slot, err)) = lookup(signature.clone()).await
                            {
                                subscriptions.remove(&sid);
                                out.push(signature_notification(sid, slot, err.as_ref()));
                            }
                            rpc::answer(id, result)
                        }
                    },
                };
                if socket.send(Message::Text(answer.to_string().into())).await.is_err() {
                    return;
                }
                for note in out {
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
            event = events.recv() => {
                let landed = match event {
                    Ok(landed) => landed,
                    // Behind the queue: notifications were lost, so end the connection; the
                    // client reads the chain again instead of trusting a gap.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a websocket subscriber fell behind; closing it");
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                };
                for note in notifications(&landed, &mut subscriptions) {
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The answer to a subscribe or unsubscribe request: the new subscription's id, or `true`.
fn request_answer(
    method: &str,
    params: &[Value],
    subscriptions: &mut HashMap<u64, Subscription>,
    next_id: &mut u64,
) -> Result<Value, RpcError> {
    let address = |i: usize, what: &str| -> Result<Pubkey, RpcError> {
        rpc::string_param(params, i, what)?
            .parse()
            .map_err(|_| RpcError::invalid_params(format!("Invalid param: {what} is not a base58 address")))
    };
    let subscription = match method {
        "programSubscribe" => {
            let program = address(0, "a program id")?;
            let config = rpc::config_param(params, 1);
            Subscription::Program { program, filters: parse_filters(config.get("filters"))? }
        }
        "accountSubscribe" => Subscription::Account(address(0, "an address")?),
        "signatureSubscribe" => {
            let signature = rpc::string_param(params, 0, "a signature")?;
            if bs58::decode(&signature).into_vec().map(|b| b.len()) != Ok(64) {
                return Err(RpcError::invalid_params("Invalid param: not a signature"));
            }
            Subscription::Signature(signature)
        }
        "slotSubscribe" => Subscription::Slot,
        unsubscribe if unsubscribe.ends_with("Unsubscribe") => {
            let sid =
                params.first().and_then(Value::as_u64).ok_or_else(|| RpcError::invalid_params("a subscription id"))?;
            let kind = unsubscribe.trim_end_matches("Unsubscribe");
            return match subscriptions.get(&sid) {
                Some(s) if s.kind() == kind => {
                    subscriptions.remove(&sid);
                    Ok(json!(true))
                }
                _ => Err(RpcError::invalid_params("Invalid subscription id.")),
            };
        }
        other => return Err(RpcError::method_not_found(other)),
    };
    let sid = *next_id;
    *next_id += 1;
    subscriptions.insert(sid, subscription);
    Ok(json!(sid))
}

fn notification(method: &str, sid: u64, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": { "result": result, "subscription": sid } })
}

fn signature_notification(sid: u64, slot: u64, err: Option<&TransactionError>) -> Value {
    notification("signatureNotification", sid, json!({ "context": { "slot": slot }, "value": { "err": err } }))
}

/// What one landed transaction tells a connection's subscribers. A signature subscription
/// ends with its one notification, as on a validator.
fn notifications(landed: &Landed, subscriptions: &mut HashMap<u64, Subscription>) -> Vec<Value> {
    let context = json!({ "slot": landed.slot });
    let mut out = Vec::new();
    let mut finished = Vec::new();
    let mut ids: Vec<&u64> = subscriptions.keys().collect();
    ids.sort();
    for sid in ids {
        match &subscriptions[sid] {
            Subscription::Program { program, filters } => {
                for (key, account) in &landed.accounts {
                    let Some(account) = account else { continue };
                    if account.owner == *program && filters.iter().all(|f| f.matches(&account.data)) {
                        let value = json!({ "pubkey": key.to_string(), "account": account_json(account) });
                        out.push(notification(
                            "programNotification",
                            *sid,
                            json!({ "context": context, "value": value }),
                        ));
                    }
                }
            }
            Subscription::Account(address) => {
                if let Some((_, account)) = landed.accounts.iter().find(|(key, _)| key == address) {
                    // A closed account is notified as the empty system account it becomes.
                    let value = account.as_ref().map_or_else(
                        || {
                            json!({ "lamports": 0, "owner": "11111111111111111111111111111111",
                                "data": ["", "base64"], "executable": false, "rentEpoch": 0, "space": 0 })
                        },
                        account_json,
                    );
                    out.push(notification("accountNotification", *sid, json!({ "context": context, "value": value })));
                }
            }
            Subscription::Signature(signature) => {
                if *signature == landed.signature {
                    out.push(signature_notification(*sid, landed.slot, landed.err.as_ref()));
                    finished.push(*sid);
                }
            }
            Subscription::Slot => out.push(notification(
                "slotNotification",
                *sid,
                json!({ "slot": landed.slot, "parent": landed.slot.saturating_sub(1), "root": landed.slot }),
            )),
        }
    }
    for sid in finished {
        subscriptions.remove(&sid);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landed(owner: Pubkey, data: Vec<u8>) -> (Pubkey, Landed) {
        let key = Pubkey::new_unique();
        let account = Account { lamports: 1, data, owner, executable: false, rent_epoch: 0 };
        let landed = Landed { signature: "sig".into(), slot: 9, err: None, accounts: vec![(key, Some(account))] };
        (key, landed)
    }

    #[test]
    fn program_subscriptions_see_only_their_program_s_accounts_that_pass_the_filters() {
        let program = Pubkey::new_unique();
        let mut subs = HashMap::new();
        let mut next = 1;
        let filters = json!([{ "dataSize": 3 }]);
        let sid = request_answer(
            "programSubscribe",
            &[json!(program.to_string()), json!({ "filters": filters })],
            &mut subs,
            &mut next,
        )
        .expect("subscribed");
        assert_eq!(sid, json!(1));
        let (key, matching) = landed(program, vec![1, 2, 3]);
        let notes = notifications(&matching, &mut subs);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["method"], "programNotification");
        assert_eq!(notes[0]["params"]["subscription"], 1);
        assert_eq!(notes[0]["params"]["result"]["context"]["slot"], 9);
        assert_eq!(notes[0]["params"]["result"]["value"]["pubkey"], key.to_string());
        let (_, wrong_size) = landed(program, vec![1, 2]);
        assert!(notifications(&wrong_size, &mut subs).is_empty(), "the dataSize filter holds");
        let (_, other_owner) = landed(Pubkey::new_unique(), vec![1, 2, 3]);
        assert!(notifications(&other_owner, &mut subs).is_empty(), "another program's account");
        assert_eq!(request_answer("programUnsubscribe", &[json!(1)], &mut subs, &mut next), Ok(json!(true)));
        assert!(notifications(&matching, &mut subs).is_empty(), "nothing after unsubscribing");
        assert!(request_answer("programUnsubscribe", &[json!(1)], &mut subs, &mut next).is_err(), "unknown id");
    }

    #[test]
    fn a_signature_subscription_is_notified_once_with_the_error() {
        let mut subs = HashMap::new();
        let mut next = 1;
        let signature = bs58::encode([7u8; 64]).into_string();
        request_answer("signatureSubscribe", &[json!(signature)], &mut subs, &mut next).expect("subscribed");
        assert!(request_answer("signatureSubscribe", &[json!("abc")], &mut subs, &mut next).is_err());
        let landed = Landed {
            signature: signature.clone(),
            slot: 4,
            err: Some(TransactionError::AccountInUse),
            accounts: vec![],
        };
        let notes = notifications(&landed, &mut subs);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["method"], "signatureNotification");
        assert_eq!(notes[0]["params"]["result"]["value"]["err"], json!("AccountInUse"));
        assert!(notifications(&landed, &mut subs).is_empty(), "a signature subscription ends with its notification");
    }
}
