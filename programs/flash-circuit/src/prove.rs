//! Proving and verifying. The prover builds only the witness for each proof; the constraint
//! matrices come from [`Keys::shape`], computed once (inlining the circuit's linear
//! combinations is a quarter of a proof's time).
//! Verification runs the program's own verifier
//! (`kairos_flash_bets::verifier::verify`) on the program's byte layout, so `flash verify`
//! accepts exactly what `resolve` accepts.

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode};
use kairos_flash_bets::verifier;
use rand_core::{CryptoRng, RngCore};

use crate::circuit::{FlashCircuit, Witness};
use crate::error::CircuitError;
use crate::keys::Keys;
use crate::statement::{PublicInputs, Statement};

/// A proof with its public inputs, in the program's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    pub public: PublicInputs,
    pub inputs: [[u8; 32]; verifier::PUBLIC_INPUTS],
    pub proof: verifier::Proof,
}

pub fn prove<R: RngCore + CryptoRng>(keys: &Keys, statement: &Statement, rng: &mut R) -> Result<Proved, CircuitError> {
    if statement.ticks.len() != keys.ticks {
        return Err(CircuitError::input(format!(
            "these keys are for exactly {} ticks; {} were given",
            keys.ticks,
            statement.ticks.len()
        )));
    }
    let public = statement.public_inputs()?;
    let witness =
        Witness { public, ticks: statement.ticks.clone(), salt: statement.salt_field()?, rule: statement.rule };
    let circuit = FlashCircuit { ticks: keys.ticks, witness: Some(witness) };
    let shape = keys.shape()?;
    // The witness alone: the constraint matrices were built once, with the keys.
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove { construct_matrices: false });
    circuit.generate_constraints(cs.clone()).map_err(|e| CircuitError::Proving(e.to_string()))?;
    let assignment = {
        let cs = cs.borrow().ok_or_else(|| CircuitError::Proving("constraint system in use".into()))?;
        [cs.instance_assignment.as_slice(), cs.witness_assignment.as_slice()].concat()
    };
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &keys.pk,
        r,
        s,
        &shape.matrices,
        shape.matrices.num_instance_variables,
        shape.matrices.num_constraints,
        &assignment,
    )
    .map_err(|e| CircuitError::Proving(e.to_string()))?;
    let proved = Proved { public, inputs: public.to_bytes(), proof: crate::solana::proof(&proof)? };
    // Without matrices the witness is not checked while it is built: check the proof instead.
    if !verify(&keys.solana_vk()?, &proved.inputs, &proved.proof) {
        return Err(CircuitError::Proving("the proof does not verify (inconsistent witness)".into()));
    }
    Ok(proved)
}

/// Whether `proof` verifies for `inputs` under `key`, by the program's verifier.
pub fn verify(key: &verifier::VerifyingKey, inputs: &[[u8; 32]; 4], proof: &verifier::Proof) -> bool {
    verifier::verify(key, proof, inputs).is_ok()
}
