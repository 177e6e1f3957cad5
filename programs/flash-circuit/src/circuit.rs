//! The R1CS circuit: the statement of `statement.rs` in constraints. Public inputs, in order:
//! market id, commitment, rule hash, outcome. Private: the ticks, the salt and the rule's
//! kind, count and parameters. Every value that is compared is range-checked first (ticks
//! and parameters to 64 bits), and each comparison decomposes a shifted difference into bits,
//! so no comparison can wrap around the field.

use ark_bn254::Fr;
use ark_ff::Field;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::{
    ConstraintMatrices, ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode,
};
use kairos_flash_bets::rule::{KIND_BUCKETS, KIND_THRESHOLD, KIND_TWAP, MAX_PARAMS, Rule};

use crate::poseidon::hash_var;
use crate::statement::PublicInputs;

/// The circuit for `ticks` ticks. Without a witness it is the shape key generation needs.
#[derive(Debug, Clone)]
pub struct FlashCircuit {
    pub ticks: usize,
    pub witness: Option<Witness>,
}

#[derive(Debug, Clone)]
pub struct Witness {
    pub public: PublicInputs,
    pub ticks: Vec<u64>,
    pub salt: Fr,
    pub rule: Rule,
}

impl FlashCircuit {
    pub fn blank(ticks: usize) -> Self {
        Self { ticks, witness: None }
    }
}

/// The circuit's constraint matrices, synthesized as arkworks' key generator does (setup mode,
/// linear combinations inlined): the prover and the ceremony's key derivation both use them.
pub fn constraint_matrices(ticks: usize) -> Result<ConstraintMatrices<Fr>, SynthesisError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    FlashCircuit::blank(ticks).generate_constraints(cs.clone())?;
    cs.finalize();
    cs.to_matrices().ok_or(SynthesisError::MissingCS)
}

fn value<T: Copy>(w: &Option<Witness>, f: impl FnOnce(&Witness) -> T) -> Result<T, SynthesisError> {
    w.as_ref().map(f).ok_or(SynthesisError::AssignmentMissing)
}

/// `a ≥ b` for values known to be below `2^bits`: the top bit of `a − b + 2^bits`.
fn ge(a: &FpVar<Fr>, b: &FpVar<Fr>, bits: usize) -> Result<Boolean<Fr>, SynthesisError> {
    let shift = FpVar::constant(Fr::from(2u8).pow([bits as u64]));
    let d = a - b + shift;
    let (decomposed, _) = d.to_bits_le_with_top_bits_zero(bits + 1)?;
    Ok(decomposed[bits].clone())
}

/// Allocates a u64 witness and proves it fits in 64 bits.
fn u64_witness(cs: &ConstraintSystemRef<Fr>, v: Result<u64, SynthesisError>) -> Result<FpVar<Fr>, SynthesisError> {
    let var = FpVar::new_witness(cs.clone(), || v.map(Fr::from))?;
    // The decomposition itself is the range check; the bits are not needed.
    let _bits = var.to_bits_le_with_top_bits_zero(64)?;
    Ok(var)
}

impl ConstraintSynthesizer<Fr> for FlashCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        if let Some(w) = w
            && w.ticks.len() != self.ticks
        {
            return Err(SynthesisError::Unsatisfiable);
        }
        let market_id = FpVar::new_input(cs.clone(), || value(w, |w| w.public.market_id))?;
        let commitment = FpVar::new_input(cs.clone(), || value(w, |w| w.public.commitment))?;
        let rule_hash = FpVar::new_input(cs.clone(), || value(w, |w| w.public.rule_hash))?;
        let outcome = FpVar::new_input(cs.clone(), || value(w, |w| Fr::from(w.public.outcome)))?;

        // The commitment to the ticks.
        let mut ticks = Vec::with_capacity(self.ticks);
        for i in 0..self.ticks {
            let t = w.as_ref().map(|w| w.ticks[i]).ok_or(SynthesisError::AssignmentMissing);
            ticks.push(u64_witness(&cs, t)?);
        }
        let salt = FpVar::new_witness(cs.clone(), || value(w, |w| w.salt))?;
        let mut acc = market_id;
        for t in &ticks {
            acc = hash_var(&[acc, t.clone()])?;
        }
        hash_var(&[acc, salt])?.enforce_equal(&commitment)?;

        // The rule, bound to its public hash.
        let is_kind = |k: u8| Boolean::new_witness(cs.clone(), || value(w, |w| w.rule.kind == k));
        let (threshold, twap, buckets) = (is_kind(KIND_THRESHOLD)?, is_kind(KIND_TWAP)?, is_kind(KIND_BUCKETS)?);
        let one_kind = FpVar::from(threshold.clone()) + FpVar::from(twap.clone()) + FpVar::from(buckets.clone());
        one_kind.enforce_equal(&FpVar::one())?;
        let kind = FpVar::from(threshold.clone())
            + FpVar::from(twap.clone()) * Fr::from(2u8)
            + FpVar::from(buckets.clone()) * Fr::from(3u8);
        // `active[j]` is whether parameter j is given: a prefix of ones, at least one.
        let mut active: Vec<Boolean<Fr>> = Vec::with_capacity(MAX_PARAMS);
        for j in 0..MAX_PARAMS {
            let a = Boolean::new_witness(cs.clone(), || value(w, |w| j < usize::from(w.rule.count)))?;
            match active.last() {
                None => a.enforce_equal(&Boolean::TRUE)?,
                Some(prev) => (&a & &!prev).enforce_equal(&Boolean::FALSE)?,
            }
            active.push(a);
        }
        let count = active.iter().fold(FpVar::zero(), |acc, a| acc + FpVar::from(a.clone()));
        let mut params = Vec::with_capacity(MAX_PARAMS);
        for (j, a) in active.iter().enumerate() {
            let p = u64_witness(&cs, value(w, |w| w.rule.params[j]))?;
            // Parameters past the count are zero.
            p.mul_equals(&FpVar::from(!a), &FpVar::zero())?;
            params.push(p);
        }
        let mut hashed = vec![kind, count];
        hashed.extend(params.iter().cloned());
        hash_var(&hashed)?.enforce_equal(&rule_hash)?;

        // The outcome under each rule; the kind selects one.
        let last = ticks.last().cloned().ok_or(SynthesisError::Unsatisfiable)?;
        let above = ge(&last, &params[0], 64)?;
        let sum = ticks.iter().fold(FpVar::zero(), |acc, t| acc + t);
        let n = Fr::from(self.ticks as u64);
        let sum_bits = 64 + (usize::BITS - self.ticks.leading_zeros()) as usize;
        let twap_above = ge(&sum, &(&params[0] * n), sum_bits)?;
        let mut bucket = FpVar::zero();
        for (p, a) in params.iter().zip(&active) {
            bucket += FpVar::from(&ge(&last, p, 64)? & a);
        }
        let computed =
            FpVar::from(&threshold & &above) + FpVar::from(&twap & &twap_above) + bucket * FpVar::from(buckets);
        computed.enforce_equal(&outcome)
    }
}
