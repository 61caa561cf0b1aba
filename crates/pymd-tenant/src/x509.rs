//! A minimal DER encoder for the self-signed X.509 certificate Auth0 publishes with each
//! signing key (`x5c`, `x5t` in the JWKS, §7.2). Some JWKS consumers build keys from `x5c`,
//! so each key gets a real certificate: subject/issuer `CN=<issuer host>`, 14-year validity.

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature;
use time::OffsetDateTime;

fn len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len(body.len()));
    out.extend_from_slice(body);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn uint(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|x| *x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

fn oid(der: &[u8]) -> Vec<u8> {
    tlv(0x06, der)
}

fn time(t: OffsetDateTime) -> Vec<u8> {
    if (1950..2050).contains(&t.year()) {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        tlv(0x17, s.as_bytes())
    } else {
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        tlv(0x18, s.as_bytes())
    }
}

/// Builds and signs a self-signed certificate for the key; `None` if signing fails.
pub fn self_signed(
    pair: &KeyPair,
    n: &[u8],
    e: &[u8],
    cn: &str,
    created_at: i64,
) -> Option<Vec<u8>> {
    const SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    let null = vec![0x05, 0x00];
    let alg = seq(&[oid(SHA256_RSA), null.clone()]);
    let name = seq(&[tlv(0x31, &seq(&[oid(CN), tlv(0x0c, cn.as_bytes())]))]);
    let not_before = OffsetDateTime::from_unix_timestamp(created_at).ok()?;
    let not_after = not_before + time::Duration::days(14 * 365);
    let rsa_pub = seq(&[uint(n), uint(e)]);
    let mut bits = vec![0u8];
    bits.extend(rsa_pub);
    let spki = seq(&[seq(&[oid(RSA), null]), tlv(0x03, &bits)]);
    let serial = crate::util::sha256(n);
    let tbs = seq(&[
        tlv(0xa0, &uint(&[2])),
        uint(&serial[..9]),
        alg.clone(),
        name.clone(),
        seq(&[time(not_before), time(not_after)]),
        name,
        spki,
    ]);
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(&signature::RSA_PKCS1_SHA256, &rng, &tbs, &mut sig)
        .ok()?;
    let mut sig_bits = vec![0u8];
    sig_bits.extend(sig);
    Some(seq(&[tbs, alg, tlv(0x03, &sig_bits)]))
}
