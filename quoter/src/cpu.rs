//! What the binary was compiled for against what the CPU has. A release built for
//! `x86-64-v3` (AVX2, FMA, BMI1/2, LZCNT, MOVBE, F16C) dies on an illegal instruction on an
//! older CPU; checking at start-up turns that into one clear refusal. The check runs first
//! thing in `main`, before any code the compiler may have vectorised for those features.

/// The `x86-64-v3` features the binary may have been compiled with, by `cfg` name.
const V3_FEATURES: [(&str, bool); 8] = [
    ("avx", cfg!(target_feature = "avx")),
    ("avx2", cfg!(target_feature = "avx2")),
    ("fma", cfg!(target_feature = "fma")),
    ("bmi1", cfg!(target_feature = "bmi1")),
    ("bmi2", cfg!(target_feature = "bmi2")),
    ("lzcnt", cfg!(target_feature = "lzcnt")),
    ("movbe", cfg!(target_feature = "movbe")),
    ("f16c", cfg!(target_feature = "f16c")),
];

/// The SIMD and crypto features compiled in, comma-separated (the build-info metric's label).
pub fn compiled_features() -> String {
    let extra = [
        ("sse4.2", cfg!(target_feature = "sse4.2")),
        ("sha", cfg!(target_feature = "sha")),
        ("avx512f", cfg!(target_feature = "avx512f")),
    ];
    let on: Vec<&str> = V3_FEATURES.iter().chain(&extra).filter(|(_, on)| *on).map(|(f, _)| *f).collect();
    if on.is_empty() { "baseline".to_string() } else { on.join(",") }
}

/// Whether the binary was compiled with AVX2.
pub fn avx2_compiled() -> bool {
    cfg!(target_feature = "avx2")
}

/// Whether this CPU has AVX2.
pub fn avx2_cpu() -> bool {
    has("avx2")
}

#[cfg(target_arch = "x86_64")]
fn has(feature: &str) -> bool {
    match feature {
        "avx" => std::arch::is_x86_feature_detected!("avx"),
        "avx2" => std::arch::is_x86_feature_detected!("avx2"),
        "fma" => std::arch::is_x86_feature_detected!("fma"),
        "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
        "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
        "lzcnt" => std::arch::is_x86_feature_detected!("lzcnt"),
        "movbe" => std::arch::is_x86_feature_detected!("movbe"),
        "f16c" => std::arch::is_x86_feature_detected!("f16c"),
        _ => false,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn has(_: &str) -> bool {
    false
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this kairos-quoter was built for CPU features this machine lacks ({missing}); run a build without -C target-cpu=x86-64-v3 (see the README's quoter section)"
)]
pub struct CpuError {
    pub missing: String,
}

/// Refuses when the binary was compiled for a feature the CPU lacks.
pub fn check() -> Result<(), CpuError> {
    missing(&V3_FEATURES, has)
}

fn missing(compiled: &[(&str, bool)], has: impl Fn(&str) -> bool) -> Result<(), CpuError> {
    let lacking: Vec<&str> = compiled.iter().filter(|(f, on)| *on && !has(f)).map(|(f, _)| *f).collect();
    if lacking.is_empty() { Ok(()) } else { Err(CpuError { missing: lacking.join(", ") }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_feature_compiled_in_but_absent_and_passes_on_this_machine() {
        let compiled = [("avx2", true), ("fma", true), ("bmi2", false)];
        let err = missing(&compiled, |f| f == "fma").expect_err("no avx2");
        assert_eq!(err.missing, "avx2");
        assert!(err.to_string().contains("x86-64-v3"));
        assert_eq!(missing(&compiled, |_| true), Ok(()));
        assert_eq!(missing(&[("bmi2", false)], |_| false), Ok(()), "not compiled in, not needed");
        // This test binary runs here, so whatever it was compiled for, the CPU has.
        assert_eq!(check(), Ok(()));
    }
}
