//! The five permissions of the PyMD API (spec §3). An access token grants a permission when it
//! appears in its `permissions` array (Auth0 RBAC) or in its space-separated `scope`; that check
//! lives with the token verifier, the names live here.

use std::fmt;

/// One permission of the PyMD API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ReadDocuments,
    WriteDocuments,
    DeleteDocuments,
    ReadProfile,
    WriteProfile,
}

impl Permission {
    /// Every permission, in the order the API documents them.
    pub const ALL: [Permission; 5] = [
        Permission::ReadDocuments,
        Permission::WriteDocuments,
        Permission::DeleteDocuments,
        Permission::ReadProfile,
        Permission::WriteProfile,
    ];

    /// The permission's name as it appears in tokens, e.g. `read:documents`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::ReadDocuments => "read:documents",
            Permission::WriteDocuments => "write:documents",
            Permission::DeleteDocuments => "delete:documents",
            Permission::ReadProfile => "read:profile",
            Permission::WriteProfile => "write:profile",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_match_the_auth0_api_definition() {
        let names: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "read:documents",
                "write:documents",
                "delete:documents",
                "read:profile",
                "write:profile"
            ]
        );
    }
}
