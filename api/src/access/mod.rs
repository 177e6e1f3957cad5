//! Who is calling and whether they may: bearer JWTs for users, signed requests for API keys,
//! one rule per route ([`route_rules`]), rate limits per principal and class. Everything fails
//! closed: a route without a rule does not start, a matched route missing from the table
//! answers 500, never opens.

pub mod approvals;
pub mod client_address;
pub mod failed_signatures;
pub mod jwt;
pub mod key_secrets;
pub mod kill_switch;
pub mod rate_limit;
pub mod route_rules;
pub mod sessions;
pub mod signed_request;
pub mod wallet;

mod authenticate;
mod caches;
mod enforce;
mod principal;

pub use authenticate::{AuthFailure, authenticate_token, recheck};
pub use caches::{KEY_CACHE_TTL, KeyCache, TtlCache, UserCache};
pub use enforce::{authorize, enforce, spend};
pub use principal::{Caller, Principal, may_hold_keys};
use route_rules::Access;

pub use kairos_domain::IpRule;
