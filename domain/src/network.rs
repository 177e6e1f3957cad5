//! Addresses and CIDR blocks: API-key allowlists and the trusted proxies.

use std::net::IpAddr;

/// An address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `203.0.113.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRule {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an [`IpRule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIpRule {
    #[error("{0:?} is not an IP address or CIDR block")]
    NotAnAddress(String),
    #[error("{0:?} has a bad prefix length")]
    BadPrefix(String),
}

impl IpRule {
    pub fn parse(s: &str) -> Result<IpRule, InvalidIpRule> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| InvalidIpRule::NotAnAddress(s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| InvalidIpRule::BadPrefix(s.to_string()))?
            }
            None => max,
        };
        Ok(IpRule { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ip_rules_match_addresses_and_blocks() {
        let one = super::IpRule::parse("10.1.2.3").expect("ip");
        assert!(one.contains("10.1.2.3".parse().expect("ip")));
        assert!(!one.contains("10.1.2.4".parse().expect("ip")));
        let block = super::IpRule::parse("10.1.0.0/16").expect("cidr");
        assert!(block.contains("10.1.200.3".parse().expect("ip")));
        assert!(block.contains("::ffff:10.1.0.9".parse().expect("mapped")));
        assert!(!block.contains("10.2.0.1".parse().expect("ip")));
        let v6 = super::IpRule::parse("2001:db8::/32").expect("v6");
        assert!(v6.contains("2001:db8::1".parse().expect("ip")));
        assert!(super::IpRule::parse("10.0.0.0/33").is_err());
        assert!(super::IpRule::parse("nope").is_err());
    }
}
