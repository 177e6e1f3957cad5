//! The `flash` CLI's JSON formats and commands, as plain functions the tests call. 32-byte
//! values are accepted with or without `0x` and printed with it; ticks, strikes and edges are
//! accepted as JSON integers or decimal strings.

use std::path::Path;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::CircuitError;
use crate::field::{hex_bytes, hex32, parse_bytes32};
use crate::keys::Keys;
use crate::statement::{Statement, rule_from};

/// A u64 given as a JSON integer or a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal(pub u64);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Str(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a non-negative integer or a decimal string"))?
        {
            Raw::Int(v) => Ok(Self(v)),
            Raw::Str(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().map(Self).map_err(|_| serde::de::Error::custom(format!("{s:?} does not fit in 64 bits")))
            }
            Raw::Str(s) => Err(serde::de::Error::custom(format!("{s:?} is not a decimal integer"))),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub kind: String,
    pub strike: Option<Decimal>,
    pub edges: Option<Vec<Decimal>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitInput {
    pub market_id: String,
    pub ticks: Vec<Decimal>,
    pub salt: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProveInput {
    pub market_id: String,
    pub ticks: Vec<Decimal>,
    pub salt: String,
    pub rule: RuleInput,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProofJson {
    pub a: String,
    pub b: String,
    pub c: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProveOutput {
    pub outcome: u8,
    pub commitment: String,
    pub rule_hash: String,
    pub public_inputs: Vec<String>,
    pub proof: ProofJson,
}

fn parse<T: serde::de::DeserializeOwned>(input: &str) -> Result<T, CircuitError> {
    serde_json::from_str(input).map_err(|e| CircuitError::input(format!("input JSON: {e}")))
}

fn statement(
    market_id: &str,
    ticks: &[Decimal],
    salt: &str,
    rule: kairos_flash_bets::rule::Rule,
) -> Result<Statement, CircuitError> {
    Ok(Statement {
        market_id: parse_bytes32("market_id", market_id)?,
        ticks: ticks.iter().map(|t| t.0).collect(),
        salt: parse_bytes32("salt", salt)?,
        rule,
    })
}

/// Phase-1 powers with this party's contribution, the key derived from them, and this
/// party's first phase-2 contribution.
pub fn setup<R: RngCore + CryptoRng>(dir: &Path, ticks: usize, rng: &mut R) -> Result<Value, CircuitError> {
    crate::keys::refuse_git_work_tree(dir)?;
    if !(1..=1024).contains(&ticks) {
        return Err(CircuitError::input("ticks must be between 1 and 1024"));
    }
    let mut powers = crate::powers::Powers::new(ticks)?;
    powers.contribute(rng)?;
    derive_and_save(dir, ticks, &powers, rng)
}

/// Another party's phase-1 contribution; the key is derived again (phase-2 contributions
/// start over after it) with this party's first phase-2 contribution.
pub fn powers_contribute<R: RngCore + CryptoRng>(dir: &Path, rng: &mut R) -> Result<Value, CircuitError> {
    let mut powers = crate::keys::load_powers(dir)?;
    let ticks = Keys::load(dir)?.ticks;
    powers.contribute(rng)?;
    derive_and_save(dir, ticks, &powers, rng)
}

fn derive_and_save<R: RngCore + CryptoRng>(
    dir: &Path,
    ticks: usize,
    powers: &crate::powers::Powers,
    rng: &mut R,
) -> Result<Value, CircuitError> {
    let mut keys = Keys::from_powers(ticks, powers, rng)?;
    crate::keys::save_powers(dir, powers)?;
    keys.save(dir)?;
    Ok(json!({ "vk_hash": hex32(&keys.vk_hash()?), "ticks": ticks, "phase1_contributions": powers.transcript.len() }))
}

pub fn contribute<R: RngCore + CryptoRng>(dir: &Path, rng: &mut R) -> Result<Value, CircuitError> {
    let mut keys = Keys::load(dir)?;
    let previous = keys.vk_hash()?;
    keys.contribute(rng)?;
    keys.save(dir)?;
    Ok(json!({
        "vk_hash": hex32(&keys.vk_hash()?),
        "previous_vk_hash": hex32(&previous),
        "contributions": keys.ceremony.contributions.len(),
    }))
}

pub fn export_vk(dir: &Path) -> Result<Value, CircuitError> {
    let vk = Keys::load(dir)?.solana_vk()?;
    Ok(json!({
        "alpha_g1": hex_bytes(&vk.alpha_g1),
        "beta_g2": hex_bytes(&vk.beta_g2),
        "gamma_g2": hex_bytes(&vk.gamma_g2),
        "delta_g2": hex_bytes(&vk.delta_g2),
        "ic": vk.ic.iter().map(|p| hex_bytes(p)).collect::<Vec<_>>(),
    }))
}

pub fn commit(input: &str) -> Result<Value, CircuitError> {
    let input: CommitInput = parse(input)?;
    // The rule plays no part in the commitment.
    let s = statement(&input.market_id, &input.ticks, &input.salt, kairos_flash_bets::rule::Rule::threshold(0))?;
    if s.ticks.is_empty() {
        return Err(CircuitError::input("at least one tick is needed"));
    }
    Ok(json!({ "commitment": hex32(&crate::field::field_to_bytes(&s.commitment()?)) }))
}

pub fn prove<R: RngCore + CryptoRng>(dir: &Path, input: &str, rng: &mut R) -> Result<Value, CircuitError> {
    let input: ProveInput = parse(input)?;
    let edges: Option<Vec<u64>> = input.rule.edges.as_ref().map(|e| e.iter().map(|d| d.0).collect());
    let rule = rule_from(&input.rule.kind, input.rule.strike.map(|d| d.0), edges.as_deref())?;
    let s = statement(&input.market_id, &input.ticks, &input.salt, rule)?;
    let keys = Keys::load(dir)?;
    let proved = crate::prove::prove(&keys, &s, rng)?;
    let out = ProveOutput {
        outcome: proved.public.outcome,
        commitment: hex32(&proved.inputs[1]),
        rule_hash: hex32(&proved.inputs[2]),
        public_inputs: proved.inputs.iter().map(hex32).collect(),
        proof: ProofJson {
            a: hex_bytes(&proved.proof.a),
            b: hex_bytes(&proved.proof.b),
            c: hex_bytes(&proved.proof.c),
        },
    };
    serde_json::to_value(out).map_err(|e| CircuitError::Proving(e.to_string()))
}

fn point<const N: usize>(what: &str, s: &str) -> Result<[u8; N], CircuitError> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CircuitError::input(format!("{what} must be {N} bytes of hex")))
}

/// Verifies `prove`'s output; the named fields must agree with the public inputs.
pub fn verify(dir: &Path, input: &str) -> Result<Value, CircuitError> {
    let input: ProveOutput = parse(input)?;
    let inputs: Vec<[u8; 32]> =
        input.public_inputs.iter().map(|s| parse_bytes32("public input", s)).collect::<Result<_, _>>()?;
    let inputs: [[u8; 32]; 4] =
        inputs.try_into().map_err(|_| CircuitError::input("public_inputs must have four values"))?;
    let proof = kairos_flash_bets::verifier::Proof {
        a: point("proof.a", &input.proof.a)?,
        b: point("proof.b", &input.proof.b)?,
        c: point("proof.c", &input.proof.c)?,
    };
    let named_agree = parse_bytes32("commitment", &input.commitment)? == inputs[1]
        && parse_bytes32("rule_hash", &input.rule_hash)? == inputs[2]
        && kairos_flash_bets::rule::field_u64(u64::from(input.outcome)) == inputs[3];
    let key = Keys::load(dir)?.solana_vk()?;
    Ok(json!({ "valid": named_agree && crate::prove::verify(&key, &inputs, &proof) }))
}
