//! Phase 1 of the ceremony: powers of tau (with alpha and beta) that any number of parties
//! update in turn, and the derivation of the circuit's keys from them with gamma = delta = the
//! generator, before phase 2 ([`crate::keys::Keys::contribute`]) re-randomizes delta.
//!
//! After at least one honest phase-1 contributor and one honest phase-2 contributor, nobody
//! knows tau, alpha, beta or delta: the trapdoor is gone. The derivation reproduces
//! arkworks' Groth16 generator (its libsnark R1CS-to-QAP reduction over the same evaluation
//! domain) with group elements in place of the secrets, so the arkworks prover proves with
//! the derived key unchanged.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{One, UniformRand, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::r1cs::ConstraintMatrices;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_core::{CryptoRng, RngCore};

use crate::error::CircuitError;

/// The powers, for a domain of size `m`: `[τ^i]₁` for i < 2m − 1, `[τ^i]₂`, `[ατ^i]₁`,
/// `[βτ^i]₁` for i < m, and `[β]₂`; plus each contribution's public check values.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Powers {
    pub tau_g1: Vec<G1Affine>,
    pub tau_g2: Vec<G2Affine>,
    pub alpha_tau_g1: Vec<G1Affine>,
    pub beta_tau_g1: Vec<G1Affine>,
    pub beta_g2: G2Affine,
    pub transcript: Vec<Step>,
}

/// One contribution: `[s]₂, [a]₂, [b]₂` for its secrets and the first powers after it, so the
/// chain `e(τ₁ after, g₂) = e(τ₁ before, [s]₂)` (and likewise for α, β) checks without the
/// full powers of every step.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Step {
    pub s_g2: G2Affine,
    pub a_g2: G2Affine,
    pub b_g2: G2Affine,
    pub tau_g1: G1Affine,
    pub alpha_g1: G1Affine,
    pub beta_g1: G1Affine,
}

fn nonzero<R: RngCore + CryptoRng>(rng: &mut R) -> Fr {
    loop {
        let x = Fr::rand(rng);
        if !x.is_zero() && !x.is_one() {
            return x;
        }
    }
}

/// `points[i] · (c · x^i)`, normalized: one contribution's effect on a sequence of powers.
fn scale<G: CurveGroup<ScalarField = Fr>>(points: &[G::Affine], c: Fr, x: Fr) -> Vec<G::Affine> {
    let mut k = c;
    let out: Vec<G> = points
        .iter()
        .map(|p| {
            let q = *p * k;
            k *= x;
            q
        })
        .collect();
    G::normalize_batch(&out)
}

/// The circuit's constraint matrices and the evaluation domain arkworks' generator uses for
/// them (one point per constraint and per public input).
fn shape(ticks: usize) -> Result<(GeneralEvaluationDomain<Fr>, ConstraintMatrices<Fr>), CircuitError> {
    let matrices = crate::circuit::constraint_matrices(ticks).map_err(|e| CircuitError::keys(e.to_string()))?;
    let domain = GeneralEvaluationDomain::<Fr>::new(matrices.num_constraints + matrices.num_instance_variables)
        .ok_or_else(|| CircuitError::keys("the circuit is too large for the field's FFT domain"))?;
    Ok((domain, matrices))
}

impl Powers {
    /// Powers for the circuit with `ticks` ticks, every secret 1 (no contribution yet).
    pub fn new(ticks: usize) -> Result<Self, CircuitError> {
        let (domain, _) = shape(ticks)?;
        let m = domain.size();
        Ok(Self {
            tau_g1: vec![G1Affine::generator(); 2 * m - 1],
            tau_g2: vec![G2Affine::generator(); m],
            alpha_tau_g1: vec![G1Affine::generator(); m],
            beta_tau_g1: vec![G1Affine::generator(); m],
            beta_g2: G2Affine::generator(),
            transcript: Vec::new(),
        })
    }

