//! Proving and verifying. Verification runs the program's own verifier
//! (`kairos_flash_bets::verifier::verify`) on the program's byte layout, so `flash verify`
//! accepts exactly what `resolve` accepts.

use ark_groth16::Groth16;
use ark_snark::SNARK;
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
    let proof = Groth16::<ark_bn254::Bn254>::prove(&keys.pk, circuit, rng)
        .map_err(|e| CircuitError::Proving(e.to_string()))?;
    Ok(Proved { public, inputs: public.to_bytes(), proof: crate::solana::proof(&proof)? })
}

/// Whether `proof` verifies for `inputs` under `key`, by the program's verifier.
pub fn verify(key: &verifier::VerifyingKey, inputs: &[[u8; 32]; 4], proof: &verifier::Proof) -> bool {
    verifier::verify(key, proof, inputs).is_ok()
}
