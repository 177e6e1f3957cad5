//! The API's request budgets: classes of routes, kinds of callers, and requests per second for
//! each pair (`KAIROS_RATE_LIMITS__<CLASS>__<KIND>`).

/// Rate-limit classes: what a route costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    Read,
    Trade,
    /// Cheaper than trade, so a market maker can always pull quotes.
    Cancel,
    Auth,
}

impl RateClass {
    pub const ALL: [RateClass; 4] = [RateClass::Read, RateClass::Trade, RateClass::Cancel, RateClass::Auth];

    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Read => "read",
            RateClass::Trade => "trade",
            RateClass::Cancel => "cancel",
            RateClass::Auth => "auth",
        }
    }
}

/// Who is calling, for rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// Keyed by client address.
    Anonymous,
    /// A signed-in user (JWT).
    User,
    /// An API key.
    Key,
    /// One user's whole account: their token and every key of theirs together. Spent on top of
    /// the user's or key's own budget, so more keys never multiply what an account may send.
    Account,
}

impl PrincipalKind {
    pub const ALL: [PrincipalKind; 4] =
        [PrincipalKind::Anonymous, PrincipalKind::User, PrincipalKind::Key, PrincipalKind::Account];

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::User => "user",
            PrincipalKind::Key => "key",
            PrincipalKind::Account => "account",
        }
    }
}

/// Requests per second per principal, by class and kind
/// (`KAIROS_RATE_LIMITS__<CLASS>__<KIND>`). Reloaded on SIGHUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    per_second: [[u32; 4]; 4],
}

impl RateLimits {
    /// Defaults: cancels are the cheapest for keys so quotes can always be pulled.
    pub const DEFAULT: RateLimits = RateLimits {
        per_second: [
            // anonymous, user, key, account (every key and token of one user together)
            [20, 50, 100, 200], // read
            [1, 10, 50, 100],   // trade
            [1, 50, 200, 400],  // cancel
            [5, 10, 10, 20],    // auth
        ],
    };

    pub fn get(&self, class: RateClass, kind: PrincipalKind) -> u32 {
        self.per_second[class as usize][kind as usize]
    }

    pub fn set(&mut self, class: RateClass, kind: PrincipalKind, value: u32) {
        self.per_second[class as usize][kind as usize] = value;
    }

    /// Every variable of the family, `KAIROS_RATE_LIMITS__READ__ANONYMOUS` and the rest.
    pub fn all_variables() -> Vec<String> {
        RateClass::ALL.iter().flat_map(|c| PrincipalKind::ALL.iter().map(|k| RateLimits::variable(*c, *k))).collect()
    }

    pub fn variable(class: RateClass, kind: PrincipalKind) -> String {
        format!("KAIROS_RATE_LIMITS__{}__{}", class.as_str().to_ascii_uppercase(), kind.as_str().to_ascii_uppercase())
    }
}
