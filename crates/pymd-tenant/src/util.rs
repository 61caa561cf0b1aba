//! Small shared helpers: random identifiers, base64url, hashing and
//! timestamp formatting. Kept here so every module produces identifiers of the same shape
//! Auth0 uses (see auth0-surface §1.4).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Fills `buf` from the operating system's CSPRNG (aws-lc-rs).
pub fn fill_random(buf: &mut [u8]) {
    // aws-lc-rs' SystemRandom only fails if the OS RNG is unusable; fall back to `rand`'s
    // thread RNG (also OS-seeded) rather than panicking on a request path.
    if aws_lc_rs::rand::fill(buf).is_err() {
        use rand::RngCore as _;
        rand::rng().fill_bytes(buf);
    }
}

/// A random URL-safe string of exactly `len` characters (alphabet `A-Za-z0-9_-`).
pub fn random_urlsafe(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[(*b & 63) as usize] as char)
        .collect()
}

/// A random lowercase hex string of `len` characters (Mongo-ObjectId-like ids use 24).
pub fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    fill_random(&mut bytes);
    let mut s = hex(&bytes);
    s.truncate(len);
    s
}

/// Lowercase hex encoding.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Standard base64 with padding.
pub fn b64std(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64.
pub fn b64std_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s.trim()).ok()
}

/// SHA-256 digest.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Constant-time string equality.
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// ISO-8601 UTC with milliseconds, e.g. `2023-07-11T16:30:16.596Z` (Auth0's profile format).
pub fn iso_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// MD5 is needed only for Gravatar URLs (Auth0's default `picture`); a tiny local
/// implementation avoids a dependency for one non-security use.
pub fn md5_hex(input: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = Vec::with_capacity(16);
    for v in [a0, b0, c0, d0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    hex(&out)
}

/// Auth0's default picture for a database user: a Gravatar URL with the CDN initials fallback.
pub fn default_picture(email: &str) -> String {
    let lower = email.to_lowercase();
    let initials: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(2)
        .collect();
    format!(
        "https://s.gravatar.com/avatar/{}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{}.png",
        md5_hex(lower.as_bytes()),
        initials
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5_hex(b"testaccdatasourceuserorganizations@auth0.com"),
            "dee3a8ddc49cdb6462cc83cc26e61816"
        );
    }

    #[test]
    fn random_shapes() {
        assert_eq!(random_urlsafe(21).len(), 21);
        assert!(random_hex(24).chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn iso_format() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_689_093_016_596_000_000).unwrap();
        assert_eq!(iso_millis(t), "2023-07-11T16:30:16.596Z");
    }
}
