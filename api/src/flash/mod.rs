//! Flash markets in the API: operators open them, anyone follows them, wallets get unsigned
//! transactions to sign themselves. The keepers put markets on chain and settle them; the API
//! only records an operator's terms and reads what the keepers and the chain wrote.

pub mod dev_chain;
pub mod markets;
pub mod view;
pub mod wallet;
