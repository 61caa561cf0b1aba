//! The API reference people can read (`/api/docs`): the served OpenAPI document
//! ([`crate::openapi`]) rendered on the server through a typed template — every operation
//! grouped by tag with its permissions, parameters, body and responses, then the schemas. No
//! viewer script and nothing from elsewhere: the page is HTML and the app's stylesheet, under the
//! same CSP as every page, and the raw document stays at `/api/openapi.json`.

use askama::Template;
use axum::http::StatusCode;
use serde_json::Value;

use super::error::Viewer;
use super::pages::Page;
use super::session::MaybeSession;

/// `GET /api/docs`: the reference, signed in or not (the document itself is public).
pub async fn show(MaybeSession(session): MaybeSession) -> Page<ApiDocsPage> {
    let viewer = session.map(|s| super::pages::display_name(&s.user).to_owned());
    let doc = serde_json::to_value(crate::openapi()).unwrap_or(Value::Null);
    Page(StatusCode::OK, ApiDocsPage::from_document(viewer, &doc))
}

/// The reference page.
#[derive(Template)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    viewer: Viewer,
    title: String,
    version: String,
    description: String,
    groups: Vec<Group>,
    schemas: Vec<Schema>,
}

/// The operations of one tag.
pub struct Group {
    name: String,
    operations: Vec<Operation>,
}

/// One operation (method and path).
pub struct Operation {
    /// `get`, `post`… (lower case, for the badge's class).
    method: String,
    path: String,
    /// The element id linking here (`op-get-api-v1-documents`).
    anchor: String,
    summary: String,
    description: String,
    /// "bearer: read:documents", or empty when the operation is public.
    security: Vec<String>,
    parameters: Vec<Parameter>,
    body: Option<TypeRef>,
    responses: Vec<Response>,
}

/// A path, query or header parameter.
pub struct Parameter {
    name: String,
    location: String,
    required: bool,
    kind: TypeRef,
    description: String,
}

/// A response of an operation.
pub struct Response {
    status: String,
    description: String,
    kind: Option<TypeRef>,
}

/// A schema named in the components, pretty-printed.
pub struct Schema {
    name: String,
    json: String,
}

/// What a value is: a named schema (linked) or a plain description (`string`, `array of Doc`).
pub struct TypeRef {
    text: String,
    /// The named schema, for a link to `#schema-<name>`.
    schema: Option<String>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn type_ref(schema: &Value) -> TypeRef {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return TypeRef {
            text: name.clone(),
            schema: Some(name),
        };
    }
    if let Some(items) = schema.get("items") {
        let inner = type_ref(items);
        return TypeRef {
            text: format!("array of {}", inner.text),
            schema: inner.schema,
        };
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(all) = schema.get(combinator).and_then(Value::as_array) {
            let parts: Vec<TypeRef> = all.iter().map(type_ref).collect();
            let text = parts
                .iter()
                .map(|p| p.text.as_str())
                .filter(|t| *t != "null")
                .collect::<Vec<_>>()
                .join(" or ");
            return TypeRef {
                text,
                schema: parts.into_iter().find_map(|p| p.schema),
            };
        }
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| *k != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        Some(Value::String(k)) => k.clone(),
        _ => "object".to_owned(),
    };
    let format = schema.get("format").and_then(Value::as_str);
    TypeRef {
        text: format.map_or(kind.clone(), |f| format!("{kind} ({f})")),
        schema: None,
    }
}

