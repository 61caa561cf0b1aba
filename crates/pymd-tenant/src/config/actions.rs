//! The `actions` and `triggers` sections: each Action's code file (read beside `tenant.yaml`,
//! keywords replaced as the Deploy CLI replaces them), its secrets and dependencies, and the
//! `post-login` bindings in their order. A code file that does not compile, a dependency the
//! dev tenant cannot stand in for, or a binding to an unknown Action stops the tenant at start.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::{Locator, TenantFileError, k, n};
use super::shape::Ignored;
use crate::actions::{Action, check_syntax};

/// The dependencies an Action may declare: the ones the dev tenant provides itself.
pub const PROVIDED_DEPENDENCIES: &[&str] = &["axios"];

/// The one trigger the dev tenant runs.
pub const POST_LOGIN: &str = "post-login";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Deploy CLI keys accepted without effect are never read
pub(super) struct FileAction {
    name: String,
    code: String,
    #[serde(default)]
    runtime: Option<String>,
    #[serde(default)]
    dependencies: Vec<FileDependency>,
    #[serde(default)]
    secrets: Vec<FileSecret>,
    #[serde(default)]
    supported_triggers: Vec<FileSupportedTrigger>,
    #[serde(default)]
    deployed: Ignored,
    #[serde(default)]
    status: Ignored,
    #[serde(default)]
    modules: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Deploy CLI keys accepted without effect are never read
struct FileDependency {
    name: String,
    #[allow(dead_code)] // Deploy CLI key; the dev tenant provides its own stand-in
    version: String,
    #[serde(default)]
    registry_url: Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSecret {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Deploy CLI keys accepted without effect are never read
struct FileSupportedTrigger {
    id: String,
    #[serde(default)]
    version: Ignored,
    #[serde(default)]
    url: Ignored,
}

/// `triggers`: trigger id → bindings in execution order.
pub(super) type FileTriggers = BTreeMap<String, Vec<FileBinding>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Deploy CLI keys accepted without effect are never read
pub(super) struct FileBinding {
    action_name: String,
    #[serde(default)]
    display_name: Ignored,
}

/// Reads an Action's code file (path as written in `tenant.yaml`).
pub(super) type ReadCode<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// The Actions bound to `post-login`, in binding order, code loaded and checked.
pub(super) fn resolve(
    actions: &[FileAction],
    triggers: &FileTriggers,
    read: ReadCode<'_>,
    replace: &dyn Fn(&str) -> String,
    loc: &Locator<'_>,
) -> Result<Vec<Action>, TenantFileError> {
    for (ai, a) in actions.iter().enumerate() {
        if actions[..ai].iter().any(|b| b.name == a.name) {
            return Err(loc.at(
                &[k("actions"), n(ai), k("name")],
                format!("duplicate action \"{}\"", a.name),
            ));
        }
    }
    for id in triggers.keys().filter(|t| t.as_str() != POST_LOGIN) {
        tracing::warn!(trigger = %id, "the dev tenant runs only post-login Actions; this trigger's bindings are ignored");
    }
    let Some(bindings) = triggers.get(POST_LOGIN) else {
        return Ok(Vec::new());
    };
    let mut bound = Vec::new();
    for (bi, b) in bindings.iter().enumerate() {
        let here = [k("triggers"), k(POST_LOGIN), n(bi), k("action_name")];
        let Some(ai) = actions.iter().position(|a| a.name == b.action_name) else {
            return Err(loc.at(
                &here,
                format!("post-login binds an unknown action \"{}\"", b.action_name),
            ));
        };
        let a = &actions[ai];
        if !a.supported_triggers.iter().any(|t| t.id == POST_LOGIN) {
            return Err(loc.at(
                &here,
                format!(
                    "action \"{}\" is bound to post-login but its supported_triggers lack post-login",
                    a.name
                ),
            ));
        }
        bound.push(load(ai, a, read, replace, loc)?);
    }
    Ok(bound)
}

/// One Action: runtime, dependencies, secrets and code, each checked.
fn load(
    ai: usize,
    a: &FileAction,
    read: ReadCode<'_>,
    replace: &dyn Fn(&str) -> String,
    loc: &Locator<'_>,
) -> Result<Action, TenantFileError> {
    let at = |key: &'static str| [k("actions"), n(ai), k(key)];
    if let Some(rt) = &a.runtime
        && !rt.starts_with("node")
    {
        return Err(loc.at(&at("runtime"), format!("unknown Actions runtime \"{rt}\"")));
    }
    let mut dependencies = Vec::new();
    for (di, d) in a.dependencies.iter().enumerate() {
        if !PROVIDED_DEPENDENCIES.contains(&d.name.as_str()) {
            return Err(loc.at(
                &[k("actions"), n(ai), k("dependencies"), n(di), k("name")],
                format!(
                    "action \"{}\" depends on \"{}\", which the dev tenant does not provide (it provides: {})",
                    a.name,
                    d.name,
                    PROVIDED_DEPENDENCIES.join(", ")
                ),
            ));
        }
        dependencies.push(d.name.clone());
    }
    let mut secrets = Vec::new();
    for (si, s) in a.secrets.iter().enumerate() {
        let Some(value) = &s.value else {
            return Err(loc.at(
                &[k("actions"), n(ai), k("secrets"), n(si), k("name")],
                format!(
                    "secret \"{}\" of action \"{}\" has no value",
                    s.name, a.name
                ),
            ));
        };
        secrets.push((s.name.clone(), value.clone()));
    }
    let code = read(&a.code).map_err(|e| {
        loc.at(
            &at("code"),
            format!("cannot read the code of action \"{}\": {e}", a.name),
        )
    })?;
    let code = replace(&code);
    check_syntax(&code).map_err(|e| {
        loc.at(
            &at("code"),
            format!(
                "the code of action \"{}\" ({}) does not compile: {e}",
                a.name, a.code
            ),
        )
    })?;
    Ok(Action {
        name: a.name.clone(),
        code,
        secrets,
        dependencies,
    })
}
