//! Who may do what: roles of users and scopes of API keys.

use std::str::FromStr;

/// A user's role. `keeper` is a service role, apart from the trading hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    User,
    MarketMaker,
    Keeper,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::User, Role::MarketMaker, Role::Keeper, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::MarketMaker => "market_maker",
            Role::Keeper => "keeper",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Whether a caller holding `self` meets a route that requires `required`.
    /// Trading roles nest (`user` < `market_maker`; `operator` and `admin` may act as users);
    /// `keeper` meets only `keeper` (and `user`-level reads), `admin` meets everything.
    pub fn satisfies(self, required: Role) -> bool {
        use Role::*;
        match required {
            User => matches!(self, User | MarketMaker | Keeper | Operator | Admin),
            MarketMaker => matches!(self, MarketMaker | Admin),
            Keeper => matches!(self, Keeper | Admin),
            Operator => matches!(self, Operator | Admin),
            Admin => self == Admin,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; expected user, market_maker, keeper, operator or admin"))
    }
}

/// What an API key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Trade,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Trade => "trade",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "trade" => Ok(Scope::Trade),
            other => Err(format!("unknown scope {other:?}; expected read or trade")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_requirements() {
        assert!(Role::MarketMaker.satisfies(Role::User));
        assert!(!Role::User.satisfies(Role::MarketMaker));
        assert!(Role::Admin.satisfies(Role::Operator));
        assert!(!Role::Operator.satisfies(Role::Admin));
        assert!(!Role::Keeper.satisfies(Role::Operator));
        assert!(!Role::Operator.satisfies(Role::MarketMaker));
        for r in Role::ALL {
            assert!(Role::Admin.satisfies(r));
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
    }
}
