//! Keeper processes for the tests that run `kairos-keepers` as a deployment does: spawned with
//! a chosen environment, read through `kairos-keepers status`, killed however the test ends.
#![allow(dead_code)] // each test crate uses its own part

use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub(crate) fn keepers(vars: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"));
    cmd.env_clear().envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    cmd
}

/// `name`'s row of `kairos-keepers status`, or why there is none yet.
pub(crate) fn job(vars: &[(&str, String)], name: &str) -> Result<serde_json::Value, String> {
    let out = keepers(vars).arg("status").output().expect("kairos-keepers status");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    status["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["name"] == name))
        .cloned()
        .ok_or_else(|| format!("no {name} in {status}"))
}

/// Keeper processes that are killed when the test ends, however it ends.
pub(crate) struct Keepers(pub(crate) Vec<Child>);

impl Drop for Keepers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `kairos-keepers status` until `name`'s row satisfies `done`, for at most `within`;
/// returns it and how long it took.
pub(crate) async fn until_job(
    vars: &[(&'static str, String)],
    name: &'static str,
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> (serde_json::Value, Duration) {
    let start = Instant::now();
    loop {
        let v = vars.to_vec();
        let job = tokio::task::spawn_blocking(move || job(&v, name)).await.expect("join");
        if let Ok(job) = &job
            && done(job)
        {
            return (job.clone(), start.elapsed());
        }
        assert!(start.elapsed() < within, "not within {within:?}: {job:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn pid_of(holder: &serde_json::Value) -> Option<u32> {
    holder.as_str()?.rsplit_once('/')?.1.parse().ok()
}

pub(crate) fn signal(child: &Child, name: &str) {
    assert!(Command::new("kill").args([name, &child.id().to_string()]).status().expect("kill").success());
}
