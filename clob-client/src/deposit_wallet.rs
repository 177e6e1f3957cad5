//! Deposit wallets: the POLY_1271 accounts new Polymarket users trade through, and the checks
//! that catch the most common setup mistake with them.
//!
//! Since the V2 cutover the CLOB refuses orders from a new account's own address ("maker
//! address not allowed, please use the deposit wallet flow"): such an account trades through
//! its deposit wallet, an ERC-1967 proxy the wallet factory deploys for the owner key, with
//! signature type 3 (POLY_1271) and maker = signer = the wallet (Polymarket's "Deposit
//! wallets" page). No CLOB endpoint names the wallet; it is the CREATE2 address of the proxy
//! the factory deploys for the owner, from the current beacon factory or, for wallets made
//! before it, the legacy UUPS one (polymarket-client 0.14.0 `_internal/wallet.py`;
//! `test_data/deposit_wallets.json` holds its derivations, made by
//! `fixtures/gen_deposit_wallets.py`).

use crate::address;
use crate::eth::{Address, hex_const, keccak256};

use crate::orders::SIGNATURE_TYPE_POLY_1271;

/// The deposit-wallet factory on Polygon (137); the wallets are Polygon only.
pub const FACTORY: Address = address!("00000000000Fb5C9ADea0298D729A0CB3823Cc07");
/// The beacon the current factory's proxies follow.
pub const BEACON: Address = address!("7A18EDfe055488A3128f01F563e5B479D92ffc3a");
/// The implementation the legacy (UUPS) proxies point at.
pub const LEGACY_IMPLEMENTATION: Address = address!("58CA52ebe0DadfdF531Cde7062e76746de4Db1eB");

/// The two addresses an owner's deposit wallet can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositWallet {
    /// From the current (beacon) factory: the wallet of an account made today.
    pub current: Address,
    /// From the legacy (UUPS) factory, for wallets deployed before the beacon.
    pub legacy: Address,
}

impl DepositWallet {
    pub fn is_either(&self, a: Address) -> bool {
        a == self.current || a == self.legacy
    }
}

/// The deposit wallet `owner` would have on `chain_id`; `None` off Polygon.
pub fn derive(owner: Address, chain_id: u64) -> Option<DepositWallet> {
    (chain_id == 137).then(|| {
        // The proxy's immutable args: abi.encode(factory, bytes32(owner)).
        let mut args = [0u8; 64];
        args[12..32].copy_from_slice(FACTORY.as_slice());
        args[44..64].copy_from_slice(owner.as_slice());
        let salt = keccak256(args);
        DepositWallet {
            current: FACTORY.create2(salt, keccak256(beacon_proxy_init_code(&args))),
            legacy: FACTORY.create2(salt, keccak256(uups_proxy_init_code(&args))),
        }
    })
}

/// Solady's ERC-1967 beacon proxy with immutable args (LibClone `initCodeERC1967BeaconProxy`):
/// `PUSH2` of the runtime length, the copy-and-return head, the beacon, the runtime, the args.
fn beacon_proxy_init_code(args: &[u8; 64]) -> Vec<u8> {
    const RUNTIME: [u8; 87] = hex_const(concat!(
        "60195155f3363d3d373d3d363d602036600436635c60da",
        "1b60e01b36527fa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6c",
        "b3582b35133d50545afa5036515af43d6000803e604d573d6000fd5b3d6000f3"
    ));
    proxy_init_code(0x0052, BEACON, &RUNTIME, args)
}

/// Solady's ERC-1967 proxy with immutable args (LibClone `initCodeERC1967`).
fn uups_proxy_init_code(args: &[u8; 64]) -> Vec<u8> {
    const RUNTIME: [u8; 66] = hex_const(concat!(
        "6009",
        "5155f3363d3d373d3d363d7f360894a13ba1a3210667c828492db98dca3e2076",
        "cc3735a920a3ca505d382bbc545af43d6000803e6038573d6000fd5b3d6000f3"
    ));
    proxy_init_code(0x003d, LEGACY_IMPLEMENTATION, &RUNTIME, args)
}

fn proxy_init_code(base_len: u16, target: Address, runtime: &[u8], args: &[u8; 64]) -> Vec<u8> {
    const HEAD: [u8; 7] = hex_const("3d8160233d3973");
    let mut code = Vec::with_capacity(3 + HEAD.len() + 20 + runtime.len() + args.len());
    code.push(0x61);
    code.extend_from_slice(&(base_len + 64).to_be_bytes());
    code.extend_from_slice(&HEAD);
    code.extend_from_slice(target.as_slice());
    code.extend_from_slice(runtime);
    code.extend_from_slice(args);
    code
}

/// How bad a finding about an account's settings is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Orders cannot work: refuse to start.
    Error,
    /// May be intended (a session signer), but say so.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

