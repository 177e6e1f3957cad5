//! Keys and the ceremony's phase 2: keys derived from phase-1 powers ([`crate::powers`]),
//! contributions that re-key delta (after one honest contribution nobody knows delta), and
//! the key directory's files. Keys never go into a git work tree.
//!
//! A directory holds `powers.bin` (the phase-1 powers), `proving_key.bin` (arkworks,
//! uncompressed; the proving key embeds the verifying key) and `ceremony.json` (the circuit size, the proving key's SHA-256, which is
//! checked before the unchecked fast load, and the transcript of hashes and contributions).

use std::path::{Path, PathBuf};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, pairing::Pairing};
use ark_ff::{Field, UniformRand};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::r1cs::ConstraintMatrices;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::circuit::FlashCircuit;
use crate::error::CircuitError;
use crate::field::hex_bytes;

pub const DEFAULT_TICKS: usize = 16;
const PROVING_KEY_FILE: &str = "proving_key.bin";
const CEREMONY_FILE: &str = "ceremony.json";
const POWERS_FILE: &str = "powers.bin";

/// Writes the phase-1 powers beside the keys.
pub fn save_powers(dir: &Path, powers: &crate::powers::Powers) -> Result<(), CircuitError> {
    refuse_git_work_tree(dir)?;
    std::fs::create_dir_all(dir)?;
    let mut bytes = Vec::new();
    powers.serialize_uncompressed(&mut bytes).map_err(|e| CircuitError::keys(e.to_string()))?;
    write_private(&dir.join(POWERS_FILE), &bytes)
}

/// Reads the phase-1 powers, every point checked to be on its curve and in its subgroup.
pub fn load_powers(dir: &Path) -> Result<crate::powers::Powers, CircuitError> {
    let bytes = std::fs::read(dir.join(POWERS_FILE))
        .map_err(|e| CircuitError::keys(format!("cannot read {}: {e}", dir.join(POWERS_FILE).display())))?;
    crate::powers::Powers::deserialize_uncompressed(bytes.as_slice())
        .map_err(|e| CircuitError::keys(format!("{POWERS_FILE}: {e}")))
}

#[derive(Debug, Clone)]
pub struct Keys {
    pub ticks: usize,
    pub pk: ProvingKey<Bn254>,
    pub ceremony: Ceremony,
    shape: std::sync::OnceLock<std::sync::Arc<Shape>>,
}

/// The circuit's constraint matrices, as key generation saw them.
#[derive(Debug)]
pub struct Shape {
    pub matrices: ConstraintMatrices<Fr>,
}

/// What a key directory records about how its keys were made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ceremony {
    pub ticks: usize,
    pub proving_key_sha256: String,
    /// Hex of the verifying key's hash after each step (setup first).
    pub vk_hashes: Vec<String>,
    /// Phase-2 contributions (delta) since the key was derived.
    pub contributions: Vec<Contribution>,
    /// Phase-1 contributions (tau, alpha, beta) in the powers the key was derived from; 0 for
    /// a single-party [`Keys::setup`].
    #[serde(default)]
    pub phase1_contributions: usize,
}

/// One contribution: delta was multiplied by a secret `r`. Anyone can check
/// `e(new_delta_g1, g2) = e(old_delta_g1, r·g2)` with the standard G2 generator `g2`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Contribution {
    pub old_delta_g1: String,
    pub new_delta_g1: String,
    pub r_g2: String,
}

fn ser<T: CanonicalSerialize>(v: &T) -> Result<Vec<u8>, CircuitError> {
    let mut out = Vec::new();
    v.serialize_compressed(&mut out).map_err(|e| CircuitError::keys(e.to_string()))?;
    Ok(out)
}

fn de<T: CanonicalDeserialize>(hex_str: &str) -> Result<T, CircuitError> {
    let bytes = hex::decode(hex_str.trim_start_matches("0x")).map_err(|e| CircuitError::keys(e.to_string()))?;
    T::deserialize_compressed(bytes.as_slice()).map_err(|e| CircuitError::keys(e.to_string()))
}

impl Keys {
    /// Single-party Groth16 keys for `ticks` ticks from `rng`: whoever holds `rng` knows the
    /// trapdoor. For tests and benches; `flash setup` runs the two-phase ceremony
    /// ([`crate::powers`], then [`Keys::from_powers`]).
    pub fn setup<R: RngCore + CryptoRng>(ticks: usize, rng: &mut R) -> Result<Self, CircuitError> {
        if !(1..=1024).contains(&ticks) {
            return Err(CircuitError::input("ticks must be between 1 and 1024"));
        }
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(FlashCircuit::blank(ticks), rng)
            .map_err(|e| CircuitError::keys(e.to_string()))?;
        Self::fresh(ticks, pk, 0)
    }

