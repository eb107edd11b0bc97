//! Which addresses the collector may connect to (SSRF refusal).
//!
//! A page on the web must not make the collector reach the machine it runs
//! on or the network behind it: loopback, link-local (cloud metadata at
//! 169.254.169.254), private, unique-local, unspecified, multicast and other
//! non-public ranges are refused unless the person allows an address, a
//! network or an exact `address:port`. The check is made on the addresses a
//! connection actually goes to (see `http.rs`), never on the name alone.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// An exception to the refusal: one address, a network, or one address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Every port of this address (`127.0.0.1`, `::1`).
    Address(IpAddr),
    /// Every address of a network (`10.1.0.0/16`).
    Network { base: IpAddr, prefix: u8 },
    /// This address on this port only (`127.0.0.1:8080`, `[::1]:8080`).
    Socket(SocketAddr),
}

impl Allowance {
    /// Whether this allowance covers `ip` on some port (the resolver's check,
    /// which does not know the port).
    fn covers_address(&self, ip: IpAddr) -> bool {
        match *self {
            Allowance::Address(allowed) => allowed == ip,
            Allowance::Socket(allowed) => allowed.ip().to_canonical() == ip,
            Allowance::Network { base, prefix } => in_network(ip, base, prefix),
        }
    }

    fn covers(&self, ip: IpAddr, port: u16) -> bool {
        match *self {
            Allowance::Socket(allowed) => allowed.ip().to_canonical() == ip && allowed.port() == port,
            _ => self.covers_address(ip),
        }
    }
}

fn in_network(ip: IpAddr, base: IpAddr, prefix: u8) -> bool {
    match (ip, base.to_canonical()) {
        (IpAddr::V4(ip), IpAddr::V4(base)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(base) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(base)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(base) & mask
        }
        _ => false,
    }
}

/// `--allow-address` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an address to allow: write an IP address (127.0.0.1, ::1), a network (10.1.0.0/16) or an address and port (127.0.0.1:8080, [::1]:8080)"
)]
pub struct BadAllowance(pub String);

impl FromStr for Allowance {
    type Err = BadAllowance;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let bad = || BadAllowance(text.to_owned());
        if let Ok(socket) = text.parse::<SocketAddr>() {
            return Ok(Allowance::Socket(socket));
        }
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return Ok(Allowance::Address(ip.to_canonical()));
        }
        let (base, prefix) = text.split_once('/').ok_or_else(bad)?;
        let base: IpAddr = base.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if base.to_canonical().is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Allowance::Network { base: base.to_canonical(), prefix })
    }
}

impl fmt::Display for Allowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowance::Address(ip) => write!(f, "{ip}"),
            Allowance::Network { base, prefix } => write!(f, "{base}/{prefix}"),
            Allowance::Socket(socket) => write!(f, "{socket}"),
        }
    }
}

/// An address the collector refused to connect to, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused to connect to {address} ({range} address): pages may not reach this machine or its private network; pass --allow-address {address} if you mean it"
)]
pub struct Refused {
    pub address: IpAddr,
    pub range: &'static str,
}

/// The allowances in force; everything public is allowed.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allowances: Vec<Allowance>,
}

impl AddressPolicy {
    pub fn new(allowances: Vec<Allowance>) -> Self {
        AddressPolicy { allowances }
    }

    /// Whether `ip` may be connected to on some port: the DNS resolver's
    /// check, made on every address a name resolves to.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = ip.to_canonical();
        match non_public_range(ip) {
            Some(range) if !self.allowances.iter().any(|a| a.covers_address(ip)) => Err(Refused { address: ip, range }),
            _ => Ok(()),
        }
    }

    /// Whether `ip:port` may be connected to: the check made before every
    /// request, where the port is known.
    pub fn check_socket(&self, ip: IpAddr, port: u16) -> Result<(), Refused> {
        let ip = ip.to_canonical();
        match non_public_range(ip) {
            Some(range) if !self.allowances.iter().any(|a| a.covers(ip, port)) => Err(Refused { address: ip, range }),
            _ => Ok(()),
        }
    }

    /// Whether an allowance names a port, so that a host name must be
    /// resolved before the request to compare its addresses and port.
    pub fn has_port_allowances(&self) -> bool {
        self.allowances.iter().any(|a| matches!(a, Allowance::Socket(_)))
    }
}

/// The non-public range `ip` is in, if any. Hand-written because std's
/// `is_global` is still unstable; the ranges are IANA's special-purpose
/// registries' "not globally reachable" ones that matter for SSRF.
pub fn non_public_range(ip: IpAddr) -> Option<&'static str> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 0 {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("IETF protocol")
    } else if a == 198 && (18..20).contains(&b) {
        Some("benchmarking")
    } else {
        None
    }
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local (private)")
    } else if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 reaches the IPv4 address in its last 32 bits.
        let [.., a, b, c, d] = ip.octets();
        v4_range(Ipv4Addr::new(a, b, c, d))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> AddressPolicy {
        AddressPolicy::new(allow.iter().map(|a| a.parse().expect("allowance")).collect())
    }

    #[test]
    fn non_public_ranges_are_refused_and_public_ones_allowed() {
        let refused = [
            "127.0.0.1",
            "10.255.255.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ];
        let policy = policy(&[]);
        for ip in refused {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(policy.check_address(ip).is_err(), "{ip} must be refused");
        }
        for ip in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(policy.check_address(ip), Ok(()), "{ip} is public");
        }
    }

    #[test]
    fn allowances_are_as_narrow_as_written() {
        let port_only = policy(&["127.0.0.1:8080"]);
        let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
        assert_eq!(port_only.check_socket(loopback, 8080), Ok(()));
        assert!(port_only.check_socket(loopback, 8081).is_err(), "another port stays refused");
        assert!(port_only.check_socket("127.0.0.2".parse().expect("ip"), 8080).is_err());
        assert!(port_only.check_socket("169.254.169.254".parse().expect("ip"), 80).is_err());

        let network = policy(&["10.1.0.0/16"]);
        assert_eq!(network.check_socket("10.1.2.3".parse().expect("ip"), 80), Ok(()));
        assert!(network.check_socket("10.2.0.1".parse().expect("ip"), 80).is_err());

        let mapped = policy(&["::ffff:127.0.0.1"]);
        assert_eq!(mapped.check_socket(loopback, 1), Ok(()), "a mapped address is the IPv4 one");
    }

    #[test]
    fn bad_allowances_say_what_to_write() {
        for text in ["localhost", "10.0.0.0/33", "1.2.3.4:http", ""] {
            let err = text.parse::<Allowance>().expect_err(text);
            assert!(err.to_string().contains("write an IP address"), "{err}");
        }
    }
}
