//! The flash-bets program run through a Solana runtime (LiteSVM with the native shim), its
//! token CPIs included: the full flow, and a test that breaks each check the program makes.

#![allow(clippy::result_large_err)] // LiteSVM's own result type, passed through as is.

mod support;

use kairos_flash_bets::instruction::{self as ix, EXPERIMENTAL_TAGS};
use kairos_flash_bets::rule::Rule;
use kairos_flash_bets::state::{self, MarketStatus};
use kairos_flash_bets::{FlashError, ID};
use solana_program::instruction::{AccountMeta, Instruction, InstructionError};
use solana_signer::Signer;
use solana_transaction_error::TransactionError;
use support::{Chain, FEE_BPS, Oracle, START, assert_fails, id};

/// Three outcomes (buckets below 150, 150 to 259, from 260): the ticks end at 250, so
/// outcome 1 wins.
fn buckets() -> Rule {
    Rule::buckets(&[150, 260]).expect("rule")
}

const TICKS: [u64; 4] = [100, 200, 300, 250];

#[test]
fn a_market_runs_from_creation_to_the_last_claim() {
    let mut chain = Chain::new();
    let m = id(1);
    chain.create_market(m, buckets()).expect("create");
    let (a, b, c, d) = (chain.bettor(1_000), chain.bettor(1_000), chain.bettor(1_000), chain.bettor(1_000));
    chain.bet(&a, &m, 1, 100).expect("a on 1");
    chain.bet(&b, &m, 1, 50).expect("b on 1");
    chain.bet(&c, &m, 0, 700).expect("c on 0");
    chain.bet(&d, &m, 2, 301).expect("d on 2");
    chain.bet(&a, &m, 1, 33).expect("a again on 1");
    assert_eq!(chain.balance(&chain.vault(&m)), 1_184);
    assert_eq!(chain.position(&m, &a.key.pubkey(), 1).amount, 133);

    let oracle = Oracle::new(m, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    let (outcome, proof) = oracle.prove();
    assert_eq!(outcome, 1);
    chain.resolve(&m, outcome, proof.clone()).expect("resolve");
    let market = chain.market(&m);
    assert_eq!((market.status, market.winning_outcome), (MarketStatus::Resolved, Some(1)));
    // Losing side 1,001; fee 2.5 % = 25; pool 976 shared by 183 on the winner.
    assert_eq!((market.fee_paid, market.payout_pool), (25, 976));
    assert_eq!(chain.balance(&chain.fee_account), 25);
    assert_fails(chain.resolve(&m, outcome, proof), 1, FlashError::WrongMarketState);

    chain.claim(&a, &m, 1).expect("a claims");
    assert_eq!(chain.balance(&a.token), 1_000 - 133 + 133 + 133 * 976 / 183);
    assert_fails(chain.claim(&a, &m, 1), 0, FlashError::AlreadyClaimed);
    assert_fails(chain.claim(&c, &m, 0), 0, FlashError::LosingPosition);
    chain.claim(&b, &m, 1).expect("b claims, the last winner");
    assert_eq!(chain.balance(&b.token), 1_000 + 50 * 976 / 183);
    // Every unit is accounted for: the vault is empty, the fee account holds fee and dust.
    assert_eq!(chain.balance(&chain.vault(&m)), 0);
    let paid_to_winners = 133 * 976 / 183 + 50 * 976 / 183;
    assert_eq!(chain.balance(&chain.fee_account), 976 + 25 - paid_to_winners);
}

#[test]
fn bets_close_at_the_lock_time_and_after_the_lock() {
    let mut chain = Chain::new();
    let m = id(2);
    chain.create_market(m, buckets()).expect("create");
    let a = chain.bettor(1_000);
    chain.set_time(START + 60);
    assert_fails(chain.bet(&a, &m, 0, 10), 0, FlashError::BettingClosed);
    chain.lock(&m, Oracle::new(m, TICKS, buckets()).commitment()).expect("lock");
    assert_fails(chain.bet(&a, &m, 0, 10), 0, FlashError::WrongMarketState);
}

#[test]
fn only_the_oracle_locks_and_not_before_time() {
    let mut chain = Chain::new();
    let m = id(3);
    chain.create_market(m, buckets()).expect("create");
    let commitment = Oracle::new(m, TICKS, buckets()).commitment();
    assert_fails(chain.lock(&m, commitment), 0, FlashError::TooEarly);
    chain.set_time(START + 60);
    let stranger = chain.bettor(0);
    let lock = ix::lock_market(&ID, &stranger.key.pubkey(), &m, commitment);
    assert_fails(chain.send(&[lock], &[&stranger.key]), 0, FlashError::NotOracle);
    // The oracle's key is named but did not sign.
    let mut unsigned = ix::lock_market(&ID, &chain.oracle.pubkey(), &m, commitment);
    unsigned.accounts[0].is_signer = false;
    assert_fails(chain.send(&[unsigned], &[]), 0, FlashError::MissingSignature);
    assert_fails(chain.lock(&m, [0xff; 32]), 0, FlashError::NotAFieldElement);
    chain.lock(&m, commitment).expect("lock");
    assert_fails(chain.lock(&m, commitment), 0, FlashError::WrongMarketState);
}

#[test]
fn a_proof_binds_its_market_commitment_rule_and_outcome() {
    let mut chain = Chain::new();
    let (m, other) = (id(4), id(5));
    chain.create_market(m, buckets()).expect("create");
    chain.create_market(other, buckets()).expect("create other");
    let oracle = Oracle::new(m, TICKS, buckets());
    let (outcome, proof) = oracle.prove();
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    // Same ticks and salt on the other market: a different commitment and market id.
    chain.lock(&other, Oracle::new(other, TICKS, buckets()).commitment()).expect("lock other");
    assert_fails(chain.resolve(&other, outcome, proof.clone()), 1, FlashError::InvalidProof);
    // Another outcome with this market's proof.
    assert_fails(chain.resolve(&m, 2, proof.clone()), 1, FlashError::InvalidProof);
    assert_fails(chain.resolve(&m, 3, proof.clone()), 1, FlashError::InvalidOutcome);
    // A non-negated or garbled proof.
    let mut not_negated = proof.clone();
    not_negated.a = groth16_negate(&proof.a);
    assert_fails(chain.resolve(&m, outcome, not_negated), 1, FlashError::InvalidProof);
    let mut garbled = proof.clone();
    garbled.b[70] ^= 1;
    assert!(chain.resolve(&m, outcome, garbled).is_err(), "a garbled B is refused");
    // Flag-bit variants of the real proof (the syscalls read y's top bits as arkworks' flags
    // and would verify them): refused, so a proof has exactly one encoding.
    for (flag, byte) in [(0x80, 32), (0x40, 32), (0x80, 96)] {
        let mut variant = proof.clone();
        if byte == 96 {
            variant.b[byte] |= flag;
        } else {
            variant.a[byte] |= flag;
        }
        assert_fails(chain.resolve(&m, outcome, variant), 1, FlashError::NonCanonicalPoint);
    }
    let mut plus_p = proof.clone();
    plus_p.c[..32].copy_from_slice(&plus_modulus(&proof.c[..32]));
    assert_fails(chain.resolve(&m, outcome, plus_p), 1, FlashError::NonCanonicalPoint);
    chain.resolve(&m, outcome, proof).expect("the real proof");
}

#[test]
fn a_market_whose_rule_differs_from_the_proofs_is_not_resolved() {
    let mut chain = Chain::new();
    let m = id(6);
    // Stored rule: threshold at 200. Proof made for a threshold at 300 over the same ticks.
    chain.create_market(m, Rule::threshold(200)).expect("create");
    let honest = Oracle::new(m, TICKS, Rule::threshold(200));
    let forged = Oracle::new(m, TICKS, Rule::threshold(300));
    chain.set_time(START + 60);
    chain.lock(&m, honest.commitment()).expect("lock");
    let (forged_outcome, forged_proof) = forged.prove();
    assert_eq!(forged_outcome, 0);
    assert_fails(chain.resolve(&m, forged_outcome, forged_proof), 1, FlashError::InvalidProof);
    let (outcome, proof) = honest.prove();
    assert_eq!(outcome, 1);
    chain.resolve(&m, outcome, proof).expect("resolve");
}

/// `c + p` as 32 big-endian bytes: the same residue, not a canonical encoding (p < 2^254, so
/// it fits).
fn plus_modulus(c: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let sum = u16::from(c[i]) + u16::from(kairos_flash_bets::verifier::FQ_MODULUS_BE[i]) + carry;
        out[i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "fits in 32 bytes");
    out
}

fn groth16_negate(a: &[u8; 64]) -> [u8; 64] {
    groth16_solana::groth16::negate_g1_be(a)
}

#[test]
fn claims_need_a_resolved_market_and_the_owners_position() {
    let mut chain = Chain::new();
    let m = id(7);
    chain.create_market(m, buckets()).expect("create");
    let (a, b) = (chain.bettor(1_000), chain.bettor(1_000));
    chain.bet(&a, &m, 1, 100).expect("bet");
    chain.bet(&b, &m, 0, 100).expect("bet");
    assert_fails(chain.claim(&a, &m, 1), 0, FlashError::WrongMarketState);
    // b names a's position: the PDA is derived from the signer, so it is the wrong account.
    let mut steal = ix::claim(&ID, &b.key.pubkey(), &b.token, &chain.mint.pubkey(), &chain.fee_account, &m, 1);
    let market = state::market_address(&ID, &m).0;
    steal.accounts[3] = AccountMeta::new(state::position_address(&ID, &market, &a.key.pubkey(), 1).0, false);
    assert_fails(chain.send(&[steal], &[&b.key]), 0, FlashError::WrongAccount);
    // Paid into someone else's token account.
    let oracle = Oracle::new(m, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    let (outcome, proof) = oracle.prove();
    chain.resolve(&m, outcome, proof).expect("resolve");
    let mut elsewhere = ix::claim(&ID, &a.key.pubkey(), &b.token, &chain.mint.pubkey(), &chain.fee_account, &m, 1);
    elsewhere.accounts[4] = AccountMeta::new(b.token, false);
    assert_fails(chain.send(&[elsewhere], &[&a.key]), 0, FlashError::WrongTokenOwner);
    chain.claim(&a, &m, 1).expect("a claims");
}

#[test]
fn a_market_is_voided_only_after_its_deadline_or_with_no_winner() {
    let mut chain = Chain::new();
    let m = id(8);
    chain.create_market(m, buckets()).expect("create");
    let a = chain.bettor(1_000);
    chain.bet(&a, &m, 0, 400).expect("bet");
    assert_fails(chain.void(&m), 0, FlashError::CannotVoid);
    chain.set_time(START + 660);
    assert_fails(chain.void(&m), 0, FlashError::CannotVoid);
    chain.set_time(START + 661);
    // Too late to lock or resolve; anyone may void.
    assert_fails(chain.lock(&m, [0; 32]), 0, FlashError::DeadlinePassed);
    chain.void(&m).expect("void");
    assert_fails(chain.void(&m), 0, FlashError::CannotVoid);
    chain.claim(&a, &m, 0).expect("refund");
    assert_eq!(chain.balance(&a.token), 1_000);
    assert_fails(chain.claim(&a, &m, 0), 0, FlashError::AlreadyClaimed);

    // Nobody on the winning outcome: resolve refunds everyone and takes no fee.
    let n = id(9);
    chain.set_time(START);
    chain.create_market(n, buckets()).expect("create");
    chain.bet(&a, &n, 0, 300).expect("bet");
    let oracle = Oracle::new(n, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&n, oracle.commitment()).expect("lock");
    let (outcome, proof) = oracle.prove();
    chain.resolve(&n, outcome, proof).expect("resolve");
    assert_eq!(chain.market(&n).status, MarketStatus::Voided);
    chain.claim(&a, &n, 0).expect("refund");
    assert_eq!(chain.balance(&a.token), 1_000);
    assert_eq!(chain.balance(&chain.fee_account), 0);
}

#[test]
fn resolving_after_the_deadline_is_refused() {
    let mut chain = Chain::new();
    let m = id(10);
    chain.create_market(m, buckets()).expect("create");
    let oracle = Oracle::new(m, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    chain.set_time(START + 661);
    let (outcome, proof) = oracle.prove();
    assert_fails(chain.resolve(&m, outcome, proof), 1, FlashError::DeadlinePassed);
}

#[test]
fn admin_changes_need_m_of_n_signatures() {
    let mut chain = Chain::new();
    let key = support::keys().solana_vk().expect("vk");
    let one = [chain.admins[0].pubkey()];
    let rotate = ix::set_verifying_key(&ID, &chain.admins[0].pubkey(), 9, 4, key.clone(), &one);
    let admin0 = chain.admins[0].insecure_clone();
    assert_fails(chain.send_as(&admin0, &[rotate], &[]), 0, FlashError::NotEnoughAdmins);
    // The same admin twice counts once.
    let twice = [chain.admins[0].pubkey(), chain.admins[0].pubkey()];
    let rotate = ix::set_verifying_key(&ID, &chain.admins[0].pubkey(), 9, 4, key.clone(), &twice);
    assert_fails(chain.send_as(&admin0, &[rotate], &[]), 0, FlashError::NotEnoughAdmins);
    // A non-admin signer does not count.
    let outsider = chain.bettor(0);
    let with_outsider = [chain.admins[0].pubkey(), outsider.key.pubkey()];
    let rotate = ix::set_verifying_key(&ID, &chain.admins[0].pubkey(), 9, 4, key.clone(), &with_outsider);
    assert_fails(chain.send_as(&admin0, &[rotate], &[&outsider.key]), 0, FlashError::NotEnoughAdmins);
    let two = [chain.admins[1].pubkey(), chain.admins[2].pubkey()];
    let rotate = ix::set_verifying_key(&ID, &chain.admins[0].pubkey(), 9, 4, key, &two);
    let (a1, a2) = (chain.admins[1].insecure_clone(), chain.admins[2].insecure_clone());
    chain.send_as(&admin0, &[rotate], &[&a1, &a2]).expect("2 of 3 rotate");

    // Pausing stops markets and bets; unpausing restores them.
    let pause = ix::set_paused(&ID, true, &one);
    assert_fails(chain.send_as(&admin0, &[pause], &[]), 0, FlashError::NotEnoughAdmins);
    let pause = ix::set_paused(&ID, true, &two);
    chain.send(&[pause], &[&a1, &a2]).expect("pause");
    assert_fails(chain.create_market(id(11), buckets()), 0, FlashError::Paused);
    chain.send(&[ix::set_paused(&ID, false, &two)], &[&a1, &a2]).expect("unpause");
    chain.create_market(id(11), buckets()).expect("create after unpause");
}

#[test]
fn a_verifying_key_must_be_valid() {
    let mut chain = Chain::new();
    let good = support::keys().solana_vk().expect("vk");
    let two = [chain.admins[0].pubkey(), chain.admins[1].pubkey()];
    let (a0, a1) = (chain.admins[0].insecure_clone(), chain.admins[1].insecure_clone());
    let try_key = |chain: &mut Chain, key| {
        let set = ix::set_verifying_key(&ID, &a0.pubkey(), 12, 4, key, &two);
        chain.send_as(&a0, &[set], &[&a1])
    };
    let mut same = good.clone();
    same.delta_g2 = same.gamma_g2;
    assert_fails(try_key(&mut chain, same), 0, FlashError::InvalidVerifyingKey);
    let mut off_curve = good.clone();
    off_curve.ic[2][63] ^= 1;
    assert_fails(try_key(&mut chain, off_curve), 0, FlashError::InvalidVerifyingKey);
    let mut bad_g2 = good.clone();
    bad_g2.beta_g2[127] ^= 1;
    assert_fails(try_key(&mut chain, bad_g2), 0, FlashError::InvalidVerifyingKey);
    let mut identity = good.clone();
    identity.alpha_g1 = [0; 64];
    assert_fails(try_key(&mut chain, identity), 0, FlashError::InvalidVerifyingKey);
    // EIP-197: every coordinate below the modulus, flag bits or not.
    let mut flagged = good.clone();
    flagged.ic[1][32] |= 0x80;
    assert_fails(try_key(&mut chain, flagged), 0, FlashError::NonCanonicalPoint);
    let mut flagged_g2 = good.clone();
    flagged_g2.delta_g2[64] |= 0x80;
    assert_fails(try_key(&mut chain, flagged_g2), 0, FlashError::NonCanonicalPoint);
    let mut plus_p = good.clone();
    plus_p.alpha_g1[..32].copy_from_slice(&plus_modulus(&good.alpha_g1[..32]));
    assert_fails(try_key(&mut chain, plus_p), 0, FlashError::NonCanonicalPoint);
    try_key(&mut chain, good).expect("a valid key");
}

#[test]
fn only_the_upgrade_authority_initializes_once() {
    let mut chain = Chain::bare();
    let stranger = chain.bettor(0);
    let own = ix::ConfigTerms {
        admin_threshold: 1,
        admins: vec![stranger.key.pubkey()],
        oracles: vec![stranger.key.pubkey()],
        fee_bps: 0,
    };
    let mut init = ix::initialize_config(&ID, &stranger.key.pubkey(), &chain.mint.pubkey(), &chain.fee_account, own);
    assert_fails(chain.send_as(&stranger.key, &[init.clone()], &[]), 0, FlashError::NotUpgradeAuthority);
    // A forged program-data account at another address.
    init.accounts[2] = AccountMeta::new_readonly(stranger.token, false);
    assert_fails(chain.send_as(&stranger.key, &[init], &[]), 0, FlashError::WrongAccount);
    let four_of_three = ix::ConfigTerms {
        admin_threshold: 4,
        admins: chain.admins.iter().map(|a| a.pubkey()).collect(),
        oracles: vec![chain.oracle.pubkey()],
        fee_bps: FEE_BPS,
    };
    let bad =
        ix::initialize_config(&ID, &chain.authority.pubkey(), &chain.mint.pubkey(), &chain.fee_account, four_of_three);
    let authority = chain.authority.insecure_clone();
    assert_fails(chain.send_as(&authority, &[bad], &[]), 0, FlashError::InvalidSigners);
    chain.initialize().expect("initialize");
    assert_fails(chain.initialize(), 0, FlashError::AlreadyInitialized);
}

#[test]
fn wrong_accounts_mints_and_amounts_are_refused() {
    let mut chain = Chain::new();
    let m = id(13);
    let stranger = chain.bettor(0);
    let create = ix::create_market(&ID, &stranger.key.pubkey(), &chain.mint.pubkey(), support::terms(m, buckets()));
    assert_fails(chain.send(&[create], &[&stranger.key]), 0, FlashError::NotOracle);
    let mut bad_id = m;
    bad_id[0] = 1;
    assert_fails(chain.create_market(bad_id, buckets()), 0, FlashError::InvalidId);
    let unsorted = Rule { kind: 3, count: 2, params: [5, 5, 0, 0, 0, 0, 0, 0] };
    assert_fails(chain.create_market(m, unsorted), 0, FlashError::InvalidRule);
    let oracle = chain.oracle.insecure_clone();
    let past = ix::create_market(
        &ID,
        &oracle.pubkey(),
        &chain.mint.pubkey(),
        ix::MarketTerms { lock_at: START, ..support::terms(m, buckets()) },
    );
    assert_fails(chain.send(&[past], &[&oracle]), 0, FlashError::InvalidSchedule);
    let no_key = ix::create_market(
        &ID,
        &oracle.pubkey(),
        &chain.mint.pubkey(),
        ix::MarketTerms { circuit_id: 77, ..support::terms(m, buckets()) },
    );
    assert_fails(chain.send(&[no_key], &[&oracle]), 0, FlashError::WrongAccount);
    let other_mint = chain.other_mint();
    let wrong_mint = ix::create_market(&ID, &oracle.pubkey(), &other_mint, support::terms(m, buckets()));
    assert_fails(chain.send(&[wrong_mint], &[&oracle]), 0, FlashError::WrongMint);
    chain.create_market(m, buckets()).expect("create");
    assert!(chain.create_market(m, buckets()).is_err(), "a market id is used once");

    let a = chain.bettor(1_000);
    assert_fails(chain.bet(&a, &m, 3, 10), 0, FlashError::InvalidOutcome);
    assert_fails(chain.bet(&a, &m, 0, 0), 0, FlashError::ZeroAmount);
    // Paying from a token account of another mint, or someone else's.
    let foreign = chain.token_account_of(&other_mint, &a.key.pubkey(), 1_000);
    let bet = ix::place_bet(&ID, &a.key.pubkey(), &foreign, &chain.mint.pubkey(), &m, 0, 10);
    assert_fails(chain.send(&[bet], &[&a.key]), 0, FlashError::WrongMint);
    let b = chain.bettor(1_000);
    let bet = ix::place_bet(&ID, &a.key.pubkey(), &b.token, &chain.mint.pubkey(), &m, 0, 10);
    assert_fails(chain.send(&[bet], &[&a.key]), 0, FlashError::WrongTokenOwner);
    // A vault that is not the market's PDA.
    let mut bet = ix::place_bet(&ID, &a.key.pubkey(), &a.token, &chain.mint.pubkey(), &m, 0, 10);
    bet.accounts[5] = AccountMeta::new(b.token, false);
    assert_fails(chain.send(&[bet], &[&a.key]), 0, FlashError::WrongAccount);
    // A market account that is not a market.
    let mut bet = ix::place_bet(&ID, &a.key.pubkey(), &a.token, &chain.mint.pubkey(), &m, 0, 10);
    bet.accounts[2] = AccountMeta::new(state::config_address(&ID).0, false);
    assert_fails(chain.send(&[bet], &[&a.key]), 0, FlashError::WrongAccount);
    // Too few accounts.
    let mut short = ix::place_bet(&ID, &a.key.pubkey(), &a.token, &chain.mint.pubkey(), &m, 0, 10);
    short.accounts.truncate(4);
    assert_fails(chain.send(&[short], &[&a.key]), 0, FlashError::InvalidInstruction);
}

#[test]
fn totals_that_would_overflow_are_refused() {
    // A mint's supply fits in a u64, so real bets cannot overflow a total: the stored total
    // is raised directly to reach the check.
    let mut chain = Chain::new();
    let m = id(14);
    chain.create_market(m, buckets()).expect("create");
    let address = state::market_address(&ID, &m).0;
    let mut account = chain.svm.get_account(&address).expect("market");
    let mut market = chain.market(&m);
    market.totals[0] = u64::MAX - 5;
    market.write(&mut account.data).expect("write");
    chain.svm.set_account(address, account).expect("set");
    let a = chain.bettor(100);
    assert_fails(chain.bet(&a, &m, 0, 10), 0, FlashError::Overflow);
    chain.bet(&a, &m, 0, 5).expect("up to the limit");
    chain.bet(&a, &m, 1, 10).expect("another outcome has room");
}

#[test]
fn the_unbuilt_instructions_are_not_decoded_in_this_build() {
    let mut chain = Chain::new();
    for tag in EXPERIMENTAL_TAGS {
        let call = Instruction { program_id: ID, accounts: vec![], data: vec![tag] };
        assert_fails(chain.send(&[call], &[]), 0, FlashError::InvalidInstruction);
    }
    const { assert!(!cfg!(feature = "experimental"), "the default build must not decode them") };
    // Built with the feature, the decoder admits them and the program refuses them by name.
    assert!(matches!(
        ix::FlashInstruction::decode(&[EXPERIMENTAL_TAGS[0]], true),
        Ok(ix::FlashInstruction::LeveragedBet)
    ));
    let garbage = Instruction { program_id: ID, accounts: vec![], data: vec![] };
    let failed = chain.send(&[garbage], &[]).expect_err("empty data");
    assert_eq!(failed.err, TransactionError::InstructionError(0, InstructionError::Custom(0)));
}

#[test]
fn a_market_resolves_only_under_the_key_it_was_created_with() {
    let mut chain = Chain::new();
    let m = id(20);
    chain.create_market(m, buckets()).expect("create");
    let oracle = Oracle::new(m, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    // The admins rotate the circuit's key while the market is live.
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(99);
    let mut other = kairos_flash_circuit::keys::Keys::setup(support::TICKS, &mut rng).expect("setup");
    other.contribute(&mut rng).expect("contribute");
    let two = [chain.admins[0].pubkey(), chain.admins[1].pubkey()];
    let rotate = ix::set_verifying_key(&ID, &two[0], support::CIRCUIT, 4, other.solana_vk().expect("vk"), &two);
    let (a0, a1) = (chain.admins[0].insecure_clone(), chain.admins[1].insecure_clone());
    chain.send_as(&a0, &[rotate], &[&a1]).expect("rotated");
    let (outcome, proof) = oracle.prove();
    assert_fails(chain.resolve(&m, outcome, proof), 1, FlashError::KeyRotated);
}

#[test]
fn schedules_are_bounded_and_a_pause_does_not_block_resolution() {
    let mut chain = Chain::new();
    let oracle_key = chain.oracle.insecure_clone();
    let far =
        ix::MarketTerms { lock_at: START + 86_401, resolve_by: START + 86_500, ..support::terms(id(21), buckets()) };
    let create = ix::create_market(&ID, &oracle_key.pubkey(), &chain.mint.pubkey(), far);
    assert_fails(chain.send(&[create], &[&oracle_key]), 0, FlashError::InvalidSchedule);
    let slow = ix::MarketTerms { resolve_by: START + 60 + 86_401, ..support::terms(id(21), buckets()) };
    let create = ix::create_market(&ID, &oracle_key.pubkey(), &chain.mint.pubkey(), slow);
    assert_fails(chain.send(&[create], &[&oracle_key]), 0, FlashError::InvalidSchedule);

    let m = id(22);
    chain.create_market(m, buckets()).expect("create");
    let a = chain.bettor(1_000);
    chain.bet(&a, &m, 1, 100).expect("bet");
    let oracle = Oracle::new(m, TICKS, buckets());
    chain.set_time(START + 60);
    chain.lock(&m, oracle.commitment()).expect("lock");
    let two = [chain.admins[0].pubkey(), chain.admins[1].pubkey()];
    let (a0, a1) = (chain.admins[0].insecure_clone(), chain.admins[1].insecure_clone());
    chain.send_as(&a0, &[ix::set_paused(&ID, true, &two)], &[&a1]).expect("pause");
    assert_fails(chain.bet(&a, &m, 1, 1), 0, FlashError::Paused);
    let (outcome, proof) = oracle.prove();
    chain.resolve(&m, outcome, proof).expect("a valid proof resolves while paused");
    chain.claim(&a, &m, 1).expect("and claims go on");
}
