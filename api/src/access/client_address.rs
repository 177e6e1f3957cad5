//! Who the client is, by address. The TCP peer, unless the peer is one of the trusted proxies
//! (`KAIROS_TRUSTED_PROXIES`): then the client is the first address, read from the right of
//! `Forwarded` (its `for=` values) or else `X-Forwarded-For`, that is not itself a trusted
//! proxy. Reading from the right matters: every hop appends, so only the entries our own
//! proxies added can be believed; whatever a client wrote to the left of them is its own claim.
//! From an untrusted peer both headers are ignored, so nobody outside can pick the address
//! that anonymous rate limits, failed-credential budgets and key allowlists see.

use std::net::IpAddr;

use axum::http::HeaderMap;

use super::IpRule;

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRule]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let chain = forwarded_for(headers).unwrap_or_else(|| x_forwarded_for(headers));
    let mut client = peer;
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if is_trusted(*ip) => client = *ip,
            Some(ip) => return *ip,
            // An entry that is not an address ends what can be believed: the last trusted hop.
            None => return client,
        }
    }
    client
}

/// `for=` of every `Forwarded` element, in order; `None` without the header.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let values: Vec<&str> = headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for element in values.iter().flat_map(|v| v.split(',')) {
        let node = element
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
            .map(|(_, v)| v.trim().trim_matches('"'));
        out.push(node.and_then(parse_node));
    }
    Some(out)
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_node(hop.trim()))
        .collect()
}

/// `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and_then(|_| ip.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_peer_unless_a_trusted_proxy_names_the_client_from_the_right() {
        let proxies = [IpRule::parse("10.0.0.0/8").expect("cidr")];
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_address(ip("198.51.100.9"), &spoofed, &proxies), ip("198.51.100.9"), "untrusted peer");
        assert_eq!(client_address(ip("10.0.0.2"), &spoofed, &[]), ip("10.0.0.2"), "no proxies configured");
        // client wrote 6.6.6.6, the outer proxy saw 203.0.113.7, the inner one 10.0.0.3.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.3")]);
        assert_eq!(client_address(ip("10.0.0.2"), &chain, &proxies), ip("203.0.113.7"));
        let forwarded = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.0.0.3"#)]);
        assert_eq!(client_address(ip("10.0.0.2"), &forwarded, &proxies), ip("2001:db8::7"));
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, not-an-ip, 10.0.0.3")]);
        assert_eq!(client_address(ip("10.0.0.2"), &garbage, &proxies), ip("10.0.0.3"), "stops at what it cannot read");
        assert_eq!(client_address(ip("10.0.0.2"), &headers(&[]), &proxies), ip("10.0.0.2"), "no header: the proxy");
        let port = headers(&[("x-forwarded-for", "203.0.113.7:5555")]);
        assert_eq!(client_address(ip("10.0.0.2"), &port, &proxies), ip("203.0.113.7"));
    }
}
