//! Pieces shared by every section's file shape. It sits below the sections and the file root
//! (`deploy_cli`), so that they can all use it without importing each other.

use serde::de::IgnoredAny;

/// Keys the Deploy CLI exports that the emulator accepts and does not act on are typed
/// [`Ignored`]: listed, so that a misspelt key is refused instead of silently ignored.
pub(super) type Ignored = Option<IgnoredAny>;
