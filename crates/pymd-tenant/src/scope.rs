//! OAuth scope strings (`scope`, `prompt`): space-separated, duplicates dropped, order kept.

/// Splits a space-separated scope string (duplicates removed, order kept).
pub fn split_scope(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in s.split(' ').filter(|p| !p.is_empty()) {
        if !out.iter().any(|x| x == p) {
            out.push(p.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_split() {
        assert_eq!(
            split_scope(" openid  profile openid "),
            vec!["openid", "profile"]
        );
    }
}
