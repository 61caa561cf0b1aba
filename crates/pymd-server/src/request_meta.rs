//! Who is on the other end of a request, as far as the audit log and (later) rate limits are
//! concerned: the client IP (the socket peer, unless the peer is a trusted proxy listed in
//! `PYMD_TRUSTED_PROXIES`, then the right-most untrusted `X-Forwarded-For` hop), the user agent
//! the request id, and whether it came over https (a trusted proxy's `X-Forwarded-Proto`). A
//! middleware computes it once per request and keeps it in a task-local,
//! so audit events carry it without every handler passing it along.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Cidr;
use crate::state::AppState;

/// What the audit log records about the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The request reached the front of the site over https: said by a trusted proxy's
    /// `X-Forwarded-Proto` (PyMD itself serves plain HTTP behind the proxy that ends TLS).
    pub https: bool,
}

tokio::task_local! {
    static CURRENT: RequestMeta;
}

/// Whether the current request came over https (false outside a request), without copying the
/// rest of the metadata.
pub fn is_https() -> bool {
    CURRENT.try_with(|m| m.https).unwrap_or(false)
}

/// The current request's metadata, when called while serving a request.
pub fn current() -> Option<RequestMeta> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The client IP: `peer`, unless `peer` is a trusted proxy; then the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy. Spoofed left-most entries are ignored.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    // One form per client: an IPv4 client of a dual-stack listener (`::ffff:a.b.c.d`) is
    // `a.b.c.d`, as the IdP's logs name it, so limits and blocks match.
    client_ip_as_sent(peer.to_canonical(), forwarded_for, trusted).to_canonical()
}

fn client_ip_as_sent(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    peer
}

/// One `X-Forwarded-For` hop: an address, `ip:port`, `[v6]` or `[v6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<IpAddr>().ok())
        })
}

fn meta_of(req: &Request, trusted: &[Cidr]) -> RequestMeta {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let text = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect::<String>())
    };
    let from_proxy = peer.is_some_and(|p| trusted.iter().any(|c| c.contains(p.to_canonical())));
    // The proxy's own value is the last one; earlier ones are whatever the client sent.
    let proto = req
        .headers()
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .map(|p| p.trim().eq_ignore_ascii_case("https"));
    RequestMeta {
        ip: peer.map(|p| client_ip(p, &forwarded, trusted)),
        user_agent: text("user-agent"),
        request_id: text("x-request-id"),
        https: from_proxy && proto == Some(true),
    }
}

/// Middleware: computes the metadata and serves the request inside its scope.
pub async fn capture(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let meta = meta_of(&req, &state.config.trusted_proxies);
    req.extensions_mut().insert(meta.clone());
    CURRENT.scope(meta, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_listener_is_named_in_ipv4_form() {
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.9"), &[], &[]),
            ip("203.0.113.9")
        );
        let trusted = [Cidr::parse("127.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &["::ffff:198.51.100.7"], &trusted),
            ip("198.51.100.7"),
            "a mapped proxy is trusted as its IPv4 form, and the forwarded client is canonical"
        );
    }

    #[test]
    fn a_hop_with_a_port_or_brackets_is_still_the_client() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        for (hop, client) in [
            ("198.51.100.7:51234", "198.51.100.7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::8]", "2001:db8::8"),
            ("10.0.0.2:80, 198.51.100.9:1", "198.51.100.9"),
        ] {
            assert_eq!(
                client_ip(ip("10.0.0.1"), &[hop], &trusted),
                ip(client),
                "{hop}"
            );
        }
        // Garbage still falls back to the proxy, never to a client-chosen value.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["not-an-ip:99"], &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        // The client may prepend anything; only what the proxies appended counts.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &["6.6.6.6, 198.51.100.7, 10.0.0.1"],
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["garbage"], &trusted),
            ip("10.0.0.2")
        );
    }
}
