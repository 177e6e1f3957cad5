//! Exchange contract addresses by chain, exchange version and neg-risk (the official clients'
//! configuration; Polygon 137 and Amoy 80002).
//!
//! Version 3 (Protocol V2 positions) has one exchange, ExchangeV3, for every market: the
//! official clients (py-clob-client-v2 1.2.1 `client.py`, polymarket-client 0.14.0
//! `resolve_order_exchange_address`) ignore `neg_risk` there, and so does this table.

use crate::address;
use crate::eth::Address;

use crate::orders::Version;

/// The verifying contract of an order's EIP-712 domain, or `None` for an unknown chain.
pub fn exchange(chain_id: u64, version: Version, neg_risk: bool) -> Option<Address> {
    Some(match (chain_id, version, neg_risk) {
        (137, Version::V1, false) => address!("4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"),
        (80002, Version::V1, false) => address!("dFE02Eb6733538f8Ea35D585af8DE5958AD99E40"),
        (137 | 80002, Version::V1, true) => address!("C5d563A36AE78145C45a50134d48A1215220f80a"),
        (137 | 80002, Version::V2, false) => address!("E111180000d2663C0091e4f400237545B87B996B"),
        (137 | 80002, Version::V2, true) => address!("e2222d279d744050d28e00520010520000310F59"),
        (137, Version::V3, _) => address!("e3333700cA9d93003F00f0F71f8515005F6c00Aa"),
        (80002, Version::V3, _) => address!("9fE6e61422AdB6F610d8597F9684b16912D50C3D"),
        _ => return None,
    })
}
