//! Request authentication for the CLOB: L1 (the wallet's EIP-712 signature, to obtain API
//! credentials) and L2 (HMAC with those credentials, on every other private request).

pub mod l1;
pub mod l2;
pub mod signer;
