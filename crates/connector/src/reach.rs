//! Which network addresses a connector may reach on a profile's behalf
//! (R-SEC-1). A non-admin user who saves a profile chooses the server it
//! talks to; without a limit that user could make crmsync send requests to
//! the machine itself or to the private network behind it (server-side
//! request forgery). The administrator's `[security] allowed_hosts` names
//! the internal hosts users may still reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// What a connector may connect to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Reach {
    /// Anything: profiles of the configuration file and of administrators.
    #[default]
    Any,
    /// Public addresses, and what the allow-list names: profiles that a
    /// non-admin user saved over the API.
    Public(AllowList),
}

/// The administrator's exceptions: host names (matched exactly, without
/// case) and addresses or networks (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

/// An allow-list entry that is neither a host name nor an address or network.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{entry}` is not a host name, an IP address or a network like 10.0.0.0/8")]
pub struct BadAllowEntry {
    pub entry: String,
}

impl AllowList {
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, BadAllowEntry> {
        let mut list = AllowList::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if let Ok(net) = entry.parse::<IpNet>() {
                list.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if is_host_name(entry) {
                list.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(BadAllowEntry {
                    entry: entry.to_string(),
                });
            }
        }
        Ok(list)
    }

    fn names(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Reach {
    /// Whether a host name may be used whatever it resolves to (it is on the
    /// allow-list, or anything may be reached).
    pub fn trusts_name(&self, host: &str) -> bool {
        match self {
            Reach::Any => true,
            Reach::Public(allow) => allow.names(host),
        }
    }

    /// Whether `ip` may be connected to (for a host name not trusted by
    /// name: every address it resolves to is checked, at connect time).
    pub fn allows(&self, ip: IpAddr) -> bool {
        match self {
            Reach::Any => true,
            Reach::Public(allow) => allow.contains(ip) || is_public(ip),
        }
    }

    /// The refusal a connector reports for `host` at `ip` (R-SEC-1). It
    /// names the setting that would allow it, since the user cannot change
    /// the address of an internal server, only ask for it to be allowed.
    pub fn refusal(host: &str, ip: IpAddr) -> crate::ConnectorError {
        crate::ConnectorError::NotAllowed {
            detail: format!(
                "{host} is at {ip}, an internal address (loopback, private, link-local or unspecified) that \
                 profiles of non-admin users may not reach (R-SEC-1); use a public address, or ask the \
                 administrator to add the host to `[security] allowed_hosts`"
            ),
        }
    }

    /// The addresses of `host` at `port` the profile may connect to,
    /// resolved now (R-SEC-1). A connector that opens its own sockets
    /// connects to exactly these, so the name is not resolved a second time
    /// (where it could lead somewhere else). A name not on the allow-list is
    /// refused when any of its addresses is internal.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, crate::ConnectorError> {
        // IPv6 literals may come in brackets; literals need no resolving.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return match self.allows(ip) {
                true => Ok(vec![SocketAddr::new(ip, port)]),
                false => Err(Reach::refusal(host, ip)),
            };
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| crate::ConnectorError::Unreachable {
                detail: format!("{host}: cannot resolve the name ({e})"),
            })?
            .collect();
        if !self.trusts_name(bare)
            && let Some(internal) = found.iter().find(|a| !self.allows(a.ip()))
        {
            return Err(Reach::refusal(host, internal.ip()));
        }
        if found.is_empty() {
            return Err(crate::ConnectorError::Unreachable {
                detail: format!("{host}: the name has no address"),
            });
        }
        Ok(found)
    }
}

/// Not loopback, private, link-local, unspecified, shared (CGNAT),
/// multicast, broadcast or reserved: an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // 240.0.0.0/4, reserved.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // 64:ff9b::/96 NAT64 and ::/96 IPv4-compatible carry an IPv4 address.
        || (ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && !is_public_v4(embedded_v4(ip)))
        || ip.segments()[..6] == [0; 6])
}

fn embedded_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn r_sec_1_internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(ip(internal)), "{internal} counted as public");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip(public)), "{public} counted as internal");
        }
    }

    #[tokio::test]
    async fn r_sec_1_resolve_hands_out_only_allowed_addresses() {
        let user = Reach::Public(AllowList::default());
        for host in ["127.0.0.1", "localhost", "[::1]", "169.254.169.254"] {
            match user.resolve(host, 993).await {
                Err(e @ crate::ConnectorError::NotAllowed { .. }) => {
                    let message = e.to_string();
                    assert!(
                        message.contains("R-SEC-1") && message.contains("allowed_hosts"),
                        "{message}"
                    );
                    assert!(!e.is_transient(), "a refusal is permanent");
                }
                other => panic!("{host}: expected NotAllowed, got {other:?}"),
            }
        }
        let by_name = Reach::Public(AllowList::parse(&["localhost"]).unwrap());
        let addrs = by_name.resolve("localhost", 993).await.unwrap();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.port() == 993 && a.ip().is_loopback()));
        let by_net = Reach::Public(AllowList::parse(&["127.0.0.0/8"]).unwrap());
        assert_eq!(
            by_net.resolve("127.0.0.1", 143).await.unwrap(),
            [SocketAddr::new(ip("127.0.0.1"), 143)]
        );
        assert!(Reach::Any.resolve("127.0.0.1", 143).await.is_ok());
    }

    #[test]
    fn r_sec_1_the_allow_list_opens_named_hosts_and_networks_only_for_restricted_profiles() {
        let allow = AllowList::parse(&["dav.internal", "10.0.0.0/8", "192.168.5.5"]).unwrap();
        let user = Reach::Public(allow);
        assert!(user.trusts_name("DAV.internal."));
        assert!(!user.trusts_name("localhost"));
        assert!(user.allows(ip("10.200.0.1")));
        assert!(user.allows(ip("192.168.5.5")));
        assert!(!user.allows(ip("192.168.5.6")));
        assert!(!user.allows(ip("127.0.0.1")));
        assert!(user.allows(ip("1.1.1.1")));
        assert!(Reach::Any.allows(ip("127.0.0.1")) && Reach::Any.trusts_name("localhost"));
        assert_eq!(
            AllowList::parse(&["not a host"]),
            Err(BadAllowEntry {
                entry: "not a host".into()
            })
        );
    }
}
