//! The program's errors. Each check has its own code, so a client (and a test) can tell which
//! check refused an instruction: the code is `ProgramError::Custom(code)`.

use solana_program::program_error::ProgramError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[repr(u32)]
pub enum FlashError {
    #[error("instruction data is malformed")]
    InvalidInstruction = 0,
    #[error("this instruction is declared but not implemented")]
    NotImplemented = 1,
    #[error("an account is not the one the instruction needs (address, owner or layout)")]
    WrongAccount = 2,
    #[error("a required signature is missing")]
    MissingSignature = 3,
    #[error("the config is already initialized")]
    AlreadyInitialized = 4,
    #[error("only the program's upgrade authority may initialize the config")]
    NotUpgradeAuthority = 5,
    #[error("fewer admin signatures than the config's threshold")]
    NotEnoughAdmins = 6,
    #[error("the admin or oracle set is invalid (empty, too large, duplicated or threshold out of range)")]
    InvalidSigners = 7,
    #[error("the fee is above 10,000 bps")]
    InvalidFee = 8,
    #[error("the program is paused")]
    Paused = 9,
    #[error("the signer is not an oracle of this market")]
    NotOracle = 10,
    #[error("a 32-byte id or salt must start with a zero byte")]
    InvalidId = 11,
    #[error("the rule is invalid (kind, parameter count, or edges not strictly ascending)")]
    InvalidRule = 12,
    #[error("the market's times are invalid (lock must be in the future and before the deadline)")]
    InvalidSchedule = 13,
    #[error("the market does not accept this now (wrong status or time)")]
    WrongMarketState = 14,
    #[error("betting closed at the market's lock time")]
    BettingClosed = 15,
    #[error("the market cannot be locked before its lock time")]
    TooEarly = 16,
    #[error("the resolve deadline has passed")]
    DeadlinePassed = 17,
    #[error("no such outcome in this market")]
    InvalidOutcome = 18,
    #[error("the amount must be positive")]
    ZeroAmount = 19,
    #[error("arithmetic overflow")]
    Overflow = 20,
    #[error("a value is not below the BN254 scalar field modulus")]
    NotAFieldElement = 21,
    #[error("the proof does not verify against the market's public inputs")]
    InvalidProof = 22,
    #[error("the verifying key is invalid (a point off the curve, the identity, or delta equal to gamma)")]
    InvalidVerifyingKey = 23,
    #[error("the verifying key is a deterministic test key; release builds refuse it")]
    TestVerifyingKey = 24,
    #[error("the position was already claimed")]
    AlreadyClaimed = 25,
    #[error("the position is on a losing outcome")]
    LosingPosition = 26,
    #[error("the market cannot be voided yet")]
    CannotVoid = 27,
    #[error("the vault holds less than the payout")]
    VaultShort = 28,
    #[error("the token account's mint is not the config's collateral mint")]
    WrongMint = 29,
    #[error("the token account belongs to someone else")]
    WrongTokenOwner = 30,
    #[error("the circuit's verifying key was rotated after this market was created")]
    KeyRotated = 31,
    #[error("a curve point's coordinate is not a canonical big-endian integer below the field modulus")]
    NonCanonicalPoint = 32,
}

impl From<FlashError> for ProgramError {
    fn from(e: FlashError) -> Self {
        ProgramError::Custom(e as u32)
    }
}
