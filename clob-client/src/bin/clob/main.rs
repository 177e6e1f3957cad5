//! `clob`: the operator's tool for checking signatures and amounts offline, and for
//! debugging a live account (`live.rs`: book, market, price history, API keys, a credentials
//! check, orders, trades, cancels, balance). Each subcommand
//! reads one JSON object on stdin and writes one JSON object on stdout; errors are JSON on
//! stderr with a non-zero exit, saying what is wrong.
//!
//! - `clob l2-sign`: `{"secret","timestamp","method","path","body"?}` → `{"signature"}`
//! - `clob l1-sign`: `{"private_key","chain_id","timestamp","nonce"}` → `{"address","signature"}`
//! - `clob order-amounts`: `{"side","price","size","tick_size","kind","rounding"?}` →
//!   `{"makerAmount","takerAmount"}`
//! - `clob sign-order`: `{"private_key","chain_id","version","neg_risk","order":{…}}` →
//!   `{"signature","orderHash"}`
//!
//! Numbers may be JSON numbers or strings. The subcommands that talk to a live CLOB are in
//! `live.rs`.

mod live;

use std::io::Read as _;
use std::process::ExitCode;
use std::str::FromStr as _;

use kairos_clob_client::auth::{l1, l2, signer::Signer, signer::hex0x};
use kairos_clob_client::contracts;
use kairos_clob_client::eth::{Address, B256, U256};
use kairos_clob_client::orders::{Version, domain, sign_v1, sign_v2, v1, v2};
use kairos_clob_client::rounding::{AmountSide, OrderKind, exact, python};
use serde_json::{Value, json};

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let mut input = String::new();
    let result = std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read stdin: {e}"))
        .and_then(|_| serde_json::from_str::<Value>(&input).map_err(|e| format!("stdin is not one JSON object: {e}")))
        .and_then(|v| run(&command, &v));
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", json!({ "error": e }));
            ExitCode::FAILURE
        }
    }
}

fn run(command: &str, v: &Value) -> Result<Value, String> {
    match command {
        "l2-sign" => l2_sign(v),
        "l1-sign" => l1_sign(v),
        "order-amounts" => order_amounts(v),
        "sign-order" => sign_order(v),
        live if live::COMMANDS.contains(&live) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?
            .block_on(live::run(live, v)),
        other => Err(format!(
            "unknown subcommand {other:?}; expected l2-sign, l1-sign, order-amounts, sign-order or one of {}",
            live::COMMANDS.join(", ")
        )),
    }
}

/// A field as text: strings as they are, numbers as written.
fn text(v: &Value, field: &str) -> Result<String, String> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(format!("{field}: expected a string or a number, got {other}")),
        None => Err(format!("missing field {field:?}")),
    }
}

fn u64_of(v: &Value, field: &str) -> Result<u64, String> {
    text(v, field)?.parse().map_err(|_| format!("{field}: expected a whole number"))
}

fn u256_of(v: &Value, field: &str) -> Result<U256, String> {
    let t = text(v, field)?;
    U256::from_str_radix(&t, 10).map_err(|_| format!("{field}: expected a decimal integer, got {t:?}"))
}

fn address_of(v: &Value, field: &str) -> Result<Address, String> {
    let t = text(v, field)?;
    Address::from_str(&t).map_err(|_| format!("{field}: {t:?} is not an address"))
}

fn b256_of(v: &Value, field: &str, default: B256) -> Result<B256, String> {
    match v.get(field) {
        None => Ok(default),
        Some(_) => {
            let t = text(v, field)?;
            B256::from_str(&t).map_err(|_| format!("{field}: {t:?} is not 32 bytes of hex"))
        }
    }
}

fn signer_of(v: &Value) -> Result<Signer, String> {
    Signer::from_hex(&text(v, "private_key")?).map_err(|e| e.to_string())
}

fn l2_sign(v: &Value) -> Result<Value, String> {
    let secret = l2::decode_secret(&text(v, "secret")?).map_err(|e| e.to_string())?;
    let body = match v.get("body") {
        None | Some(Value::Null) => None,
        Some(_) => Some(text(v, "body")?),
    };
    let signature =
        l2::signature(&secret, &text(v, "timestamp")?, &text(v, "method")?, &text(v, "path")?, body.as_deref());
    Ok(json!({ "signature": signature }))
}

