//! Strict base64url (RFC 7515 §2, RFC 4648 §5): no padding, no `+` or `/`, no whitespace and
//! canonical trailing bits. A lenient decoder lets one token have several spellings, which
//! defeats denylists and caches keyed by the token text.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The only base64 engine used on token input.
pub(crate) const STRICT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes one segment strictly; `None` for any deviation from canonical unpadded base64url.
pub(crate) fn decode(segment: &str) -> Option<Vec<u8>> {
    STRICT.decode(segment.as_bytes()).ok()
}

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    STRICT.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_input_decodes() {
        assert_eq!(decode("Zm9v"), Some(b"foo".to_vec()));
        assert_eq!(decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(decode(""), Some(Vec::new()));
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
    }

    #[test]
    fn padding_is_refused() {
        assert_eq!(decode("YQ=="), None);
        assert_eq!(decode("YQ="), None);
    }

    #[test]
    fn standard_alphabet_is_refused() {
        assert_eq!(decode("+/8"), None);
    }

    #[test]
    fn whitespace_and_junk_are_refused() {
        for s in [
            " Zm9v", "Zm9v ", "Zm\n9v", "Zm9v\n", "Zm\t9v", "Zm9v!!!!", "Zm?9v", "Zm#9v",
        ] {
            assert_eq!(decode(s), None, "{s:?}");
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // "YQ" is canonical for "a"; "YR" carries the same byte with a non-zero unused bit.
        assert_eq!(decode("YR"), None);
        assert_eq!(decode("Zm9vYh"), None);
    }

    #[test]
    fn impossible_length_is_refused() {
        assert_eq!(decode("Z"), None);
        assert_eq!(decode("Zm9vY"), None);
    }
}