    /// A new key's record: its first hash, no phase-2 contribution yet.
    fn fresh(ticks: usize, pk: ProvingKey<Bn254>, phase1_contributions: usize) -> Result<Self, CircuitError> {
        let ceremony = Ceremony {
            ticks,
            proving_key_sha256: String::new(),
            vk_hashes: Vec::new(),
            contributions: vec![],
            phase1_contributions,
        };
        let mut keys = Self { ticks, pk, ceremony, shape: std::sync::OnceLock::new() };
        keys.ceremony.vk_hashes.push(hex_bytes(&keys.vk_hash()?));
        Ok(keys)
    }

    /// Keys derived from phase-1 powers (gamma = delta = the generator), then one phase-2
    /// contribution from `rng`, so delta is fresh. Further parties run [`Keys::contribute`].
    pub fn from_powers<R: RngCore + CryptoRng>(
        ticks: usize,
        powers: &crate::powers::Powers,
        rng: &mut R,
    ) -> Result<Self, CircuitError> {
        powers.verify(rng)?;
        let pk = powers.derive(ticks)?;
        let mut keys = Self::fresh(ticks, pk, powers.transcript.len())?;
        keys.contribute(rng)?;
        Ok(keys)
    }

    /// Multiplies delta by a fresh secret `r` and divides the H and L queries by it, so
    /// proofs still verify and whoever knew the old delta no longer knows the new one (the
    /// setup party's tau, alpha and beta are untouched).
    pub fn contribute<R: RngCore + CryptoRng>(&mut self, rng: &mut R) -> Result<Contribution, CircuitError> {
        let r = loop {
            let r = Fr::rand(rng);
            if let Some(inv) = r.inverse() {
                break (r, inv);
            }
        };
        let (r, r_inv) = r;
        let old_delta_g1 = self.pk.delta_g1;
        let pk = &mut self.pk;
        pk.delta_g1 = (pk.delta_g1 * r).into_affine();
        pk.vk.delta_g2 = (pk.vk.delta_g2 * r).into_affine();
        let scale = |points: &[G1Affine]| -> Vec<G1Affine> {
            let projective: Vec<G1Projective> = points.iter().map(|p| *p * r_inv).collect();
            G1Projective::normalize_batch(&projective)
        };
        pk.h_query = scale(&pk.h_query);
        pk.l_query = scale(&pk.l_query);
        let r_g2: G2Affine = (G2Affine::generator() * r).into_affine();
        let contribution = Contribution {
            old_delta_g1: hex_bytes(&ser(&old_delta_g1)?),
            new_delta_g1: hex_bytes(&ser(&pk.delta_g1)?),
            r_g2: hex_bytes(&ser(&r_g2)?),
        };
        check_contribution(&contribution, pk)?;
        self.ceremony.contributions.push(contribution.clone());
        self.ceremony.vk_hashes.push(hex_bytes(&self.vk_hash()?));
        Ok(contribution)
    }

    /// The constraint matrices, synthesized as setup does on first use and kept.
    pub fn shape(&self) -> Result<std::sync::Arc<Shape>, CircuitError> {
        if let Some(shape) = self.shape.get() {
            return Ok(shape.clone());
        }
        let matrices =
            crate::circuit::constraint_matrices(self.ticks).map_err(|e| CircuitError::keys(e.to_string()))?;
        Ok(self.shape.get_or_init(|| std::sync::Arc::new(Shape { matrices })).clone())
    }

    pub fn solana_vk(&self) -> Result<kairos_flash_bets::verifier::VerifyingKey, CircuitError> {
        crate::solana::verifying_key(&self.pk.vk)
    }

    /// SHA-256 of the verifying key in the program's layout: the hash the ceremony publishes
    /// and the program records.
    pub fn vk_hash(&self) -> Result<[u8; 32], CircuitError> {
        Ok(self.solana_vk()?.hash())
    }

    /// Writes the keys to `dir` (created if needed), never inside a git work tree.
    pub fn save(&mut self, dir: &Path) -> Result<(), CircuitError> {
        refuse_git_work_tree(dir)?;
        std::fs::create_dir_all(dir)?;
        let mut bytes = Vec::new();
        self.pk.serialize_uncompressed(&mut bytes).map_err(|e| CircuitError::keys(e.to_string()))?;
        self.ceremony.proving_key_sha256 = hex::encode(Sha256::digest(&bytes));
        write_private(&dir.join(PROVING_KEY_FILE), &bytes)?;
        let json = serde_json::to_vec_pretty(&self.ceremony).map_err(|e| CircuitError::keys(e.to_string()))?;
        write_private(&dir.join(CEREMONY_FILE), &json)?;
        Ok(())
    }

