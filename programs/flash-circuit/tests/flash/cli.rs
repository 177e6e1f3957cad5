//! The `flash` binary end to end: the ceremony (setup, contribute, export), commitments,
//! proofs and verification, with the input formats the contract fixes and JSON errors.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Runs `flash args…` with `stdin`; `Ok(stdout JSON)` on success, `Err(stderr JSON)` otherwise.
fn flash(args: &[&str], stdin: &str) -> Result<Value, Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flash"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flash");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("flash runs");
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
    };
    if out.status.success() {
        assert!(out.stderr.is_empty(), "stderr on success: {}", String::from_utf8_lossy(&out.stderr));
        Ok(parse(&out.stdout))
    } else {
        assert!(out.stdout.is_empty(), "stdout on failure");
        Err(parse(&out.stderr))
    }
}

fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

const MARKET: &str = "0x00aa000000000000000000000000000000000000000000000000000000000001";
const SALT: &str = "0011223344556677889900112233445566778899001122334455667788990011";

#[test]
fn a_ceremony_proves_and_verifies_through_the_cli() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = dir_arg(tmp.path());
    // Two parties in phase 1 (setup, then powers-contribute), one more in phase 2.
    let setup = flash(&["setup", "--dir", &dir, "--ticks", "2"], "").expect("setup");
    assert_eq!((setup["ticks"].as_u64(), setup["phase1_contributions"].as_u64()), (Some(2), Some(1)));
    let second = flash(&["powers-contribute", "--dir", &dir], "").expect("powers-contribute");
    assert_eq!(second["phase1_contributions"], 2);
    assert_ne!(second["vk_hash"], setup["vk_hash"], "derived again from the new powers");
    let first_hash = second["vk_hash"].as_str().expect("hash").to_string();
    assert!(first_hash.starts_with("0x") && first_hash.len() == 66, "{first_hash}");
    let contributed = flash(&["contribute", "--dir", &dir], "").expect("contribute");
    assert_eq!(contributed["previous_vk_hash"], first_hash.as_str());
    assert_ne!(contributed["vk_hash"], first_hash.as_str());
    assert_eq!(contributed["contributions"], 2, "setup's own phase-2 contribution and this one");

    let vk = flash(&["export-vk", "--dir", &dir], "").expect("export");
    assert_eq!(vk["alpha_g1"].as_str().map(str::len), Some(2 + 128));
    for g2 in ["beta_g2", "gamma_g2", "delta_g2"] {
        assert_eq!(vk[g2].as_str().map(str::len), Some(2 + 256), "{g2}");
    }
    assert_eq!(vk["ic"].as_array().map(Vec::len), Some(5));

    // Ticks as integers and strings; ids with and without 0x.
    let commit = flash(&["commit"], &json!({ "market_id": MARKET, "ticks": [100, "250"], "salt": SALT }).to_string())
        .expect("commit");
    let input = json!({
        "market_id": MARKET.trim_start_matches("0x"),
        "ticks": ["100", 250],
        "salt": format!("0x{SALT}"),
        "rule": { "kind": "buckets", "edges": [150, "260"] },
    });
    let proved = flash(&["prove", "--dir", &dir], &input.to_string()).expect("prove");
    assert_eq!(proved["outcome"], 1);
    assert_eq!(proved["commitment"], commit["commitment"]);
    let inputs = proved["public_inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 4);
    assert_eq!(inputs[0], MARKET);
    assert_eq!(inputs[1], proved["commitment"]);
    assert_eq!(inputs[2], proved["rule_hash"]);
    assert_eq!(inputs[3], "0x0000000000000000000000000000000000000000000000000000000000000001");
    assert_eq!(flash(&["verify", "--dir", &dir], &proved.to_string()).expect("verify"), json!({ "valid": true }));

    let mut lying = proved.clone();
    lying["public_inputs"][3] = json!("0x0000000000000000000000000000000000000000000000000000000000000002");
    lying["outcome"] = json!(2);
    assert_eq!(flash(&["verify", "--dir", &dir], &lying.to_string()).expect("verify"), json!({ "valid": false }));
    let mut inconsistent = proved.clone();
    inconsistent["outcome"] = json!(0);
    assert_eq!(
        flash(&["verify", "--dir", &dir], &inconsistent.to_string()).expect("verify"),
        json!({ "valid": false })
    );

    // The rule hash is the program's, for the twap and threshold kinds too.
    let twap = json!({ "market_id": MARKET, "ticks": [1, 2], "salt": SALT, "rule": { "kind": "twap", "strike": "3" } });
    let proved = flash(&["prove", "--dir", &dir], &twap.to_string()).expect("prove twap");
    assert_eq!(proved["outcome"], 0);
    let expected = kairos_flash_bets::rule::Rule::twap(3).hash().expect("hash");
    assert_eq!(proved["rule_hash"], format!("0x{}", hex::encode(expected)));
}

