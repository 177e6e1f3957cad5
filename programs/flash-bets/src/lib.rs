//! The flash-bets Solana program (native Rust): short-lived markets resolved by a Groth16 proof.
//!
//! Not implemented yet. The program's entry point is not built; [`process_instruction`] refuses
//! every instruction with [`FlashBetsError::NotImplemented`], and nothing in the API exposes it.

/// Errors of the flash-bets program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlashBetsError {
    #[error("instruction {0} is not implemented")]
    NotImplemented(u8),
    #[error("empty instruction data")]
    EmptyInstruction,
}

/// Decodes the instruction tag and refuses it: no instruction is implemented yet.
pub fn process_instruction(instruction_data: &[u8]) -> Result<(), FlashBetsError> {
    match instruction_data.first() {
        None => Err(FlashBetsError::EmptyInstruction),
        Some(tag) => Err(FlashBetsError::NotImplemented(*tag)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_fails_explicitly() {
        assert_eq!(process_instruction(&[]), Err(FlashBetsError::EmptyInstruction));
        for tag in 0..=u8::MAX {
            assert_eq!(process_instruction(&[tag, 1, 2]), Err(FlashBetsError::NotImplemented(tag)));
        }
    }
}