    pub fn load(dir: &Path) -> Result<Self, CircuitError> {
        let read = |name: &str| -> Result<Vec<u8>, CircuitError> {
            std::fs::read(dir.join(name))
                .map_err(|e| CircuitError::keys(format!("cannot read {}: {e}", dir.join(name).display())))
        };
        let ceremony: Ceremony = serde_json::from_slice(&read(CEREMONY_FILE)?)
            .map_err(|e| CircuitError::keys(format!("{CEREMONY_FILE}: {e}")))?;
        let bytes = read(PROVING_KEY_FILE)?;
        if hex::encode(Sha256::digest(&bytes)) != ceremony.proving_key_sha256 {
            return Err(CircuitError::keys(format!(
                "{PROVING_KEY_FILE} does not match the SHA-256 in {CEREMONY_FILE}"
            )));
        }
        // The hash above vouches for the bytes, so the slow subgroup checks are skipped.
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(bytes.as_slice())
            .map_err(|e| CircuitError::keys(format!("{PROVING_KEY_FILE}: {e}")))?;
        let keys = Self { ticks: ceremony.ticks, pk, ceremony, shape: std::sync::OnceLock::new() };
        let hash = keys.vk_hash()?;
        if keys.ceremony.vk_hashes.last() != Some(&hex_bytes(&hash)) {
            return Err(CircuitError::keys("the verifying key's hash is not the last one the ceremony recorded"));
        }
        kairos_flash_bets::verifier::check_not_test_key(&hash, !cfg!(debug_assertions))
            .map_err(|e| CircuitError::keys(e.to_string()))?;
        Ok(keys)
    }
}

/// Checks a contribution's pairing equations against the key it produced. The setup picks
/// its own generators, so delta's two halves are compared through beta's:
/// `e(new_delta_g1, beta_g2) = e(beta_g1, new_delta_g2)`.
pub fn check_contribution(c: &Contribution, pk: &ProvingKey<Bn254>) -> Result<(), CircuitError> {
    let old: G1Affine = de(&c.old_delta_g1)?;
    let new: G1Affine = de(&c.new_delta_g1)?;
    let r_g2: G2Affine = de(&c.r_g2)?;
    let g2 = G2Affine::generator();
    let scaled = Bn254::pairing(new, g2) == Bn254::pairing(old, r_g2);
    let consistent =
        new == pk.delta_g1 && Bn254::pairing(new, pk.vk.beta_g2) == Bn254::pairing(pk.beta_g1, pk.vk.delta_g2);
    if scaled && consistent && !r_g2.is_zero() && r_g2 != g2 {
        Ok(())
    } else {
        Err(CircuitError::keys("a contribution does not check out"))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CircuitError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)?;
    Ok(())
}

/// Keys must never be committed: refuse any directory inside a git work tree unless git
/// ignores it (`git check-ignore`, so the repository's own rules decide, e.g. the dev profile's
/// `data/`). Without a working `git` such a directory is refused.
pub fn refuse_git_work_tree(dir: &Path) -> Result<(), CircuitError> {
    let absolute: PathBuf = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir()?.join(dir) };
    // The directory may not exist yet: check from its nearest existing ancestor, with
    // symbolic links resolved.
    let existing = absolute.ancestors().find(|a| a.exists()).unwrap_or(Path::new("/"));
    let canonical = existing.canonicalize()?;
    let Some(repo) = canonical.ancestors().find(|a| a.join(".git").exists()) else { return Ok(()) };
    let target = canonical.join(absolute.strip_prefix(existing).unwrap_or(Path::new("")));
    let ignored = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["check-ignore", "-q", "--"])
        .arg(&target)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ignored {
        return Ok(());
    }
    Err(CircuitError::input(format!(
        "refusing to write keys inside the git work tree {} where git does not ignore them; choose a directory outside it",
        repo.display()
    )))
}

#[cfg(any(test, feature = "test-keys"))]
pub mod test_keys {
    //! Keys from fixed seeds: anyone can rebuild their trapdoor, so they exist for tests only
    //! and the program refuses their hashes in release builds.
    use rand_core::SeedableRng;

    use super::*;

    pub const SEED: u64 = 0x6b61_6972_6f73;

    pub fn keys(ticks: usize) -> Keys {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(SEED);
        let mut keys = Keys::setup(ticks, &mut rng).expect("setup");
        keys.contribute(&mut rng).expect("contribute");
        keys
    }
}