/// The schema of the first media type of a `content` map.
fn content_type(v: &Value) -> Option<TypeRef> {
    let content = v.get("content")?.as_object()?;
    let (_, media) = content.iter().next()?;
    media.get("schema").map(type_ref)
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let anchor_path: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let security = op
        .get("security")
        .and_then(Value::as_array)
        .map(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .flat_map(|req| {
                    req.iter().map(|(scheme, scopes)| {
                        let scopes: Vec<&str> = scopes
                            .as_array()
                            .map(|s| s.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        if scopes.is_empty() {
                            scheme.clone()
                        } else {
                            format!("{scheme}: {}", scopes.join(", "))
                        }
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let parameters = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| Parameter {
                    name: text(p, "name"),
                    location: text(p, "in"),
                    required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                    kind: p.get("schema").map_or(
                        TypeRef {
                            text: "string".into(),
                            schema: None,
                        },
                        type_ref,
                    ),
                    description: text(p, "description"),
                })
                .collect()
        })
        .unwrap_or_default();
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|rs| {
            rs.iter()
                .map(|(status, r)| Response {
                    status: status.clone(),
                    description: text(r, "description"),
                    kind: content_type(r),
                })
                .collect()
        })
        .unwrap_or_default();
    Operation {
        method: method.to_owned(),
        path: path.to_owned(),
        anchor: format!("op-{method}{anchor_path}"),
        summary: text(op, "summary"),
        description: text(op, "description"),
        security,
        parameters,
        body: op.get("requestBody").and_then(content_type),
        responses,
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

impl ApiDocsPage {
    /// The page of an OpenAPI document (as JSON): operations grouped by their first tag, in the
    /// order the document lists its tags; then the component schemas.
    pub fn from_document(viewer: Viewer, doc: &Value) -> ApiDocsPage {
        let info = doc.get("info").unwrap_or(&Value::Null);
        let mut groups: Vec<Group> = doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .map(|t| Group {
                        name: text(t, "name"),
                        operations: Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let paths = doc.get("paths").and_then(Value::as_object);
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tag = op
                    .get("tags")
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_str)
                    .unwrap_or("other");
                let index = match groups.iter().position(|g| g.name == tag) {
                    Some(i) => i,
                    None => {
                        groups.push(Group {
                            name: tag.to_owned(),
                            operations: Vec::new(),
                        });
                        groups.len() - 1
                    }
                };
                if let Some(group) = groups.get_mut(index) {
                    group.operations.push(operation(path, method, op));
                }
            }
        }
        groups.retain(|g| !g.operations.is_empty());
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|all| {
                all.iter()
                    .map(|(name, s)| Schema {
                        name: name.clone(),
                        json: serde_json::to_string_pretty(s).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiDocsPage {
            viewer,
            title: text(info, "title"),
            version: text(info, "version"),
            description: text(info, "description"),
            groups,
            schemas,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_served_document_is_on_the_page() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let page = ApiDocsPage::from_document(None, &doc);
        let listed: usize = page.groups.iter().map(|g| g.operations.len()).sum();
        let in_document: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
            .sum();
        assert!(in_document > 5);
        assert_eq!(listed, in_document);
        let html = page.render().unwrap();
        assert!(html.contains("/api/v1/documents"));
        assert!(html.contains("id=\"schema-"), "schemas are listed");
        assert!(!html.contains("<script"), "no viewer script");
    }

    #[test]
    fn values_from_the_document_are_escaped() {
        let doc = serde_json::json!({
            "info": {"title": "<b>t</b>", "version": "1", "description": "<script>x</script>"},
            "paths": {"/x/{id}": {"get": {
                "tags": ["a"], "summary": "<img src=x onerror=y>",
                "parameters": [{"name": "id", "in": "path", "required": true,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/Doc"}}}}}
            }}},
            "components": {"schemas": {"Doc": {"type": "object", "description": "</pre><i>"}}}
        });
        let html = ApiDocsPage::from_document(None, &doc).render().unwrap();
        assert!(!html.contains("<b>t</b>") && !html.contains("<script>x"));
        assert!(!html.contains("<img src=x") && !html.contains("</pre><i>"));
        assert!(html.contains("href=\"#schema-Doc\""), "{html}");
        assert!(html.contains("id=\"op-get-x--id-\""), "{html}");
    }
}
