//! Solana wallet sign-in: the one-time message a wallet signs, and the ed25519 check of its
//! signature. Wallets and signatures are base58, as Solana wallets produce them.

use ed25519_dalek::{Signature, VerifyingKey};

/// How long a challenge may be answered.
pub const CHALLENGE_TTL_SECS: i64 = 5 * 60;

/// Parses a base58 wallet address into its ed25519 public key.
pub fn parse_wallet(wallet: &str) -> Result<VerifyingKey, &'static str> {
    let bytes = bs58::decode(wallet).into_vec().map_err(|_| "wallet is not base58")?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| "wallet must decode to 32 bytes")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "wallet is not an ed25519 public key")
}

/// Parses a base58 signature (64 bytes).
pub fn parse_signature(signature: &str) -> Result<Signature, &'static str> {
    let bytes = bs58::decode(signature).into_vec().map_err(|_| "signature is not base58")?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| "signature must decode to 64 bytes")?;
    Ok(Signature::from_bytes(&bytes))
}

/// The message a wallet signs: human-readable (wallets show it), naming the wallet, the
/// nonce and the validity window.
pub fn challenge_message(wallet: &str, nonce: &str, issued_at: &str, expires_at: &str) -> String {
    format!(
        "Kairos wants you to sign in with your Solana account:\n{wallet}\n\nNonce: {nonce}\nIssued At: {issued_at}\nExpiration Time: {expires_at}"
    )
}

/// The nonce line of a challenge message.
pub fn nonce_of(message: &str) -> Option<&str> {
    message.lines().find_map(|l| l.strip_prefix("Nonce: ")).map(str::trim)
}

/// Strict ed25519 verification of `message` by `wallet`.
pub fn verify(wallet: &VerifyingKey, message: &str, signature: &Signature) -> bool {
    wallet.verify_strict(message.as_bytes(), signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    #[test]
    fn a_wallet_signature_verifies_and_a_tampered_message_does_not() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let wallet = bs58::encode(key.verifying_key().to_bytes()).into_string();
        let message = challenge_message(&wallet, "abc", "t0", "t1");
        let sig = bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string();
        let vk = parse_wallet(&wallet).expect("wallet");
        assert!(verify(&vk, &message, &parse_signature(&sig).expect("sig")));
        assert!(!verify(&vk, &format!("{message}!"), &parse_signature(&sig).expect("sig")));
        assert_eq!(nonce_of(&message), Some("abc"));
        assert!(parse_wallet("0OIl").is_err());
        assert!(parse_signature(&wallet).is_err());
    }
}
