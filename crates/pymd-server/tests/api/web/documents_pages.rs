//! The document pages (spec §5): create, view (sanitised Markdown), edit with an optimistic
//! version, delete, the keyset-paged list, and what every form POST must prove (a CSRF token bound
//! to the session and a same-origin signal). Refused requests are checked through the store to
//! have changed nothing.

use std::sync::Arc;

use pymd_domain::{Document, DocumentDraft, DocumentId, PageRequest, User};
use pymd_storage::NewSession;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use secrecy::SecretString;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::web::harness::{ALICE, BOB, Browser, Env, Page, between, client};

pub const ALICE_SUB: &str = "auth0|64b1f0c2a1b2c3d4e5f60001";

/// The hidden CSRF token of a page's form.
pub fn csrf_of(page: &Page) -> String {
    between(&page.body, "name=\"csrf_token\" value=\"", "\"").expect("a csrf_token field")
}

/// What a browser's own form submission carries.
pub fn same_origin(env: &Env) -> Vec<(&'static str, String)> {
    vec![
        ("sec-fetch-site", "same-origin".to_owned()),
        ("origin", env.app.clone()),
    ]
}

/// A form POST with the browser's session cookie and the given extra headers.
pub async fn submit(
    env: &Env,
    b: &Browser,
    path: &str,
    headers: &[(&'static str, String)],
    form: &[(&str, &str)],
) -> Page {
    let mut rb = client().post(format!("{}{path}", env.app)).form(form);
    if let Some(c) = b.cookie("pymd_session") {
        rb = rb.header(COOKIE, format!("pymd_session={c}"));
    }
    for (k, v) in headers {
        rb = rb.header(*k, v.as_str());
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.unwrap_or_default();
    Page {
        status,
        location,
        set_cookies: Vec::new(),
        headers,
        body,
    }
}

/// A signed-in browser and its user.
pub async fn signed_in(env: &Env, who: (&str, &str)) -> (Browser, User) {
    let mut b = Browser::new();
    let done = b.login(env, "/auth/login", who).await;
    assert_eq!(done.status, StatusCode::FOUND, "login: {}", done.body);
    let sub = if who.0 == ALICE.0 {
        ALICE_SUB
    } else {
        "auth0|64b1f0c2a1b2c3d4e5f60002"
    };
    let user = env
        .store
        .find_user_by_auth0_id(sub)
        .await
        .expect("store")
        .expect("the user exists after login");
    (b, user)
}

/// A client-credentials token from the dev tenant's M2M client for `audience` (narrowed to
/// `scope` when given).
pub async fn m2m_token(env: &Env, audience: &str, scope: Option<&str>) -> String {
    let cfg = pymd_tenant::parse_tenant(pymd_tenant::DEFAULT_TENANT_YAML, &env.tenant, &env.app)
        .expect("default tenant");
    let m2m = cfg
        .first_client_of_type("non_interactive")
        .expect("an M2M client");
    let secret = m2m.client_secret.clone().expect("M2M secret");
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", m2m.client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("audience", audience),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let r = client()
        .post(format!("{}oauth/token", env.tenant))
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert!(r.status().is_success(), "M2M token: {}", r.status());
    let v: Value = r.json().await.expect("token JSON");
    v["access_token"].as_str().expect("access_token").to_owned()
}

/// The user's documents, whole (lists carry summaries), newest first.
async fn all_documents(env: &Env, user: &User) -> Vec<Document> {
    let listed = env
        .store
        .list_documents(
            user.id,
            PageRequest {
                limit: 100,
                after: None,
            },
        )
        .await
        .expect("list")
        .documents;
    let mut out = Vec::new();
    for summary in listed {
        out.push(
            stored(env, summary.id)
                .await
                .expect("a listed document exists"),
        );
    }
    out
}

async fn stored(env: &Env, id: DocumentId) -> Option<Document> {
    env.store.get_document(id).await.expect("get")
}

fn id_from_location(env: &Env, page: &Page) -> DocumentId {
    let location = page.location.as_deref().expect("a Location");
    let id = location
        .strip_prefix("/documents/")
        .or_else(|| location.strip_prefix(&format!("{}/documents/", env.app)))
        .expect("to the new document");
    DocumentId::parse(id).expect("a document id")
}

async fn create_in_store(env: &Env, user: &User, title: &str, content: &str) -> Document {
    let draft = DocumentDraft::new(title, content.to_owned()).expect("draft");
    env.store
        .create_document(user.id, &draft)
        .await
        .expect("create")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_view_edit_and_delete_a_document_in_the_browser() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;

    // The dashboard offers a new document and the settings.
    let dash = b.get(&format!("{}/dashboard", env.app)).await;
    assert_eq!(dash.status, StatusCode::OK);
    for needle in [
        "data-testid=\"user-name\">Alice Example<",
        "href=\"/documents/new\" data-testid=\"new-document\"",
        "href=\"/settings\"",
        "data-testid=\"logout\"",
    ] {
        assert!(dash.body.contains(needle), "{needle}: {}", dash.body);
    }

    let form = b.get(&format!("{}/documents/new", env.app)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("data-testid=\"document-title\""));
    assert!(form.body.contains("data-testid=\"save\""));
    // One script only: the app's own live preview, by URL (nothing inline, nothing elsewhere).
    assert_eq!(form.body.matches("<script").count(), 1, "{}", form.body);
    assert!(
        form.body
            .contains("<script src=\"/static/editor.js\" defer></script>")
    );
    let csrf = csrf_of(&form);

    let title = "Notes <b>& \"plans\"</b>";
    let content = "# Hello\n\nSome *Markdown* here.\n\n<script>alert('x')</script>\n";
    let created = submit(
        &env,
        &b,
        "/documents",
        &same_origin(&env),
        &[
            ("csrf_token", &csrf),
            ("title", title),
            ("content", content),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = id_from_location(&env, &created);
    let doc = stored(&env, id).await.expect("created");
    assert_eq!(doc.owner_id, alice.id);
    assert_eq!(doc.title, title);
    assert_eq!(doc.content, content);
    assert_eq!(doc.version, 1);

    let view = b.get(&format!("{}/documents/{}", env.app, id.0)).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("<h1>Hello</h1>"), "{}", view.body);
    assert!(view.body.contains("<em>Markdown</em>"));
    assert!(!view.body.contains("<script"), "script stripped");
    assert!(!view.body.contains("alert('x')</script>"));
    assert!(
        view.body
            .contains("Notes &#60;b&#62;&#38; &#34;plans&#34;&#60;/b&#62;"),
        "the title is escaped"
    );
    assert!(!view.body.contains("<b>&"));
    assert!(
        view.body
            .contains(&format!("href=\"/documents/{}/edit\"", id.0))
    );
    assert!(
        view.body
            .contains(&format!("action=\"/documents/{}/delete\"", id.0))
    );
    assert!(view.body.contains("data-testid=\"delete\""));

    // The list shows it.
    let list = b.get(&format!("{}/documents", env.app)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("href=\"/documents/{}\"", id.0)));

    // Edit: the form is filled in and carries the version.
    let edit = b.get(&format!("{}/documents/{}/edit", env.app, id.0)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("name=\"version\" value=\"1\""));
    assert!(
        edit.body
            .contains("value=\"Notes &#60;b&#62;&#38; &#34;plans&#34;&#60;/b&#62;\"")
    );
    assert!(
        edit.body
            .contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"),
        "the content is in the textarea, escaped"
    );
    let saved = submit(
        &env,
        &b,
        &format!("/documents/{}", id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &csrf_of(&edit)),
            ("version", "1"),
            ("title", "Renamed"),
            ("content", "## Second draft\n\n- one\n- two\n"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(id_from_location(&env, &saved), id);
    let doc = stored(&env, id).await.expect("still there");
    assert_eq!((doc.title.as_str(), doc.version), ("Renamed", 2), "{doc:?}");
    let view = b.get(&format!("{}/documents/{}", env.app, id.0)).await;
    assert!(view.body.contains("<h2>Second draft</h2>"), "{}", view.body);
    assert!(view.body.contains("<li>two</li>"));
    assert!(!view.body.contains("<h1>Hello</h1>"));

    // Delete.
    let deleted = submit(
        &env,
        &b,
        &format!("/documents/{}/delete", id.0),
        &same_origin(&env),
        &[("csrf_token", &csrf_of(&view))],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location.as_deref(), Some("/documents"));
    assert!(stored(&env, id).await.is_none(), "deleted");
    let gone = b.get(&format!("{}/documents/{}", env.app, id.0)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let list = b.get(&format!("{}/documents", env.app)).await;
    assert!(!list.body.contains(&id.0.to_string()));
    assert!(list.body.contains("No documents yet."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_shows_the_form_again_with_409_and_overwrites_nothing() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;
    let doc = create_in_store(&env, &alice, "Shared", "original").await;

    let edit = b
        .get(&format!("{}/documents/{}/edit", env.app, doc.id.0))
        .await;
    assert!(edit.body.contains("name=\"version\" value=\"1\""));
    let csrf = csrf_of(&edit);

    // Someone else saves first (another tab, another device).
    let other = DocumentDraft::new("Shared", "their change".to_owned()).expect("draft");
    env.store
        .update_document(doc.id, alice.id, &other, Some(1))
        .await
        .expect("the other save");

    let mine = "my <careful> change & more";
    let stale = submit(
        &env,
        &b,
        &format!("/documents/{}", doc.id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &csrf),
            ("version", "1"),
            ("title", "Shared (mine)"),
            ("content", mine),
        ],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(
        stale.body.contains("changed since you opened it"),
        "{}",
        stale.body
    );
    assert!(
        stale
            .body
            .contains("my &#60;careful&#62; change &#38; more"),
        "the user's text is kept"
    );
    assert!(stale.body.contains("value=\"Shared (mine)\""));
    assert!(
        stale.body.contains("their change"),
        "the saved version is shown"
    );
    assert!(
        stale.body.contains("name=\"version\" value=\"2\""),
        "a second save is a deliberate overwrite"
    );
    let now = stored(&env, doc.id).await.expect("doc");
    assert_eq!(
        (now.content.as_str(), now.version),
        ("their change", 2),
        "nothing overwritten"
    );

    // Saving again from that form replaces the saved version knowingly.
    let again = submit(
        &env,
        &b,
        &format!("/documents/{}", doc.id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &csrf_of(&stale)),
            ("version", "2"),
            ("title", "Shared (mine)"),
            ("content", mine),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let now = stored(&env, doc.id).await.expect("doc");
    assert_eq!((now.content.as_str(), now.version), (mine, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_a_valid_csrf_token_or_a_same_origin_signal_change_nothing() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;
    let (mut bob, _) = signed_in(&env, BOB).await;
    let doc = create_in_store(&env, &alice, "Keep me", "unchanged").await;
    let page = b.get(&format!("{}/documents/new", env.app)).await;
    let good = csrf_of(&page);
    let bobs = csrf_of(&bob.get(&format!("{}/documents/new", env.app)).await);
    assert_ne!(good, bobs, "tokens are per session");
    let update_path = format!("/documents/{}", doc.id.0);
    let delete_path = format!("/documents/{}/delete", doc.id.0);

    let tampered = {
        let mut t = good.clone();
        let last = t.pop().expect("non-empty");
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    // Bad tokens with a same-origin signal.
    for (what, token) in [
        ("missing", None),
        ("empty", Some("")),
        ("tampered", Some(tampered.as_str())),
        ("another session's", Some(bobs.as_str())),
    ] {
        for path in ["/documents", update_path.as_str(), delete_path.as_str()] {
            let mut form = vec![
                ("title", "Hijacked"),
                ("content", "pwned"),
                ("version", "1"),
            ];
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let p = submit(&env, &b, path, &same_origin(&env), &form).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{what} token on {path}");
            assert!(p.body.contains("nothing was changed"), "{}", p.body);
        }
    }
    // A good token without a same-origin signal, or from another site.
    let cross: Vec<Vec<(&'static str, String)>> = vec![
        vec![("sec-fetch-site", "cross-site".to_owned())],
        vec![
            ("sec-fetch-site", "cross-site".to_owned()),
            ("origin", env.app.clone()),
        ],
        vec![("sec-fetch-site", "same-site".to_owned())],
        vec![("origin", "https://evil.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![],
    ];
    for headers in &cross {
        for path in ["/documents", update_path.as_str(), delete_path.as_str()] {
            let p = submit(
                &env,
                &b,
                path,
                headers,
                &[
                    ("csrf_token", &good),
                    ("title", "Hijacked"),
                    ("content", "pwned"),
                    ("version", "1"),
                ],
            )
            .await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{headers:?} on {path}");
        }
    }
    // The harness's plain form POST sends no origin signal either.
    let p = b
        .post_form(
            &format!("{}/documents", env.app),
            &[("csrf_token", &good), ("title", "x"), ("content", "y")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    let docs = all_documents(&env, &alice).await;
    assert_eq!(docs.len(), 1, "nothing created");
    assert_eq!(
        (
            docs[0].title.as_str(),
            docs[0].content.as_str(),
            docs[0].version
        ),
        ("Keep me", "unchanged", 1),
        "nothing changed or deleted"
    );

    // A browser without Fetch Metadata but with our Origin is accepted.
    let p = submit(
        &env,
        &b,
        "/documents",
        &[("origin", env.app.clone())],
        &[("csrf_token", &good), ("title", "Legit"), ("content", "ok")],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(all_documents(&env, &alice).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_document_cannot_be_viewed_edited_or_deleted() {
    let env = Env::start().await;
    let (_alice_browser, alice) = signed_in(&env, ALICE).await;
    let (mut bob, _) = signed_in(&env, BOB).await;
    let doc = create_in_store(&env, &alice, "Alice's diary", "dear diary, the secret").await;
    let bobs = csrf_of(&bob.get(&format!("{}/documents/new", env.app)).await);

    for path in [
        format!("/documents/{}", doc.id.0),
        format!("/documents/{}/edit", doc.id.0),
    ] {
        let p = bob.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!p.body.contains("the secret"), "{path} leaks the content");
        assert!(
            !p.body.contains("Alice&#39;s diary"),
            "{path} leaks the title"
        );
    }
    let p = submit(
        &env,
        &bob,
        &format!("/documents/{}", doc.id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &bobs),
            ("version", "1"),
            ("title", "Bob was here"),
            ("content", "overwritten"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    let p = submit(
        &env,
        &bob,
        &format!("/documents/{}/delete", doc.id.0),
        &same_origin(&env),
        &[("csrf_token", &bobs)],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    let now = stored(&env, doc.id).await.expect("still there");
    assert_eq!(
        (now.title.as_str(), now.content.as_str(), now.version),
        ("Alice's diary", "dear diary, the secret", 1)
    );
    let bob_list = bob.get(&format!("{}/documents", env.app)).await;
    assert!(!bob_list.body.contains(&doc.id.0.to_string()));

    // Unknown and malformed ids are 404 pages.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/documents/{unknown}"),
        format!("/documents/{unknown}/edit"),
        "/documents/not-a-uuid".to_owned(),
        "/documents/not-a-uuid/edit".to_owned(),
    ] {
        let p = bob.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
    }
    let p = submit(
        &env,
        &bob,
        &format!("/documents/{unknown}/delete"),
        &same_origin(&env),
        &[("csrf_token", &bobs)],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_show_the_form_again_with_422_and_keep_the_input() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;
    let csrf = csrf_of(&b.get(&format!("{}/documents/new", env.app)).await);
    let long_title = "t".repeat(201);
    let max_title = "m".repeat(200);
    let huge = "a".repeat(1024 * 1024 + 1);
    let kept = "keep <this> text";
    for (what, title, content, field, message) in [
        (
            "empty title",
            "   ",
            kept,
            "title-error",
            "The title must not be empty.",
        ),
        (
            "201-char title",
            long_title.as_str(),
            kept,
            "title-error",
            "The title must be at most 200 characters.",
        ),
        (
            "content over 1 MiB",
            "Big",
            huge.as_str(),
            "content-error",
            "The content is too long",
        ),
    ] {
        let p = submit(
            &env,
            &b,
            "/documents",
            &same_origin(&env),
            &[
                ("csrf_token", &csrf),
                ("title", title),
                ("content", content),
            ],
        )
        .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let error = between(&p.body, &format!("data-testid=\"{field}\">"), "</p>")
            .unwrap_or_else(|| panic!("{what}: no {field}"));
        assert!(error.contains(message), "{what}: {error}");
        assert!(
            p.body.contains(&format!("value=\"{}\"", title)),
            "{what}: title kept"
        );
        if content == kept {
            assert!(
                p.body.contains("keep &#60;this&#62; text</textarea>"),
                "{what}: content kept"
            );
        } else {
            assert!(p.body.contains(&huge), "{what}: content kept");
        }
    }
    assert!(all_documents(&env, &alice).await.is_empty(), "none created");

    // 200 characters is fine.
    let p = submit(
        &env,
        &b,
        "/documents",
        &same_origin(&env),
        &[
            ("csrf_token", &csrf),
            ("title", &max_title),
            ("content", ""),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);

    // The same on edit, and the document is not touched.
    let doc = create_in_store(&env, &alice, "Title", "body").await;
    let p = submit(
        &env,
        &b,
        &format!("/documents/{}", doc.id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &csrf),
            ("version", "1"),
            ("title", &long_title),
            ("content", "new body"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("new body</textarea>"));
    assert!(p.body.contains("name=\"version\" value=\"1\""));
    let now = stored(&env, doc.id).await.expect("doc");
    assert_eq!(
        (now.title.as_str(), now.content.as_str(), now.version),
        ("Title", "body", 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_is_newest_first_with_an_older_link() {
    let env = Env::start().await;
    let (mut b, alice) = signed_in(&env, ALICE).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            create_in_store(&env, &alice, &format!("Doc {i:02}"), "x")
                .await
                .id,
        );
    }
    let first = b.get(&format!("{}/documents", env.app)).await;
    assert_eq!(first.status, StatusCode::OK);
    let links = |p: &Page| -> Vec<String> {
        p.body
            .split("<li><a href=\"/documents/")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect()
    };
    let page1 = links(&first);
    let want1: Vec<String> = ids.iter().rev().take(20).map(|d| d.0.to_string()).collect();
    assert_eq!(page1, want1, "the 20 newest, newest first");
    let older = between(&first.body, "<a href=\"/documents?cursor=", "\"").expect("an Older link");
    assert!(first.body.contains("data-testid=\"older\""));
    let older = older.replace("&#38;", "&");
    let second = b
        .get(&format!("{}/documents?cursor={older}", env.app))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    let want2: Vec<String> = ids.iter().rev().skip(20).map(|d| d.0.to_string()).collect();
    assert_eq!(links(&second), want2, "the 5 oldest");
    assert!(!second.body.contains("data-testid=\"older\""), "last page");

    let bad = b
        .get(&format!("{}/documents?cursor=garbage%3C%3E", env.app))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.body.contains("garbage<>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_document_pages_send_a_signed_out_browser_to_log_in() {
    let env = Env::start().await;
    let mut anon = Browser::new();
    let id = uuid::Uuid::new_v4();
    for (path, want) in [
        ("/documents".to_owned(), "%2Fdocuments".to_owned()),
        ("/documents/new".to_owned(), "%2Fdocuments%2Fnew".to_owned()),
        (
            format!("/documents/{id}/edit"),
            format!("%2Fdocuments%2F{id}%2Fedit"),
        ),
        ("/settings".to_owned(), "%2Fsettings".to_owned()),
    ] {
        let p = anon.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::FOUND, "{path}");
        assert_eq!(
            p.location.as_deref(),
            Some(format!("{}/auth/login?returnTo={want}", env.app).as_str()),
            "{path}"
        );
    }
    let p = submit(
        &env,
        &anon,
        "/documents",
        &same_origin(&env),
        &[("title", "x"), ("content", "y")],
    )
    .await;
    assert_eq!(p.status, StatusCode::FOUND);
    assert!(
        p.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/auth/login?returnTo="))
    );
}

/// A session planted with the M2M client's token for the API, which grants `read:documents`
/// only: the session may read but not write or delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_access_token_decides_what_it_may_do() {
    let mut secret: Option<Arc<SecretString>> = None;
    let env = Env::start_with(|state| secret = Some(state.cookie_secret.clone())).await;
    let secret = secret.expect("the cookie secret");
    let token = m2m_token(&env, "https://api.pymd.io", Some("read:documents")).await;
    let sub = {
        let payload = token.split('.').nth(1).expect("JWT");
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url");
        let v: Value = serde_json::from_slice(&bytes).expect("claims");
        assert_eq!(v["permissions"], serde_json::json!(["read:documents"]));
        v["sub"].as_str().expect("sub").to_owned()
    };
    let user = env.store.ensure_user(&sub).await.expect("user");
    let raw = [77u8; 32];
    let hash = Sha256::digest(raw).to_vec();
    let sealer = pymd_server::web::crypto::TokenSealer::new(&secret).expect("sealer");
    let now = pymd_domain::now();
    env.store
        .create_session(&NewSession {
            id_hash: hash.clone(),
            user_id: user.id,
            subject: sub.clone(),
            idp_sid: None,
            access_token: sealer.seal(&hash, token.as_bytes()).expect("seal"),
            refresh_token: None,
            id_token: None,
            access_token_expires_at: now + time::Duration::hours(1),
            created_at: now,
            idle_timeout_secs: 86_400,
            expires_at: now + time::Duration::days(1),
        })
        .await
        .expect("plant the session");
    let mut b = Browser::new();
    b.set(
        "pymd_session",
        &base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw),
    );
    let doc = create_in_store(&env, &user, "Readable", "*read only*").await;

    let list = b.get(&format!("{}/documents", env.app)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(!list.body.contains("data-testid=\"new-document\""));
    let view = b.get(&format!("{}/documents/{}", env.app, doc.id.0)).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("<em>read only</em>"));
    assert!(!view.body.contains("data-testid=\"edit\""));
    assert!(!view.body.contains("data-testid=\"delete\""));
    assert!(!view.body.contains("csrf_token"), "no forms to show");
    // The token its forms would carry: the permission, not the CSRF check, refuses below.
    let csrf = pymd_server::web::forms::token_for(&secret, &hash).expect("csrf token");

    for path in [
        "/documents/new".to_owned(),
        format!("/documents/{}/edit", doc.id.0),
    ] {
        let p = b.get(&format!("{}{path}", env.app)).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(p.body.contains("write:documents"), "{path}: {}", p.body);
    }
    let p = submit(
        &env,
        &b,
        "/documents",
        &same_origin(&env),
        &[("csrf_token", &csrf), ("title", "New"), ("content", "x")],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(
        p.body.contains("write:documents"),
        "refused for the permission: {}",
        p.body
    );
    let p = submit(
        &env,
        &b,
        &format!("/documents/{}", doc.id.0),
        &same_origin(&env),
        &[
            ("csrf_token", &csrf),
            ("version", "1"),
            ("title", "Changed"),
            ("content", "x"),
        ],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = submit(
        &env,
        &b,
        &format!("/documents/{}/delete", doc.id.0),
        &same_origin(&env),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("delete:documents"));
    let docs = all_documents(&env, &user).await;
    assert_eq!(docs.len(), 1);
    assert_eq!((docs[0].title.as_str(), docs[0].version), ("Readable", 1));
    let p = b.get(&format!("{}/settings", env.app)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no read:profile");
}
