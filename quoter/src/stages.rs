//! Where a pass spends its time, stage by stage, for the bench's breakdown. The engine and
//! the outbox call [`Laps::lap`] as each stage ends; the production path passes [`NoLaps`],
//! whose laps compile to nothing, and the bench passes [`LapTimer`].

use std::time::Instant;

/// The stages of a pass, in the order a frame goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Book,
    Strategy,
    Diff,
    Risk,
    /// Amounts, struct hash, order hash and signature.
    Sign,
    /// The order's envelope, the L2 HMAC and the HTTP request around it.
    Wire,
}

impl Stage {
    pub const ALL: [Stage; 7] =
        [Stage::Parse, Stage::Book, Stage::Strategy, Stage::Diff, Stage::Risk, Stage::Sign, Stage::Wire];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Book => "book",
            Stage::Strategy => "strategy",
            Stage::Diff => "diff",
            Stage::Risk => "risk",
            Stage::Sign => "sign",
            Stage::Wire => "wire",
        }
    }
}

/// Told when a stage ends: the time since the previous lap belongs to `stage`.
pub trait Laps {
    fn lap(&mut self, stage: Stage);
}

/// No timing: the production path.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLaps;

impl Laps for NoLaps {
    #[inline(always)]
    fn lap(&mut self, _: Stage) {}
}

/// Nanoseconds per stage, summed over laps until [`LapTimer::take`].
#[derive(Debug, Clone)]
pub struct LapTimer {
    last: Instant,
    nanos: [u64; Stage::ALL.len()],
}

impl Default for LapTimer {
    fn default() -> Self {
        Self { last: Instant::now(), nanos: [0; Stage::ALL.len()] }
    }
}

impl LapTimer {
    /// Starts a pass: the next lap counts from now.
    pub fn start(&mut self) {
        self.last = Instant::now();
    }

    /// Each stage's nanoseconds since the last `take`, cleared.
    pub fn take(&mut self) -> [u64; Stage::ALL.len()] {
        std::mem::replace(&mut self.nanos, [0; Stage::ALL.len()])
    }
}

impl Laps for LapTimer {
    fn lap(&mut self, stage: Stage) {
        let now = Instant::now();
        let spent = now.duration_since(self.last).as_nanos();
        self.nanos[stage as usize] += u64::try_from(spent).unwrap_or(u64::MAX);
        self.last = now;
    }
}