    /// Multiplies tau, alpha and beta by fresh secrets, which are then dropped.
    pub fn contribute<R: RngCore + CryptoRng>(&mut self, rng: &mut R) -> Result<(), CircuitError> {
        let (s, a, b) = (nonzero(rng), nonzero(rng), nonzero(rng));
        self.tau_g1 = scale::<G1Projective>(&self.tau_g1, Fr::one(), s);
        self.tau_g2 = scale::<G2Projective>(&self.tau_g2, Fr::one(), s);
        self.alpha_tau_g1 = scale::<G1Projective>(&self.alpha_tau_g1, a, s);
        self.beta_tau_g1 = scale::<G1Projective>(&self.beta_tau_g1, b, s);
        self.beta_g2 = (self.beta_g2 * b).into_affine();
        let g2 = G2Affine::generator();
        self.transcript.push(Step {
            s_g2: (g2 * s).into_affine(),
            a_g2: (g2 * a).into_affine(),
            b_g2: (g2 * b).into_affine(),
            tau_g1: self.tau_g1[1],
            alpha_g1: self.alpha_tau_g1[0],
            beta_g1: self.beta_tau_g1[0],
        });
        self.verify(rng)
    }

    /// Checks that the powers are what some secrets make (random linear combinations, so one
    /// pairing product per relation) and that the transcript chains every step to the last.
    pub fn verify<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<(), CircuitError> {
        let bad = |what: &str| CircuitError::keys(format!("the powers do not check out: {what}"));
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        let m = self.tau_g2.len();
        if m < 2 || self.tau_g1.len() != 2 * m - 1 || self.alpha_tau_g1.len() != m || self.beta_tau_g1.len() != m {
            return Err(bad("lengths"));
        }
        if self.tau_g1[0] != g1 || self.tau_g2[0] != g2 {
            return Err(bad("the first powers are not the generators"));
        }
        let rho: Vec<Fr> = (0..self.tau_g1.len()).map(|_| Fr::rand(rng)).collect();
        let msm1 = |p: &[G1Affine], r: &[Fr]| G1Projective::msm(p, &r[..p.len()]).map(|x| x.into_affine());
        let msm2 = |p: &[G2Affine], r: &[Fr]| G2Projective::msm(p, &r[..p.len()]).map(|x| x.into_affine());
        let e = |a: G1Affine, b: G2Affine| Bn254::pairing(a, b);
        let n1 = self.tau_g1.len();
        let lo1 = msm1(&self.tau_g1[..n1 - 1], &rho).map_err(|_| bad("msm"))?;
        let hi1 = msm1(&self.tau_g1[1..], &rho).map_err(|_| bad("msm"))?;
        // [τ^{i+1}]₁ = τ·[τ^i]₁ for every i, and the same τ as in G2.
        if e(hi1, g2) != e(lo1, self.tau_g2[1]) {
            return Err(bad("tau in G1 is not one geometric sequence"));
        }
        let lo2 = msm2(&self.tau_g2[..m - 1], &rho).map_err(|_| bad("msm"))?;
        let hi2 = msm2(&self.tau_g2[1..], &rho).map_err(|_| bad("msm"))?;
        if e(self.tau_g1[1], lo2) != e(g1, hi2) {
            return Err(bad("tau in G2 is not the same geometric sequence"));
        }
        let tau_m2 = msm2(&self.tau_g2, &rho).map_err(|_| bad("msm"))?;
        let alpha = msm1(&self.alpha_tau_g1, &rho).map_err(|_| bad("msm"))?;
        if e(alpha, g2) != e(self.alpha_tau_g1[0], tau_m2) {
            return Err(bad("alpha·tau^i"));
        }
        let beta = msm1(&self.beta_tau_g1, &rho).map_err(|_| bad("msm"))?;
        if e(beta, g2) != e(self.beta_tau_g1[0], tau_m2) || e(self.beta_tau_g1[0], g2) != e(g1, self.beta_g2) {
            return Err(bad("beta·tau^i"));
        }
        let (mut tau, mut alpha, mut beta) = (g1, g1, g1);
        for step in &self.transcript {
            let chained = e(step.tau_g1, g2) == e(tau, step.s_g2)
                && e(step.alpha_g1, g2) == e(alpha, step.a_g2)
                && e(step.beta_g1, g2) == e(beta, step.b_g2)
                && step.s_g2 != g2
                && !step.s_g2.is_zero();
            if !chained {
                return Err(bad("a transcript step does not follow from the one before"));
            }
            (tau, alpha, beta) = (step.tau_g1, step.alpha_g1, step.beta_g1);
        }
        if (tau, alpha, beta) != (self.tau_g1[1], self.alpha_tau_g1[0], self.beta_tau_g1[0]) {
            return Err(bad("the transcript does not end at these powers"));
        }
        if self.transcript.is_empty() {
            return Err(bad("no contribution yet"));
        }
        Ok(())
    }

