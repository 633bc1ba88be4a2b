//! Which addresses the egress proxy may connect to on its own judgement: globally
//! reachable unicast only. Everything a credential server can listen on is outside that
//! set: loopback, link-local (where the cloud metadata services live), private and
//! unique-local networks, CGNAT (Alibaba's metadata service), and every other block the
//! IANA special-purpose registries do not mark globally reachable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

/// IPv4 blocks that are not globally reachable (RFC 6890 and its updates).
const V4_SPECIAL: [(u32, u8); 16] = [
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network" (0.0.0.0 reaches loopback on Linux)
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 CGNAT (100.100.100.200: Alibaba metadata)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local (169.254.169.254, 169.254.170.2)
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments (192.0.0.192: metadata)
    (0xc000_0200, 24), // 192.0.2.0/24 documentation
    (0xc058_6300, 24), // 192.88.99.0/24 6to4 relay anycast (deprecated)
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation
    (0xe000_0000, 4),  // 224.0.0.0/4 multicast
    (0xf000_0000, 4),  // 240.0.0.0/4 reserved, and the broadcast address
    (0xffff_ffff, 32), // 255.255.255.255 (inside 240/4; named for the reader)
];

fn public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !V4_SPECIAL
        .iter()
        .any(|&(net, len)| bits >> (32 - len) == net >> (32 - len))
}

fn public_v6(ip: Ipv6Addr) -> bool {
    // An address that carries an IPv4 one is judged by it: mapped (::ffff:a.b.c.d) and
    // the NAT64 well-known prefix (64:ff9b::/96) an IPv6-only network reaches IPv4 by.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let segments = ip.segments();
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return public_v4(Ipv4Addr::from(
            (u32::from(segments[6]) << 16) | u32::from(segments[7]),
        ));
    }
    let bits = u128::from(ip);
    let within = |net: u128, len: u32| bits >> (128 - len) == net >> (128 - len);
    // Only global unicast (2000::/3) is reachable at all; unique-local (fc00::/7, AWS's
    // fd00:ec2::254 metadata), link-local (fe80::/10), loopback, multicast and the
    // IPv4-compatible forms are outside it. Within it, these are not global:
    within(0x2000_0000_0000_0000_0000_0000_0000_0000, 3)
        && !within(0x2001_0000_0000_0000_0000_0000_0000_0000, 23) // IETF protocol assignments, Teredo
        && !within(0x2001_0db8_0000_0000_0000_0000_0000_0000, 32) // documentation
        && !within(0x2002_0000_0000_0000_0000_0000_0000_0000, 16) // 6to4: carries any IPv4 address
        && !within(0x3fff_0000_0000_0000_0000_0000_0000_0000, 20) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_servers_live_outside_the_public_set() {
        for refused in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "100.64.0.1",
            "192.0.0.192",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused}");
        }
        for public in [
            "52.94.76.1",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.255.255",
            "2600:1f18::1",
            "2a05:d018::1",
            "::ffff:52.94.76.1",
            "64:ff9b::3401:4c01",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