#[test]
fn bad_input_gets_a_json_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = dir_arg(tmp.path());
    let err = flash(&["prove", "--dir", &dir], "{}").expect_err("no keys, bad input");
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
    let cases = [
        (json!({ "market_id": "0x01", "ticks": [1], "salt": SALT }), "32 bytes"),
        (json!({ "market_id": MARKET, "ticks": [-1], "salt": SALT }), "non-negative"),
        (json!({ "market_id": MARKET, "ticks": ["1.5"], "salt": SALT }), "decimal"),
        (json!({ "market_id": MARKET, "ticks": ["18446744073709551616"], "salt": SALT }), "64 bits"),
        (json!({ "market_id": MARKET, "ticks": [], "salt": SALT }), "tick"),
        (json!({ "market_id": format!("0x01{}", &MARKET[4..]), "ticks": [1], "salt": SALT }), "zero byte"),
    ];
    for (input, says) in cases {
        let err = flash(&["commit"], &input.to_string()).expect_err("refused");
        assert_eq!(err["error"]["code"], "invalid_input", "{input}: {err}");
        assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains(says)), "{input}: {err}");
    }
    let err = flash(&["export-vk", "--dir", &dir], "").expect_err("no keys");
    assert_eq!(err["error"]["code"], "invalid_keys");

    flash(&["setup", "--dir", &dir, "--ticks", "2"], "").expect("setup");
    let rule = |r: Value| json!({ "market_id": MARKET, "ticks": [1, 2], "salt": SALT, "rule": r }).to_string();
    for bad in [
        json!({ "kind": "buckets", "edges": [5, 5] }),
        json!({ "kind": "threshold" }),
        json!({ "kind": "median", "strike": 1 }),
        json!({ "kind": "buckets", "edges": [1, 2, 3, 4, 5, 6, 7, 8, 9] }),
    ] {
        let err = flash(&["prove", "--dir", &dir], &rule(bad.clone())).expect_err("bad rule");
        assert_eq!(err["error"]["code"], "invalid_input", "{bad}: {err}");
    }
    let err = flash(
        &["prove", "--dir", &dir],
        &json!({ "market_id": MARKET, "ticks": [1, 2, 3], "salt": SALT, "rule": { "kind": "threshold", "strike": 1 } })
            .to_string(),
    )
    .expect_err("3 ticks for a 2-tick key");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("exactly 2 ticks")), "{err}");

    // A corrupted proving key is caught by its recorded hash.
    let pk = tmp.path().join("proving_key.bin");
    let mut bytes = std::fs::read(&pk).expect("pk");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&pk, bytes).expect("write");
    let err = flash(&["export-vk", "--dir", &dir], "").expect_err("corrupt");
    assert_eq!(err["error"]["code"], "invalid_keys", "{err}");
}

#[test]
fn keys_are_never_written_into_a_git_work_tree() {
    let inside = Path::new(env!("CARGO_MANIFEST_DIR")).join("target-keys-must-not-exist");
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|a| a.join(".git").exists());
    if repo_root.is_none() {
        // A source tarball without .git: make a work tree of our own to test against.
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(tmp.path().join(".git")).expect("fake .git");
        let err =
            flash(&["setup", "--dir", &dir_arg(&tmp.path().join("keys")), "--ticks", "1"], "").expect_err("refused");
        assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("git work tree")), "{err}");
        return;
    }
    let err = flash(&["setup", "--dir", &dir_arg(&inside), "--ticks", "1"], "").expect_err("refused");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("git work tree")), "{err}");
    assert!(!inside.exists(), "nothing was created inside the work tree");
}

#[test]
fn keys_may_go_where_the_work_tree_ignores_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let init = std::process::Command::new("git").arg("init").arg("-q").arg(tmp.path()).status().expect("git runs");
    assert!(init.success(), "git init");
    std::fs::write(tmp.path().join(".gitignore"), "data/\n").expect("ignore file");
    let refuse = kairos_flash_circuit::keys::refuse_git_work_tree;
    assert!(refuse(&tmp.path().join("data/flash-keys.dev")).is_ok(), "an ignored directory (not yet made)");
    std::fs::create_dir_all(tmp.path().join("data")).expect("data");
    assert!(refuse(&tmp.path().join("data/flash-keys.dev")).is_ok(), "under an ignored directory that exists");
    let err = refuse(&tmp.path().join("keys")).expect_err("a tracked place");
    assert!(err.to_string().contains("git work tree"), "{err}");
}