/// Checks what an account's settings say against what the CLOB will accept: `key` is the
/// signing key's address, `funder` the order maker when it is not the key. Messages name the
/// fix with the words `signature_type` and `funder` (the CLI's fields), which a caller with
/// other names for them may replace.
pub fn check_account(key: Address, signature_type: u8, funder: Option<Address>, chain_id: u64) -> Vec<Finding> {
    let wallet = derive(key, chain_id);
    let wallet_hint = match wallet {
        Some(w) => format!(
            "this key's deposit wallet is {} ({} if it was deployed by the legacy factory)",
            w.current, w.legacy
        ),
        None => "deposit wallets exist on Polygon (chain 137) only".to_string(),
    };
    let error = |message: String| Finding { severity: Severity::Error, message };
    let mut findings = Vec::new();
    match (signature_type, funder) {
        (SIGNATURE_TYPE_POLY_1271, None) => findings.push(error(format!(
            "signature_type=3 (deposit wallet) trades as the wallet: set funder to it; {wallet_hint}"
        ))),
        (SIGNATURE_TYPE_POLY_1271, Some(f)) if f == key => findings.push(error(format!(
            "signature_type=3 needs funder = the deposit wallet, not the signing key; {wallet_hint}"
        ))),
        (SIGNATURE_TYPE_POLY_1271, Some(f)) if wallet.is_some_and(|w| !w.is_either(f)) => findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "funder {f} is not the deposit wallet of the signing key {key}: right only if the key is a session signer that wallet approved; {wallet_hint}"
            ),
        }),
        (0, Some(f)) if f != key => findings.push(error(format!(
            "signature_type=0 (EOA) trades from the signing key {key} itself, not funder {f}; for a deposit wallet use signature_type=3"
        ))),
        (1 | 2, None) => findings.push(error(
            "signature_type=1 (proxy) and signature_type=2 (Safe) trade as the proxy or Safe: set funder to its address".to_string(),
        )),
        (t, _) if t > SIGNATURE_TYPE_POLY_1271 => {
            findings.push(error(format!("signature_type={t} does not exist; 0 to 3")));
        }
        _ => {}
    }
    findings
}

/// The fix for the CLOB's refusal of an account that must use its deposit wallet, or `None`
/// when `message` is another refusal.
pub fn refusal_hint(message: &str, key: Address, chain_id: u64) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("deposit wallet") && lower.contains("maker address not allowed") {
        let wallet = derive(key, chain_id)
            .map(|w| format!("{} (or {} for a legacy wallet)", w.current, w.legacy))
            .unwrap_or_else(|| "the account's deposit wallet".to_string());
        return Some(format!(
            "this account must trade through its deposit wallet: signature_type=3 with funder {wallet}"
        ));
    }
    if lower.contains("signer address has to be the address of the api key") {
        return Some(
            "with signature_type=3 this usually means the deposit wallet is not deployed yet: make one trade on polymarket.com or deploy it through the relayer".to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_match_the_official_sdk() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../test_data/deposit_wallets.json")).expect("json");
        assert_eq!(data["factory"].as_str(), Some(FACTORY.to_checksum().as_str()));
        assert_eq!(data["beacon"].as_str(), Some(BEACON.to_checksum().as_str()));
        assert_eq!(data["implementation"].as_str(), Some(LEGACY_IMPLEMENTATION.to_checksum().as_str()));
        let rows = data["rows"].as_array().expect("rows");
        assert!(rows.len() >= 10);
        for row in rows {
            let owner: Address = row["owner"].as_str().expect("owner").parse().expect("address");
            let w = derive(owner, 137).expect("polygon");
            assert_eq!(Some(w.current.to_checksum().as_str()), row["beacon"].as_str(), "{owner}");
            assert_eq!(Some(w.legacy.to_checksum().as_str()), row["legacy"].as_str(), "{owner}");
        }
        assert_eq!(derive(Address::ZERO, 80002), None);
    }

    #[test]
    fn account_settings_that_cannot_trade_are_named() {
        let key = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let wallet = derive(key, 137).expect("polygon");
        let errors = |t, f| check_account(key, t, f, 137).into_iter().filter(|f| f.severity == Severity::Error).count();
        assert_eq!(errors(0, None), 0, "a plain EOA account");
        assert_eq!(errors(0, Some(key)), 0);
        assert_eq!(errors(3, Some(wallet.current)), 0);
        assert!(check_account(key, 3, Some(wallet.legacy), 137).is_empty(), "a legacy wallet");
        assert_eq!(errors(3, None), 1);
        let no_funder = check_account(key, 3, None, 137);
        assert!(no_funder[0].message.contains(&wallet.current.to_string()), "{:?}", no_funder);
        assert_eq!(errors(3, Some(key)), 1);
        assert_eq!(errors(0, Some(wallet.current)), 1, "a maker that is not the EOA");
        assert_eq!(errors(1, None), 1);
        assert_eq!(errors(4, None), 1);
        let other = check_account(key, 3, Some(address!("1111111111111111111111111111111111111111")), 137);
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].severity, Severity::Warning, "a session signer may trade for another wallet");
    }

    #[test]
    fn the_clobs_deposit_wallet_refusals_get_their_fix() {
        let key = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let hint = refusal_hint("maker address not allowed, please use the deposit wallet flow", key, 137)
            .expect("known refusal");
        assert!(
            hint.contains("signature_type=3") && hint.contains("0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"),
            "{hint}"
        );
        assert!(
            refusal_hint("the order signer address has to be the address of the API KEY", key, 137)
                .is_some_and(|h| h.contains("not deployed"))
        );
        assert_eq!(refusal_hint("not enough balance / allowance", key, 137), None);
    }
}
