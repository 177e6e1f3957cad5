//! `kairos-quoter bench` runs (a few passes, in the test profile: the figures mean nothing
//! here, the shape does): the floor writes the very request the quoter writes (the bench
//! refuses to time otherwise), and the last line is the JSON object the README documents.

use std::process::Command;

#[test]
fn the_bench_checks_the_floor_and_ends_with_its_json_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-quoter"))
        .args(["bench", "--iterations", "300", "--no-pin"])
        .output()
        .expect("run kairos-quoter");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().expect("a last line");
    let json: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
    for frame in ["book", "price_change"] {
        let figures = &json[frame];
        for key in [
            "p50_us",
            "p90_us",
            "p99_us",
            "p999_us",
            "max_us",
            "floor_p50_us",
            "floor_p999_us",
            "allocations_per_pass",
            "budget_fraction_p999",
        ] {
            assert!(figures[key].is_number(), "{frame}.{key} in {last}");
        }
        assert_eq!(figures["allocations_per_pass"], 0.0, "{frame}: no allocation per pass");
        assert_eq!(figures["passes"], 300);
    }
    assert!(json["avx2_compiled"].is_boolean() && json["avx2_cpu"].is_boolean());

    let refused =
        Command::new(env!("CARGO_BIN_EXE_kairos-quoter")).args(["bench", "--iterations", "0"]).output().expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a positive count"));
}
