//! Poseidon over BN254 with circomlib's parameters: natively (`light-poseidon`, the function
//! the `sol_poseidon` syscall computes) and as constraints, round for round the same
//! permutation (state `[0, inputs…]`, add round constants, x⁵ on every element in full rounds
//! and on the first in partial rounds, multiply by the MDS matrix; output `state[0]`).

use ark_bn254::Fr;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;
use light_poseidon::{Poseidon, PoseidonHasher, parameters::bn254_x5::get_poseidon_parameters};

use crate::error::CircuitError;

pub fn hash(inputs: &[Fr]) -> Result<Fr, CircuitError> {
    let mut hasher = Poseidon::<Fr>::new_circom(inputs.len()).map_err(|e| CircuitError::input(e.to_string()))?;
    hasher.hash(inputs).map_err(|e| CircuitError::input(e.to_string()))
}

pub fn hash_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let width = inputs.len() + 1;
    let params = u8::try_from(width)
        .ok()
        .and_then(|w| get_poseidon_parameters::<Fr>(w).ok())
        .ok_or(SynthesisError::Unsatisfiable)?;
    let mut state: Vec<FpVar<Fr>> = std::iter::once(FpVar::zero()).chain(inputs.iter().cloned()).collect();
    let half = params.full_rounds / 2;
    for round in 0..params.full_rounds + params.partial_rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += params.ark[round * width + i];
        }
        let full = round < half || round >= half + params.partial_rounds;
        let boxed = if full { width } else { 1 };
        for s in state.iter_mut().take(boxed) {
            let x2 = s.square()?;
            let x4 = x2.square()?;
            *s = x4 * &*s;
        }
        state = params
            .mds
            .iter()
            .map(|row| state.iter().zip(row).fold(FpVar::zero(), |acc, (s, m)| acc + s * *m))
            .collect();
    }
    Ok(state.swap_remove(0))
}
