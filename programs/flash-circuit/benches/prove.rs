//! `cargo bench -p kairos-flash-circuit --bench prove`: prints the circuit's figures (constraint
//! counts, key and proof sizes, prove and verify times for 16 and 64 ticks) and the resolve
//! compute budget. A bench binary, not criterion: proving is slow enough that the median of a
//! few runs is the figure wanted.

use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use ark_serialize::CanonicalSerialize;
use kairos_flash_bets::rule::Rule;
use kairos_flash_circuit::circuit::FlashCircuit;
use kairos_flash_circuit::keys::Keys;
use kairos_flash_circuit::prove::{prove, verify};
use kairos_flash_circuit::statement::Statement;
use rand_core::OsRng;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    for ticks in [16usize, 64] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        FlashCircuit::blank(ticks).generate_constraints(cs.clone()).expect("synthesize");
        let constraints = cs.num_constraints();

        let started = Instant::now();
        let keys = Keys::setup(ticks, &mut OsRng).expect("setup");
        let setup = started.elapsed();
        let mut pk_bytes = Vec::new();
        keys.pk.serialize_uncompressed(&mut pk_bytes).expect("pk");
        let vk = keys.solana_vk().expect("vk");

        let mut market_id = [7u8; 32];
        market_id[0] = 0;
        let mut salt = [9u8; 32];
        salt[0] = 0;
        let statement = Statement {
            market_id,
            ticks: (0..ticks as u64).map(|i| 500_000 + i * 1_000).collect(),
            salt,
            rule: Rule::buckets(&[510_000, 520_000, 530_000]).expect("rule"),
        };
        let runs = if ticks <= 16 { 11 } else { 5 };
        let mut prove_times = Vec::new();
        let mut verify_times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let proved = prove(&keys, &statement, &mut OsRng).expect("prove");
            prove_times.push(started.elapsed());
            let started = Instant::now();
            assert!(verify(&vk, &proved.inputs, &proved.proof));
            verify_times.push(started.elapsed());
        }
        println!("ticks = {ticks}");
        println!("  constraints            {constraints}");
        println!("  setup                  {}", ms(setup));
        println!("  prove (median of {runs:>2})   {}", ms(median(prove_times)));
        println!("  verify, program's code {}", ms(median(verify_times)));
        println!("  proving key            {} bytes (uncompressed)", pk_bytes.len());
        println!("  verifying key          {} bytes (syscall layout)", vk.to_bytes().len());
        println!("  proof                  {} bytes (a 64 + b 128 + c 64)", 64 + 128 + 64);
    }
    println!("resolve compute budget (cost table):");
    for (item, units) in kairos_flash_bets::compute::resolve_table() {
        println!("  {units:>7} CU  {item}");
    }
}