fn l1_sign(v: &Value) -> Result<Value, String> {
    let signer = signer_of(v)?;
    let h = l1::L1Headers::new(&signer, u64_of(v, "chain_id")?, u64_of(v, "timestamp")?, u64_of(v, "nonce")?);
    Ok(json!({ "address": h.address, "signature": h.signature }))
}

fn side_of(v: &Value) -> Result<AmountSide, String> {
    match text(v, "side")?.as_str() {
        "BUY" => Ok(AmountSide::Buy),
        "SELL" => Ok(AmountSide::Sell),
        other => Err(format!("side: expected \"BUY\" or \"SELL\", got {other:?}")),
    }
}

fn order_amounts(v: &Value) -> Result<Value, String> {
    let kind = match text(v, "kind")?.as_str() {
        "limit" => OrderKind::Limit,
        "market" => OrderKind::Market,
        other => return Err(format!("kind: expected \"limit\" or \"market\", got {other:?}")),
    };
    let (side, tick, price, size) = (side_of(v)?, text(v, "tick_size")?, text(v, "price")?, text(v, "size")?);
    let rounding = if v.get("rounding").is_some() { text(v, "rounding")? } else { "exact".to_string() };
    let (maker, taker) = match rounding.as_str() {
        "exact" => exact::amounts(kind, side, &tick, &price, &size),
        "python" => python::amounts(kind, side, &tick, &price, &size),
        other => return Err(format!("rounding: expected \"exact\" or \"python\", got {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    Ok(json!({ "makerAmount": maker.to_string(), "takerAmount": taker.to_string() }))
}

fn sign_order(v: &Value) -> Result<Value, String> {
    let signer = signer_of(v)?;
    let chain = u64_of(v, "chain_id")?;
    let version = match u64_of(v, "version")? {
        1 => Version::V1,
        2 => Version::V2,
        3 => Version::V3,
        other => return Err(format!("version: expected 1, 2 or 3, got {other}")),
    };
    let neg_risk = v.get("neg_risk").and_then(Value::as_bool).unwrap_or(false);
    let exchange = contracts::exchange(chain, version, neg_risk)
        .ok_or_else(|| format!("no exchange for chain {chain}, version {version:?}, neg_risk {neg_risk}"))?;
    let o = v.get("order").ok_or("missing field \"order\"")?;
    let side = match text(o, "side")?.as_str() {
        "BUY" | "0" => 0u8,
        "SELL" | "1" => 1u8,
        other => return Err(format!("order.side: expected \"BUY\" or \"SELL\", got {other:?}")),
    };
    let signature_type = u8::try_from(u64_of(o, "signatureType")?).map_err(|_| "order.signatureType: 0 to 3")?;
    let maker = address_of(o, "maker")?;
    let order_signer = if o.get("signer").is_some() { address_of(o, "signer")? } else { maker };
    let d = domain(version, chain, exchange);
    let signed = match version {
        Version::V1 => {
            let order = v1::Order {
                salt: u256_of(o, "salt")?,
                maker,
                signer: order_signer,
                taker: if o.get("taker").is_some() { address_of(o, "taker")? } else { Address::ZERO },
                tokenId: u256_of(o, "tokenId")?,
                makerAmount: u256_of(o, "makerAmount")?,
                takerAmount: u256_of(o, "takerAmount")?,
                expiration: if o.get("expiration").is_some() { u256_of(o, "expiration")? } else { U256::ZERO },
                nonce: if o.get("nonce").is_some() { u256_of(o, "nonce")? } else { U256::ZERO },
                feeRateBps: if o.get("feeRateBps").is_some() { u256_of(o, "feeRateBps")? } else { U256::ZERO },
                side,
                signatureType: signature_type,
            };
            sign_v1(&signer, &order, &d)
        }
        Version::V2 | Version::V3 => {
            // `expiration` travels on the wire but is not part of the signed struct.
            let order = v2::Order {
                salt: u256_of(o, "salt")?,
                maker,
                signer: order_signer,
                tokenId: u256_of(o, "tokenId")?,
                makerAmount: u256_of(o, "makerAmount")?,
                takerAmount: u256_of(o, "takerAmount")?,
                side,
                signatureType: signature_type,
                timestamp: u256_of(o, "timestamp")?,
                metadata: b256_of(o, "metadata", B256::ZERO)?,
                builder: b256_of(o, "builder", B256::ZERO)?,
            };
            sign_v2(&signer, &order, &d)
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(json!({ "signature": hex0x(&signed.signature), "orderHash": hex0x(signed.order_hash.as_slice()) }))
}