    /// The circuit's proving key with gamma = delta = the generator, exactly as arkworks'
    /// generator would make it from these secrets. Phase 2 must follow: a key whose delta is
    /// still the generator is forgeable (and the program refuses `delta == gamma`).
    pub fn derive(&self, ticks: usize) -> Result<ProvingKey<Bn254>, CircuitError> {
        let (domain, matrices) = shape(ticks)?;
        let m = domain.size();
        if self.tau_g2.len() != m {
            return Err(CircuitError::keys(format!(
                "these powers are for another circuit size ({} ≠ {m})",
                self.tau_g2.len()
            )));
        }
        let projective1 = |v: &[G1Affine]| v.iter().map(|p| p.into_group()).collect::<Vec<G1Projective>>();
        // Lagrange bases in the exponent: L_j(τ) = (1/m) Σ_i ω^{-ij} τ^i, an inverse FFT.
        let lag_g1 = domain.ifft(&projective1(&self.tau_g1[..m]));
        let lag_alpha = domain.ifft(&projective1(&self.alpha_tau_g1));
        let lag_beta = domain.ifft(&projective1(&self.beta_tau_g1));
        let lag_g2 = domain.ifft(&self.tau_g2.iter().map(|p| p.into_group()).collect::<Vec<G2Projective>>());

        let num_instance = matrices.num_instance_variables;
        let num_vars = num_instance + matrices.num_witness_variables;
        let nc = matrices.num_constraints;
        let mut a = vec![G1Projective::zero(); num_vars];
        let mut b1 = vec![G1Projective::zero(); num_vars];
        let mut b2 = vec![G2Projective::zero(); num_vars];
        // β·u + α·v + w for every variable (gamma abc for the instance, l for the witness).
        let mut abc = vec![G1Projective::zero(); num_vars];
        for k in 0..num_instance {
            a[k] += lag_g1[nc + k];
            abc[k] += lag_beta[nc + k];
        }
        let times1 = |p: &G1Projective, c: &Fr| if c.is_one() { *p } else { *p * c };
        let times2 = |p: &G2Projective, c: &Fr| if c.is_one() { *p } else { *p * c };
        for i in 0..nc {
            for (coeff, var) in &matrices.a[i] {
                a[*var] += times1(&lag_g1[i], coeff);
                abc[*var] += times1(&lag_beta[i], coeff);
            }
            for (coeff, var) in &matrices.b[i] {
                b1[*var] += times1(&lag_g1[i], coeff);
                b2[*var] += times2(&lag_g2[i], coeff);
                abc[*var] += times1(&lag_alpha[i], coeff);
            }
            for (coeff, var) in &matrices.c[i] {
                abc[*var] += times1(&lag_g1[i], coeff);
            }
        }
        // [τ^i · Z(τ)] with Z(τ) = τ^m − 1, for i < m − 1.
        let h: Vec<G1Projective> =
            (0..m - 1).map(|i| self.tau_g1[i + m].into_group() - self.tau_g1[i].into_group()).collect();
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        let vk = VerifyingKey::<Bn254> {
            alpha_g1: self.alpha_tau_g1[0],
            beta_g2: self.beta_g2,
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1: G1Projective::normalize_batch(&abc[..num_instance]),
        };
        Ok(ProvingKey {
            vk,
            beta_g1: self.beta_tau_g1[0],
            delta_g1: g1,
            a_query: G1Projective::normalize_batch(&a),
            b_g1_query: G1Projective::normalize_batch(&b1),
            b_g2_query: G2Projective::normalize_batch(&b2),
            h_query: G1Projective::normalize_batch(&h),
            l_query: G1Projective::normalize_batch(&abc[num_instance..]),
        })
    }
}