/// A Python with py_ecc for the independent check: `TEST_PY_ECC_PYTHON`, else `python3` when
/// it imports py_ecc. Missing, the test fails unless the developer opted out of tests that need
/// outside tools (`TEST_SKIP_SERVICES=1`); CI never does.
fn py_ecc_python() -> Option<String> {
    let python = std::env::var("TEST_PY_ECC_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let imports = Command::new(&python).args(["-c", "import py_ecc"]).status().is_ok_and(|s| s.success());
    if imports {
        return Some(python);
    }
    let need = "this test needs Python with py_ecc (pip install py_ecc; TEST_PY_ECC_PYTHON=/path/to/python)";
    assert!(std::env::var("TEST_SKIP_SERVICES").is_ok_and(|v| v == "1"), "{need}, or set TEST_SKIP_SERVICES=1");
    eprintln!("SKIPPED (TEST_SKIP_SERVICES=1): {need}");
    None
}

/// py_ecc's verdict on a key, a proof and its public inputs (tests/flash/groth16_py_ecc.py).
fn py_ecc_verdict(python: &str, vk: &Value, proved: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flash/groth16_py_ecc.py");
    let doc = json!({ "vk": vk, "proof": proved["proof"], "public_inputs": proved["public_inputs"] });
    let mut child =
        Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn python");
    child.stdin.take().expect("stdin").write_all(doc.to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("python runs");
    assert!(out.status.success(), "py_ecc check failed to run");
    serde_json::from_slice(&out.stdout).expect("py_ecc's JSON")
}

/// Every 32-byte coordinate of a hex point, as big-endian bytes.
fn coordinates(hex_point: &Value) -> Vec<Vec<u8>> {
    let bytes = hex::decode(hex_point.as_str().expect("hex").trim_start_matches("0x")).expect("hex");
    bytes.chunks(32).map(<[u8]>::to_vec).collect()
}

#[test]
fn keys_and_proofs_are_eip197_canonical_and_an_independent_verifier_accepts_them() {
    use ark_ff::{BigInteger as _, PrimeField as _};
    let modulus = ark_bn254::Fq::MODULUS.to_bytes_be();
    assert_eq!(modulus, kairos_flash_bets::verifier::FQ_MODULUS_BE, "the program's copy of the modulus");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = dir_arg(tmp.path());
    flash(&["setup", "--dir", &dir, "--ticks", "2"], "").expect("setup");
    let vk = flash(&["export-vk", "--dir", &dir], "").expect("export");
    let key_points = ["alpha_g1", "beta_g2", "gamma_g2", "delta_g2"]
        .iter()
        .map(|k| vk[*k].clone())
        .chain(vk["ic"].as_array().expect("ic").iter().cloned());
    for point in key_points {
        assert!(coordinates(&point).iter().all(|c| *c < modulus), "not canonical: {point}");
    }
    // Proofs are randomised: about half of all y coordinates had a flag bit before the fix.
    let python = py_ecc_python();
    for tick in 0..12u64 {
        let input = json!({ "market_id": MARKET, "ticks": [tick, 250], "salt": SALT,
            "rule": { "kind": "threshold", "strike": 100 } });
        let proved = flash(&["prove", "--dir", &dir], &input.to_string()).expect("prove");
        for part in ["a", "b", "c"] {
            let point = &proved["proof"][part];
            assert!(coordinates(point).iter().all(|c| *c < modulus), "proof.{part} not canonical: {point}");
        }
        if let Some(python) = &python {
            assert_eq!(py_ecc_verdict(python, &vk, &proved), json!({ "ok": true }), "tick {tick}");
        }
        // The flag-bit variant of this proof: y's top bit set. No verifier may take it.
        let mut variant = proved.clone();
        let mut a = hex::decode(proved["proof"]["a"].as_str().expect("a").trim_start_matches("0x")).expect("hex");
        a[32] |= 0x80;
        variant["proof"]["a"] = json!(format!("0x{}", hex::encode(&a)));
        assert_eq!(flash(&["verify", "--dir", &dir], &variant.to_string()).expect("verify"), json!({ "valid": false }));
        if let Some(python) = &python {
            assert_eq!(py_ecc_verdict(python, &vk, &variant)["ok"], false, "py_ecc refuses it too");
        }
    }
}
