//! Keyword replacement as the Deploy CLI does it (`AUTH0_KEYWORD_REPLACE_MAPPINGS`): `##NAME##`
//! becomes the value as is, `@@NAME@@` its JSON string. A `##NAME##` left without a value is an
//! error at its line and column, not a silent literal.

use std::collections::BTreeMap;

use super::error::{Locator, TenantFileError};

/// The values for one parse.
pub(super) struct Keywords<'a> {
    values: &'a BTreeMap<String, String>,
}

impl<'a> Keywords<'a> {
    pub(super) fn new(values: &'a BTreeMap<String, String>) -> Self {
        Keywords { values }
    }

    /// `text` with every known keyword replaced.
    pub(super) fn replace(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in self.values {
            out = out.replace(&format!("##{k}##"), v);
            let json = serde_json::Value::String(v.clone()).to_string();
            out = out.replace(&format!("@@{k}@@"), &json);
        }
        out
    }

    /// (`##NAME##`, value) pairs, for mapping columns back to the file as written.
    pub(super) fn pairs(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(k, v)| (format!("##{k}##"), v.clone()))
            .collect()
    }

    /// Fails at the first `##NAME##` outside a comment line that has no value.
    pub(super) fn check_all_replaced(
        &self,
        original: &str,
        loc: &Locator<'_>,
    ) -> Result<(), TenantFileError> {
        for (li, line) in original.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let mut rest = line;
            let mut offset = 0;
            while let Some(i) = rest.find("##") {
                let after = &rest[i + 2..];
                let name_len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let name = &after[..name_len];
                if !name.is_empty()
                    && after[name_len..].starts_with("##")
                    && !self.values.contains_key(name)
                {
                    let column = line[..offset + i].chars().count() + 1;
                    return Err(loc.at_position(
                        li + 1,
                        column,
                        format!(
                            "keyword ##{name}## has no value (give it in AUTH0_KEYWORD_REPLACE_MAPPINGS or in pymd-dev.yaml's keywords)"
                        ),
                    ));
                }
                offset += i + 2;
                rest = &rest[i + 2..];
            }
        }
        Ok(())
    }
}
