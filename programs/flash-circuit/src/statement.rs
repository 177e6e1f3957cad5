//! The statement the proof is about, computed natively: the tick commitment, the rule hash
//! and the outcome. The circuit computes the same function in constraints; tests compare the
//! two on random inputs.
//!
//! `acc_0 = market_id`, `acc_{i+1} = Poseidon(acc_i, t_i)`, `commitment = Poseidon(acc_n,
//! salt)`; `rule_hash = Poseidon(kind, count, p_1, …, p_8)`; public inputs, in order: market
//! id, commitment, rule hash, outcome.

use ark_bn254::Fr;
use kairos_flash_bets::rule::{KIND_BUCKETS, KIND_THRESHOLD, KIND_TWAP, Rule};

use crate::error::CircuitError;
use crate::field::field_to_bytes;
use crate::poseidon;

/// Everything the prover knows about one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub market_id: [u8; 32],
    pub ticks: Vec<u64>,
    pub salt: [u8; 32],
    pub rule: Rule,
}

/// What the chain sees: the four public inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicInputs {
    pub market_id: Fr,
    pub commitment: Fr,
    pub rule_hash: Fr,
    pub outcome: u8,
}

impl PublicInputs {
    pub fn to_bytes(&self) -> [[u8; 32]; 4] {
        [
            field_to_bytes(&self.market_id),
            field_to_bytes(&self.commitment),
            field_to_bytes(&self.rule_hash),
            field_to_bytes(&Fr::from(self.outcome)),
        ]
    }

    pub fn to_fields(&self) -> [Fr; 4] {
        [self.market_id, self.commitment, self.rule_hash, Fr::from(self.outcome)]
    }
}

impl Statement {
    pub fn market_field(&self) -> Result<Fr, CircuitError> {
        crate::field::id_to_field("market_id", &self.market_id)
    }

    pub fn salt_field(&self) -> Result<Fr, CircuitError> {
        crate::field::id_to_field("salt", &self.salt)
    }

    pub fn commitment(&self) -> Result<Fr, CircuitError> {
        commitment(self.market_field()?, &self.ticks, self.salt_field()?)
    }

    pub fn public_inputs(&self) -> Result<PublicInputs, CircuitError> {
        self.rule.validate().map_err(|e| CircuitError::input(format!("rule: {e}")))?;
        if self.ticks.is_empty() {
            return Err(CircuitError::input("at least one tick is needed"));
        }
        Ok(PublicInputs {
            market_id: self.market_field()?,
            commitment: self.commitment()?,
            rule_hash: rule_hash(&self.rule)?,
            outcome: outcome(&self.rule, &self.ticks),
        })
    }
}

pub fn commitment(market_id: Fr, ticks: &[u64], salt: Fr) -> Result<Fr, CircuitError> {
    let mut acc = market_id;
    for t in ticks {
        acc = poseidon::hash(&[acc, Fr::from(*t)])?;
    }
    poseidon::hash(&[acc, salt])
}

pub fn rule_hash(rule: &Rule) -> Result<Fr, CircuitError> {
    let mut inputs = vec![Fr::from(rule.kind), Fr::from(rule.count)];
    inputs.extend(rule.params.iter().map(|p| Fr::from(*p)));
    poseidon::hash(&inputs)
}

/// The outcome the ticks give under the rule (exact integer arithmetic).
pub fn outcome(rule: &Rule, ticks: &[u64]) -> u8 {
    let last = ticks.last().copied().unwrap_or(0);
    let strike = rule.params[0];
    match rule.kind {
        KIND_THRESHOLD => u8::from(last >= strike),
        KIND_TWAP => {
            let sum: u128 = ticks.iter().map(|t| u128::from(*t)).sum();
            u8::from(sum >= ticks.len() as u128 * u128::from(strike))
        }
        KIND_BUCKETS => rule.params[..usize::from(rule.count)].iter().filter(|e| **e <= last).count() as u8,
        _ => 0,
    }
}

/// The rule in the program's form, from its JSON parts.
pub fn rule_from(kind: &str, strike: Option<u64>, edges: Option<&[u64]>) -> Result<Rule, CircuitError> {
    let bad = |e: kairos_flash_bets::FlashError| CircuitError::input(format!("rule: {e}"));
    match (kind, strike, edges) {
        ("threshold", Some(s), None) => Ok(Rule::threshold(s)),
        ("twap", Some(s), None) => Ok(Rule::twap(s)),
        ("buckets", None, Some(edges)) => Rule::buckets(edges).map_err(bad),
        ("threshold" | "twap", ..) => Err(CircuitError::input("a threshold or twap rule takes a `strike` only")),
        ("buckets", ..) => Err(CircuitError::input("a buckets rule takes `edges` only (1 to 8, ascending)")),
        (other, ..) => Err(CircuitError::input(format!("unknown rule kind {other:?} (threshold, twap, buckets)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_rules() {
        assert_eq!(outcome(&Rule::threshold(10), &[20, 10]), 1);
        assert_eq!(outcome(&Rule::threshold(10), &[20, 9]), 0);
        assert_eq!(outcome(&Rule::twap(10), &[5, 15]), 1);
        assert_eq!(outcome(&Rule::twap(10), &[5, 14]), 0);
        assert_eq!(outcome(&Rule::twap(u64::MAX), &[u64::MAX, u64::MAX]), 1);
        let buckets = Rule::buckets(&[10, 20, 30]).expect("rule");
        assert_eq!(outcome(&buckets, &[9]), 0);
        assert_eq!(outcome(&buckets, &[10]), 1);
        assert_eq!(outcome(&buckets, &[29]), 2);
        assert_eq!(outcome(&buckets, &[u64::MAX]), 3);
    }

    #[test]
    fn the_rule_hash_is_the_programs() {
        for rule in [Rule::threshold(7), Rule::twap(1 << 40), Rule::buckets(&[1, 5, 9]).expect("rule")] {
            let ours = field_to_bytes(&rule_hash(&rule).expect("hash"));
            assert_eq!(Ok(ours), rule.hash(), "{rule:?}");
        }
    }
}
