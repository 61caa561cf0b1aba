//! Where a problem in the tenant file is: [`TenantFileError`] (`tenant.yaml:LINE:COL: reason`)
//! and the [`Locator`] that finds a node's line and column, in the file as written (before
//! keyword replacement), by asking the YAML parser itself to stop on that node.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A problem in the tenant file, with the 1-based position it was found at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct TenantFileError {
    /// The file: `tenant.yaml`, `pymd-dev.yaml` or an Action's code file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// One step of a path into the YAML document: a mapping key or a sequence index.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A mapping-key step of a [`Seg`] path.
pub(super) fn k(key: &str) -> Seg<'_> {
    Seg::Key(key)
}

/// A sequence-index step of a [`Seg`] path.
pub(super) fn n(index: usize) -> Seg<'static> {
    Seg::Index(index)
}

/// Marker of the probe's own error (never shown).
const FOUND: &str = "\u{1}pymd-tenant-locate\u{1}";

/// Walks the document along a path and fails with [`FOUND`] on the node it names, so the YAML
/// parser attaches that node's own position to the error.
struct Probe<'p>(&'p [Seg<'p>]);

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Probe<'_> {
    fn leaf<E: de::Error>(self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

/// A mapping key as text (scalar keys of any type), `None` for complex keys.
struct KeyText(Option<String>);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<KeyText, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<KeyText, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let target = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Seg::Index(i), rest)) => Some((*i, rest)),
            Some((Seg::Key(_), _)) => None,
        };
        let mut index = 0;
        loop {
            let more = match target {
                Some((i, rest)) if i == index => a.next_element_seed(Probe(rest))?.is_some(),
                _ => a.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
        let target = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Seg::Key(key), rest)) => Some((*key, rest)),
            Some((Seg::Index(_), _)) => None,
        };
        while let Some(KeyText(key)) = a.next_key::<KeyText>()? {
            match target {
                Some((want, rest)) if key.as_deref() == Some(want) => {
                    a.next_value_seed(Probe(rest))?
                }
                _ => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Positions in the tenant file: the YAML parser's own location of a node, reported in the
/// coordinates of the file as written (before keyword replacement).
pub(super) struct Locator<'a> {
    /// The file as written.
    original: &'a str,
    /// After keyword replacement (what was parsed).
    text: &'a str,
    /// (`##KEYWORD##`, replacement) pairs.
    keywords: &'a [(String, String)],
    /// The file's name in messages.
    file: &'static str,
}

impl<'a> Locator<'a> {
    /// A locator for `text`, which is `original` with each keyword replaced by its value.
    pub(super) fn new(
        file: &'static str,
        original: &'a str,
        text: &'a str,
        keywords: &'a [(String, String)],
    ) -> Self {
        Self {
            original,
            text,
            keywords,
            file,
        }
    }

    /// An error at a 1-based position of the file as written.
    pub(super) fn at_position(
        &self,
        line: usize,
        column: usize,
        reason: impl Into<String>,
    ) -> TenantFileError {
        TenantFileError {
            file: self.file.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }
}

impl Locator<'_> {
    /// An error at the node `path` names, or at its nearest ancestor present in the file (a
    /// value that was defaulted), or at 1:1.
    pub(super) fn at(&self, path: &[Seg<'_>], reason: impl Into<String>) -> TenantFileError {
        let (line, column) = (0..=path.len())
            .rev()
            .find_map(|len| self.node(&path[..len]))
            .unwrap_or((1, 1));
        self.at_position(line, column, reason)
    }

    /// A YAML syntax, shape or type error from the parser, at the position it gives (1:1 if
    /// none), with the parser's own " at line …" suffix removed.
    pub(super) fn syntax(&self, e: &yaml_serde::Error) -> TenantFileError {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), self.original_column(l.line(), l.column())))
            .unwrap_or((1, 1));
        let reason = e.to_string();
        self.at_position(line, column, reason.split(" at line ").next().unwrap_or(""))
    }

    fn node(&self, path: &[Seg<'_>]) -> Option<(usize, usize)> {
        let de = yaml_serde::Deserializer::from_str(self.text);
        match Probe(path).deserialize(de) {
            Err(e) if e.to_string().contains(FOUND) => e
                .location()
                .map(|l| (l.line(), self.original_column(l.line(), l.column()))),
            _ => None,
        }
    }

    /// Maps a 1-based column of the replaced text back to the file as written.
    fn original_column(&self, line: usize, column: usize) -> usize {
        let Some(src) = self.original.lines().nth(line.saturating_sub(1)) else {
            return column;
        };
        let (mut replaced, mut original, mut rest) = (1, 1, src);
        while replaced < column && !rest.is_empty() {
            if let Some((kw, value)) = self
                .keywords
                .iter()
                .find(|(kw, _)| rest.starts_with(kw.as_str()))
            {
                replaced += value.chars().count();
                if replaced > column {
                    return original; // inside a replacement: point at its keyword
                }
                original += kw.chars().count();
                rest = &rest[kw.len()..];
            } else {
                let c = rest.chars().next().map(char::len_utf8).unwrap_or(1);
                replaced += 1;
                original += 1;
                rest = &rest[c..];
            }
        }
        original + column.saturating_sub(replaced)
    }
}
