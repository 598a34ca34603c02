//! Who a request really comes from. Behind a reverse proxy every connection comes from the proxy; the
//! proxy names the client in `X-Forwarded-For` / `Forwarded` (RFC 7239) and the scheme it was reached by in
//! `X-Forwarded-Proto`. Anyone can write those headers, so they are believed only on a connection from a
//! peer listed in `--trusted-proxies`, and only up to the first hop that is not itself a trusted proxy:
//! the chain is read from the right (the nearest proxy appends the address it saw), so addresses a client
//! wrote in front of the real ones are never reached.
//!
//! Neutral: header values come in as text; the wire reads them off the request.

use std::net::IpAddr;

/// One `ADDRESS/PREFIX` range (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr =
            address.trim().parse().map_err(|_| format!("{text:?} is not an IP address or ADDRESS/PREFIX range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{text:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Cidr { network: masked(canonical(network), prefix), prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && masked(address, self.prefix) == self.network
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports) as the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// The peers whose forwarding headers are believed (`--trusted-proxies`); empty: none, every request's
/// client is its socket peer.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// `CIDR,CIDR,…` (spaces allowed; empty items skipped).
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Cidr::parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn from_ranges(ranges: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(ranges)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }

    pub fn ranges(&self) -> &[Cidr] {
        &self.0
    }
}

/// The forwarding headers of one request, as received (every field line of each, in order).
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardingHeaders<'a> {
    pub forwarded: &'a [&'a str],
    pub x_forwarded_for: &'a [&'a str],
    pub x_forwarded_proto: &'a [&'a str],
}

impl ForwardingHeaders<'_> {
    fn is_empty(&self) -> bool {
        self.forwarded.is_empty() && self.x_forwarded_for.is_empty() && self.x_forwarded_proto.is_empty()
    }
}

/// Where a request comes from, as far as the bridge can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress {
    /// The client: the socket peer, or the address a trusted proxy reported.
    pub ip: IpAddr,
    /// The proxy that reported it (the socket peer), when the client is not the socket peer.
    pub via: Option<IpAddr>,
    /// The request reached the first trusted proxy over https (its `X-Forwarded-Proto` or `proto=`).
    pub https: bool,
}

impl ClientAddress {
    /// A direct client (no proxy believed).
    pub fn direct(peer: IpAddr) -> ClientAddress {
        ClientAddress { ip: canonical(peer), via: None, https: false }
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn resolve(peer: IpAddr, headers: ForwardingHeaders<'_>, trusted: &TrustedProxies) -> ClientAddress {
        let peer = canonical(peer);
        if !trusted.contains(peer) || headers.is_empty() {
            return ClientAddress::direct(peer);
        }
        // X-Forwarded-For is what nginx, Caddy, Traefik and HAProxy write by default; `Forwarded` is read
        // when a proxy sends only that. (Either way the proxy must replace or drop the one it does not set:
        // deploy/nginx does.)
        let (hops, last_proto) = if headers.x_forwarded_for.is_empty() {
            forwarded_hops(headers.forwarded)
        } else {
            (x_forwarded_for_hops(headers.x_forwarded_for), None)
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                // An address the proxy could not name ("unknown", obfuscated, garbage): the client is
                // unknowable; the proxy that relayed it is the best answer.
                None => break,
                Some(address) => {
                    client = canonical(*address);
                    if !trusted.contains(client) {
                        break;
                    }
                }
            }
        }
        let proto = headers.x_forwarded_proto.iter().flat_map(|line| line.split(',')).map(str::trim).next_back();
        let https = proto.or(last_proto.as_deref()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
        ClientAddress { ip: client, via: (client != peer).then_some(peer), https }
    }

    /// The key per-address limits count under: the address itself, or its /64 for IPv6 (one subscriber
    /// commonly holds a whole /64, so counting single IPv6 addresses would give one client billions of
    /// budgets).
    pub fn limit_key(&self) -> IpAddr {
        match self.ip {
            IpAddr::V6(_) => masked(self.ip, 64),
            v4 => v4,
        }
    }
}

/// `X-Forwarded-For: client, proxy1, proxy2` (several field lines read as one list, in order).
fn x_forwarded_for_hops(lines: &[&str]) -> Vec<Option<IpAddr>> {
    lines.iter().flat_map(|line| line.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(parse_node).collect()
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::17]:4711"`. The `for` of each element,
/// and the `proto` of the last one (the nearest proxy's).
fn forwarded_hops(lines: &[&str]) -> (Vec<Option<IpAddr>>, Option<String>) {
    let mut hops = Vec::new();
    let mut last_proto = None;
    for element in lines.iter().flat_map(|line| split_outside_quotes(line, ',')) {
        let mut node = None;
        let mut proto = None;
        for pair in split_outside_quotes(element, ';') {
            let Some((name, value)) = pair.split_once('=') else { continue };
            let value = unquote(value.trim());
            match name.trim().to_ascii_lowercase().as_str() {
                "for" => node = Some(parse_node(&value)),
                "proto" => proto = Some(value),
                _ => {}
            }
        }
        if element.trim().is_empty() {
            continue;
        }
        // An element without `for` says nothing of the client: as unknown as `for=unknown`.
        hops.push(node.unwrap_or(None));
        last_proto = proto;
    }
    (hops, last_proto)
}

/// Splits at `separator` outside double quotes (a quoted IPv6 node holds `:`, a quoted string may hold
/// `,` or `;`).
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            out
        }
        None => value.to_string(),
    }
}

