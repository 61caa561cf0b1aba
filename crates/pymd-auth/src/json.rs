//! JSON parsing that refuses duplicate member names at any depth.
//!
//! `serde_json` silently keeps the last of two equal member names, so
//! `{"exp":1,"exp":9999999999}` would mean different things to different layers
//! (RFC 7519 §4, RFC 8725 §3.7). We parse through a visitor that fails on a duplicate
//! instead. `serde_json`'s recursion limit (128) still applies, so deep nesting is an
//! error rather than a stack overflow; invalid UTF-8 and lone surrogates are errors too.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose objects are known to have unique member names.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        serde_json::Number::from_f64(v)
            .map(|n| Strict(Value::Number(n)))
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element::<Strict>()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let Strict(v) = map.next_value::<Strict>()?;
            out.insert(key, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

/// Parses `bytes` as one JSON value, refusing duplicate member names, invalid UTF-8,
/// trailing data and nesting deeper than `serde_json`'s recursion limit.
pub(crate) fn parse(bytes: &[u8]) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Strict(v) = Strict::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// Like [`parse`], but the value must be a JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match parse(bytes)? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_object_parses() {
        let m = parse_object(br#"{"a":1,"b":[true,null,"x"],"c":{"d":1.5}}"#);
        assert_eq!(m.map(|m| m.len()), Some(3));
    }

    #[test]
    fn duplicate_names_are_refused_at_top_level_and_nested() {
        assert!(parse(br#"{"exp":1,"exp":2}"#).is_none());
        assert!(parse(br#"{"a":{"x":1,"x":1}}"#).is_none());
        assert!(parse(br#"[{"x":1,"x":2}]"#).is_none());
    }

    #[test]
    fn escaped_duplicate_is_still_a_duplicate() {
        // "\u0065xp" is "exp".
        assert!(parse(br#"{"exp":1,"\u0065xp":2}"#).is_none());
    }

    #[test]
    fn non_objects_are_not_objects() {
        assert!(parse_object(b"[1]").is_none());
        assert!(parse_object(b"\"s\"").is_none());
        assert!(parse_object(b"1").is_none());
    }

    #[test]
    fn invalid_utf8_and_lone_surrogates_are_refused() {
        assert!(parse(b"{\"a\":\"\xc0\xaf\"}").is_none());
        assert!(parse(br#"{"a":"\ud800"}"#).is_none());
    }

    #[test]
    fn trailing_data_is_refused() {
        assert!(parse(b"{} {}").is_none());
        assert!(parse(b"{}x").is_none());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(deep.as_bytes()).is_none());
        let deep_obj = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert!(parse(deep_obj.as_bytes()).is_none());
    }
}
