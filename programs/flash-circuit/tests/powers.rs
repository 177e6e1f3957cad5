//! The two-phase ceremony: phase-1 powers updated by several parties, the circuit's key
//! derived from them, phase-2 contributions, and proofs that verify with the program's
//! verifier under the result.

use kairos_flash_bets::rule::Rule;
use kairos_flash_circuit::keys::Keys;
use kairos_flash_circuit::powers::Powers;
use kairos_flash_circuit::prove::{prove, verify};
use kairos_flash_circuit::statement::Statement;
use rand_core::SeedableRng;

fn id(byte: u8) -> [u8; 32] {
    let mut out = [byte; 32];
    out[0] = 0;
    out
}

#[test]
fn keys_derived_from_contributed_powers_prove_and_verify() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let mut powers = Powers::new(4).expect("powers");
    assert!(powers.verify(&mut rng).is_err(), "no contribution yet");
    powers.contribute(&mut rng).expect("first party");
    powers.contribute(&mut rng).expect("second party");
    powers.verify(&mut rng).expect("the chain checks");
    let started = std::time::Instant::now();
    let mut keys = Keys::from_powers(4, &powers, &mut rng).expect("derive");
    eprintln!("derived in {:?}", started.elapsed());
    keys.contribute(&mut rng).expect("phase 2, another party");
    let s = Statement {
        market_id: id(1),
        ticks: vec![100, 200, 300, 250],
        salt: id(7),
        rule: Rule::buckets(&[150, 260]).expect("rule"),
    };
    let proved = prove(&keys, &s, &mut rng).expect("prove");
    let vk = keys.solana_vk().expect("vk");
    assert!(verify(&vk, &proved.inputs, &proved.proof));
    vk.check().expect("the program accepts the key (delta differs from gamma)");
    let mut wrong = proved.inputs;
    wrong[3][31] ^= 1;
    assert!(!verify(&vk, &wrong, &proved.proof));

    // Tampered powers are refused.
    let mut bad = powers.clone();
    bad.tau_g1[3] = bad.tau_g1[2];
    assert!(bad.verify(&mut rng).is_err());
    let mut bad = powers.clone();
    bad.transcript.remove(0);
    assert!(bad.verify(&mut rng).is_err());
}
