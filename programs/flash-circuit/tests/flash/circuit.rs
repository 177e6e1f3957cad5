//! The circuit against its native twin, proofs through the program's verifier, the ways a
//! proof must fail, and keys from the two-phase ceremony.

use ark_bn254::Fr;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use kairos_flash_bets::rule::Rule;
use kairos_flash_circuit::circuit::{FlashCircuit, Witness};
use kairos_flash_circuit::keys::{Keys, test_keys};
use kairos_flash_circuit::powers::Powers;
use kairos_flash_circuit::prove::{prove, verify};
use kairos_flash_circuit::statement::{PublicInputs, Statement};
use proptest::prelude::*;
use rand_core::SeedableRng;

const TICKS: usize = 4;

fn id(byte: u8) -> [u8; 32] {
    let mut out = [byte; 32];
    out[0] = 0;
    out
}

/// Four ticks ending at 250 under buckets at 150 and 260: outcome 1.
fn buckets_statement() -> Statement {
    Statement {
        market_id: id(1),
        ticks: vec![100, 200, 300, 250],
        salt: id(7),
        rule: Rule::buckets(&[150, 260]).expect("rule"),
    }
}

/// Whether the circuit is satisfied with this witness (cheaper than proving).
fn satisfied(ticks: &[u64], salt: [u8; 32], rule: Rule, public: PublicInputs) -> bool {
    let s = Statement { market_id: id(1), ticks: ticks.to_vec(), salt, rule };
    let witness = Witness { public, ticks: ticks.to_vec(), salt: s.salt_field().expect("salt"), rule };
    let cs = ConstraintSystem::<Fr>::new_ref();
    FlashCircuit { ticks: ticks.len(), witness: Some(witness) }.generate_constraints(cs.clone()).expect("synthesize");
    cs.is_satisfied().expect("check")
}

fn rule_strategy() -> impl Strategy<Value = Rule> {
    prop_oneof![
        any::<u64>().prop_map(Rule::threshold),
        any::<u64>().prop_map(Rule::twap),
        proptest::collection::btree_set(any::<u64>(), 1..=8)
            .prop_map(|edges| Rule::buckets(&edges.into_iter().collect::<Vec<_>>()).expect("ascending")),
    ]
}

fn tick_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0u64..1_000, Just(u64::MAX), Just(0)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The circuit accepts exactly the native outcome, for random ticks and rules.
    #[test]
    fn the_circuit_computes_the_native_function(
        ticks in proptest::collection::vec(tick_strategy(), TICKS),
        rule in rule_strategy(),
        salt in any::<[u8; 31]>(),
    ) {
        let mut salt_bytes = [0u8; 32];
        salt_bytes[1..].copy_from_slice(&salt);
        let s = Statement { market_id: id(1), ticks: ticks.clone(), salt: salt_bytes, rule };
        let public = s.public_inputs().expect("public");
        prop_assert!(satisfied(&ticks, salt_bytes, rule, public));
        let wrong = PublicInputs { outcome: public.outcome ^ 1, ..public };
        prop_assert!(!satisfied(&ticks, salt_bytes, rule, wrong));
    }
}

#[test]
fn edge_values_compare_without_wrapping() {
    let cases = [
        (vec![0, 0, 0, u64::MAX], Rule::threshold(u64::MAX), 1),
        (vec![0, 0, 0, u64::MAX - 1], Rule::threshold(u64::MAX), 0),
        (vec![u64::MAX; 4], Rule::twap(u64::MAX), 1),
        (vec![u64::MAX, u64::MAX, u64::MAX, u64::MAX - 1], Rule::twap(u64::MAX), 0),
        (vec![5, 5, 5, 0], Rule::threshold(0), 1),
        (vec![1, 2, 3, 7], Rule::buckets(&[0, 7, u64::MAX]).expect("rule"), 2),
    ];
    for (ticks, rule, expected) in cases {
        let s = Statement { market_id: id(2), ticks: ticks.clone(), salt: id(3), rule };
        let public = s.public_inputs().expect("public");
        assert_eq!(public.outcome, expected, "{ticks:?} {rule:?}");
        assert!(satisfied(&ticks, id(3), rule, public), "{ticks:?} {rule:?}");
        for other in 0..=9u8 {
            if other != expected {
                assert!(!satisfied(&ticks, id(3), rule, PublicInputs { outcome: other, ..public }));
            }
        }
    }
}

#[test]
fn a_changed_commitment_rule_or_market_is_unsatisfiable() {
    let ticks = vec![10, 20, 30, 40];
    let rule = Rule::threshold(35);
    let s = Statement { market_id: id(1), ticks: ticks.clone(), salt: id(9), rule };
    let public = s.public_inputs().expect("public");
    assert!(satisfied(&ticks, id(9), rule, public));
    assert!(!satisfied(&ticks, id(8), rule, public), "another salt");
    assert!(!satisfied(&[10, 20, 30, 41], id(9), rule, public), "another tick");
    assert!(!satisfied(&ticks, id(9), Rule::threshold(36), public), "another rule");
    let other_market = PublicInputs { market_id: Fr::from(5u8), ..public };
    assert!(!satisfied(&ticks, id(9), rule, other_market), "another market");
}

#[test]
fn a_proof_verifies_with_the_programs_verifier_and_nothing_else_does() {
    let keys = test_keys::keys(TICKS);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let s = buckets_statement();
    let proved = prove(&keys, &s, &mut rng).expect("prove");
    assert_eq!(proved.public.outcome, 1);
    let vk = keys.solana_vk().expect("vk");
    assert!(verify(&vk, &proved.inputs, &proved.proof));
    for i in 0..4 {
        let mut inputs = proved.inputs;
        inputs[i][31] ^= 1;
        assert!(!verify(&vk, &inputs, &proved.proof), "changed public input {i}");
    }
    // `a` must arrive negated; the prover's own `a` is refused.
    let mut not_negated = proved.proof.clone();
    not_negated.a = groth16_solana::groth16::negate_g1_be(&not_negated.a);
    assert!(!verify(&vk, &proved.inputs, &not_negated));
    let mut garbled = proved.proof.clone();
    garbled.c[40] ^= 0x10;
    assert!(!verify(&vk, &proved.inputs, &garbled));
    // A key from another ceremony does not accept it.
    let other = Keys::setup(TICKS, &mut rng).expect("setup");
    assert!(!verify(&other.solana_vk().expect("vk"), &proved.inputs, &proved.proof));
}

#[test]
fn the_wrong_number_of_ticks_is_refused() {
    let keys = test_keys::keys(TICKS);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    let s = Statement { market_id: id(1), ticks: vec![1, 2, 3], salt: id(7), rule: Rule::threshold(2) };
    let err = prove(&keys, &s, &mut rng).expect_err("3 ticks for a 4-tick key");
    assert!(err.to_string().contains("exactly 4 ticks"), "{err}");
}

#[test]
fn the_programs_list_of_test_keys_is_current() {
    let missing: Vec<String> = [TICKS, kairos_flash_circuit::keys::DEFAULT_TICKS]
        .into_iter()
        .map(|ticks| (ticks, test_keys::keys(ticks).vk_hash().expect("hash")))
        .filter(|(_, hash)| !kairos_flash_bets::verifier::TEST_KEY_HASHES.contains(hash))
        .map(|(ticks, hash)| format!("{} (ticks = {ticks})", hex::encode(hash)))
        .collect();
    assert!(missing.is_empty(), "add to kairos_flash_bets::verifier::TEST_KEY_HASHES: {missing:?}");
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
    let s = buckets_statement();
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