/// `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::17]`, `[2001:db8::17]:4711`, `2001:db8::17`; `None` for
/// `unknown`, an obfuscated `_name` or anything else.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !after.is_empty() && !after.strip_prefix(':').is_some_and(is_port) {
            return None;
        }
        return inside.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (host, port) = node.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A port as RFC 7239 allows it: digits, or an obfuscated `_name`.
fn is_port(port: &str) -> bool {
    !port.is_empty() && (port.bytes().all(|b| b.is_ascii_digit()) || port.starts_with('_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn xff<'a>(lines: &'a [&'a str]) -> ForwardingHeaders<'a> {
        ForwardingHeaders { x_forwarded_for: lines, ..Default::default() }
    }

    fn fwd<'a>(lines: &'a [&'a str]) -> ForwardingHeaders<'a> {
        ForwardingHeaders { forwarded: lines, ..Default::default() }
    }

    #[test]
    fn ranges_parse_and_match_by_prefix() {
        let proxies = trusted(" 10.0.0.0/8, 192.168.1.7 ,::1, fd00::/16,");
        assert_eq!(proxies.ranges().len(), 4);
        assert!(proxies.contains(ip("10.200.3.4")) && !proxies.contains(ip("11.0.0.1")));
        assert!(proxies.contains(ip("192.168.1.7")) && !proxies.contains(ip("192.168.1.8")));
        assert!(proxies.contains(ip("::1")) && proxies.contains(ip("fd00:1::2")) && !proxies.contains(ip("fe80::1")));
        // A dual-stack socket's IPv4-mapped peer is the IPv4 address.
        assert!(proxies.contains(ip("::ffff:10.1.2.3")));
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(trusted("0.0.0.0/0").contains(ip("203.0.113.9")) && !trusted("0.0.0.0/0").contains(ip("::2")));
        for bad in ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "example.com", "10.0.0.0/8/8", "10.0.0.256"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = ClientAddress::resolve(ip("198.51.100.7"), xff(&["1.2.3.4"]), &trusted("10.0.0.0/8"));
        assert_eq!(spoofed, ClientAddress { ip: ip("198.51.100.7"), via: None, https: false });
        let proto =
            ForwardingHeaders { x_forwarded_proto: &["https"], forwarded: &["for=1.2.3.4"], ..Default::default() };
        assert_eq!(ClientAddress::resolve(ip("198.51.100.7"), proto, &trusted("")).ip, ip("198.51.100.7"));
        assert!(!ClientAddress::resolve(ip("198.51.100.7"), proto, &trusted("")).https);
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = trusted("10.0.0.0/8");
        // nginx appends the address it saw to what the client sent: the client's own entries are left of it.
        let one = ClientAddress::resolve(ip("10.0.0.2"), xff(&["6.6.6.6, 203.0.113.5"]), &proxies);
        assert_eq!(one, ClientAddress { ip: ip("203.0.113.5"), via: Some(ip("10.0.0.2")), https: false });
        // Two proxies (a load balancer, then nginx), each trusted; several field lines are one list.
        let two = ClientAddress::resolve(ip("10.0.0.2"), xff(&["6.6.6.6", "203.0.113.5, 10.9.9.9"]), &proxies);
        assert_eq!(two.ip, ip("203.0.113.5"));
        // Every hop trusted: the leftmost.
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), xff(&["10.1.1.1, 10.2.2.2"]), &proxies).ip, ip("10.1.1.1"));
        // A hop the proxy could not parse stops the walk at the proxy that relayed it.
        let garbage = ClientAddress::resolve(ip("10.0.0.2"), xff(&["203.0.113.5, not-an-ip"]), &proxies);
        assert_eq!(garbage.ip, ip("10.0.0.2"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), xff(&["203.0.113.5:4711"]), &proxies).ip, ip("203.0.113.5"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), xff(&["[2001:db8::5]:80"]), &proxies).ip, ip("2001:db8::5"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), xff(&["2001:db8::5"]), &proxies).ip, ip("2001:db8::5"));
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let proxies = trusted("10.0.0.0/8, fd00::/8");
        let header = [r#"for=6.6.6.6, For="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.2"#];
        let client = ClientAddress::resolve(ip("10.0.0.2"), fwd(&header), &proxies);
        assert_eq!(client, ClientAddress { ip: ip("2001:db8:cafe::17"), via: Some(ip("10.0.0.2")), https: true });
        // Quoted strings may hold the separators; an element without `for` or with an obfuscated node
        // names no client.
        let quoted = [r#"for=192.0.2.43;host="a,b;c", for=10.3.3.3"#];
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), fwd(&quoted), &proxies).ip, ip("192.0.2.43"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), fwd(&["for=_hidden"]), &proxies).ip, ip("10.0.0.2"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), fwd(&["for=unknown"]), &proxies).ip, ip("10.0.0.2"));
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), fwd(&["proto=https"]), &proxies).ip, ip("10.0.0.2"));
        // X-Forwarded-For, when present, is the one read.
        let both =
            ForwardingHeaders { forwarded: &["for=6.6.6.6"], x_forwarded_for: &["203.0.113.5"], ..Default::default() };
        assert_eq!(ClientAddress::resolve(ip("10.0.0.2"), both, &proxies).ip, ip("203.0.113.5"));
    }

    #[test]
    fn the_scheme_is_the_nearest_proxys() {
        let proxies = trusted("127.0.0.1");
        let https = ForwardingHeaders {
            x_forwarded_for: &["203.0.113.5"],
            x_forwarded_proto: &["http, https"],
            ..Default::default()
        };
        assert!(ClientAddress::resolve(ip("127.0.0.1"), https, &proxies).https);
        let http = ForwardingHeaders { x_forwarded_proto: &["HTTP"], ..Default::default() };
        let plain = ClientAddress::resolve(ip("127.0.0.1"), http, &proxies);
        assert!(!plain.https && plain.ip == ip("127.0.0.1") && plain.via.is_none());
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let a = ClientAddress::direct(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddress::direct(ip("2001:db8:1:2:bbbb::9"));
        let other = ClientAddress::direct(ip("2001:db8:1:3::1"));
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), other.limit_key());
        assert_eq!(ClientAddress::direct(ip("::ffff:192.0.2.1")).limit_key(), ip("192.0.2.1"));
    }
}
