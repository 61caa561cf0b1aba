//! The README's first command, end to end: the real `pymd serve` binary on a fresh data
//! directory with no IdP configured (so it starts the dev tenant in-process), both listeners on
//! port 0. A small browser — cookies kept per host, as browsers do, so `localhost` and
//! `127.0.0.1` do not share them — takes the addresses from the start banner, signs in on the
//! tenant's login page with the demo login the banner prints, writes a document and logs out.

use pymd_test_support::{Browser, Resp as Page, between};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use url::Url;

use super::process::{fresh_dir, listening_after, pymd, serve_on_loopback, url_after};

/// Where a redirect points, resolved against the page it came from.
fn location(page: &Page) -> Option<Url> {
    page.next_url().and_then(|l| Url::parse(&l).ok())
}

/// The browser driven the way a user would: a page at a time, forms submitted with the page's
/// origin, redirects followed one hop at a time so every hop is seen.
trait Navigate {
    async fn open(&mut self, url: &Url) -> Page;
    async fn submit(&mut self, from: &Url, form: &Form, fields: &[(&str, &str)]) -> Page;
    async fn follow(&mut self, first: Page) -> Vec<Page>;
    async fn navigate(&mut self, url: &Url) -> Vec<Page>;
}

impl Navigate for Browser {
    async fn open(&mut self, url: &Url) -> Page {
        let req = self.http.get(url.clone());
        self.send(req, url).await
    }

    /// Submits a form as a browser does: a POST carrying the page's origin.
    async fn submit(&mut self, from: &Url, form: &Form, fields: &[(&str, &str)]) -> Page {
        let action = from.join(&form.action).expect("form action");
        let mut body: Vec<(&str, &str)> = form
            .hidden
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        body.extend_from_slice(fields);
        let req = self
            .http
            .post(action.clone())
            .header(ORIGIN, from.origin().ascii_serialization())
            .form(&body);
        self.send(req, &action).await
    }

    /// Follows redirects from `first` (at most 10 hops); returns every page, the last one not a
    /// redirect.
    async fn follow(&mut self, first: Page) -> Vec<Page> {
        let mut hops = vec![first];
        while let Some(next) = hops
            .last()
            .filter(|p| p.status.is_redirection())
            .and_then(location)
        {
            assert!(hops.len() <= 10, "a redirect loop: {:?}", urls(&hops));
            let page = self.open(&next).await;
            hops.push(page);
        }
        hops
    }

    async fn navigate(&mut self, url: &Url) -> Vec<Page> {
        let first = self.open(url).await;
        self.follow(first).await
    }
}

fn urls(hops: &[Page]) -> Vec<String> {
    hops.iter().map(|p| p.url.to_string()).collect()
}

fn last(hops: &[Page]) -> &Page {
    hops.last().expect("at least one page")
}

/// A form's action and its hidden fields, read from the page's HTML.
#[derive(Debug)]
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    between(tag, &format!(" {name}=\""), "\"").map(|v| unescape(&v))
}

/// The first `<form method="post">` whose action contains `action_part`.
fn form(html: &str, action_part: &str) -> Form {
    for chunk in html.split("<form").skip(1) {
        let Some(end) = chunk.find("</form>") else {
            continue;
        };
        let chunk = &chunk[..end];
        let open = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        let Some(action) = attribute(open, "action") else {
            continue;
        };
        if !action.contains(action_part) || attribute(open, "method").as_deref() != Some("post") {
            continue;
        }
        let hidden = chunk
            .split("<input")
            .skip(1)
            .map(|input| &input[..input.find('>').unwrap_or(input.len())])
            .filter(|input| attribute(input, "type").as_deref() == Some("hidden"))
            .filter_map(|input| Some((attribute(input, "name")?, attribute(input, "value")?)))
            .collect();
        return Form { action, hidden };
    }
    panic!("no POST form to {action_part} in:\n{html}");
}

/// The `href` of the link marked `data-testid="{id}"`.
fn link(html: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in:\n{html}"));
    let tag_start = html[..at].rfind("<a ").expect("the marker is on a link");
    attribute(&html[tag_start..at + marker.len()], "href").expect("the link has an href")
}

/// `pymd token` against the running serve: PYMD_DEV_TENANT_BIND still says port 0, so the
/// address comes from what serve recorded in the data directory.
pub async fn token_for(dir: &std::path::Path, user: &str) -> String {
    let out = pymd(dir)
        .args(["token", "--user", user])
        .env("PYMD_DATA_DIR", dir)
        .env("PYMD_DEV_TENANT_BIND", "127.0.0.1:0")
        .output()
        .await
        .expect("run pymd token");
    assert!(
        out.status.success(),
        "pymd token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_command_signs_a_person_in_lets_them_write_and_signs_them_out() {
    // A fresh machine: no AUTH0_* at all, an empty data directory.
    let dir = fresh_dir("first-run");
    let mut serve = serve_on_loopback(&dir, &[]);

    // The banner: where the app and the tenant really are, and the demo logins.
    let app = serve.wait_for("the app's URL", url_after("app:")).await;
    let app_addr = serve
        .wait_for("the app's address", listening_after("app:"))
        .await;
    let tenant = serve
        .wait_for("the dev tenant's URL", url_after("dev tenant:"))
        .await;
    let tenant_addr = serve
        .wait_for("the dev tenant's address", listening_after("dev tenant:"))
        .await;
    serve
        .wait_for("the end of the banner", |l| {
            l.contains("a token for curl").then_some(())
        })
        .await;
    let banner = serve.stdout().join("\n");
    assert_ne!(app_addr.port(), 0, "{banner}");
    assert_ne!(tenant_addr.port(), 0, "{banner}");
    assert_eq!(
        app.port(),
        Some(app_addr.port()),
        "the app URL names the port it listens on: {banner}"
    );
    assert_eq!(app.path(), "/", "{banner}");
    assert_eq!(
        tenant.as_str(),
        format!("http://{tenant_addr}/"),
        "the tenant URL is where it listens: {banner}"
    );
    for login in [
        ("alice@example.com", "Alice-Dev-2026!"),
        ("admin@example.com", "Admin-Dev-2026!"),
    ] {
        assert!(
            serve
                .stdout()
                .iter()
                .any(|l| l.contains(login.0) && l.contains(login.1)),
            "the banner names the demo login {}: {banner}",
            login.0
        );
    }
    // Only the demo passwords: no client secret, internal token or cookie secret.
    let secrets: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("secrets.json")).expect("dev secrets were created"),
    )
    .expect("secrets JSON");
    for (_, secret) in secrets.as_object().expect("an object") {
        let secret = secret.as_str().expect("a string");
        assert!(!banner.contains(secret), "a secret is in the banner");
    }
    assert!(!banner.contains("dev-web-secret-") && !banner.contains("dev-m2m-secret-"));

    let mut b = Browser::new();

    // The landing page offers Log in.
    let landing = b.open(&app).await;
    assert_eq!(landing.status, StatusCode::OK, "{}", landing.text);
    let login = app.join(&link(&landing.text, "login")).expect("login link");

    // Log in → the tenant's /authorize → its login page.
    let hops = b.navigate(&login).await;
    assert!(
        hops.iter()
            .any(|p| p.url.as_str().starts_with(&format!("{tenant}authorize?"))),
        "through the tenant's /authorize: {:?}",
        urls(&hops)
    );
    let login_page = last(&hops);
    assert_eq!(login_page.status, StatusCode::OK, "{}", login_page.text);
    assert_eq!(
        login_page.url.origin(),
        tenant.origin(),
        "{:?}",
        urls(&hops)
    );
    let sign_in = form(&login_page.text, "/u/login");
    assert!(
        sign_in.hidden.iter().any(|(n, _)| n == "csrf_token"),
        "{sign_in:?}"
    );

    // A wrong password keeps the person on the login page.
    let refused = b
        .submit(
            &login_page.url,
            &sign_in,
            &[
                ("email", "alice@example.com"),
                ("password", "not-her-password"),
            ],
        )
        .await;
    assert!(
        !refused.status.is_redirection(),
        "a wrong password does not sign in: {:?}",
        refused.location()
    );

    // The banner's demo login, on the form the tenant showed again → /auth/callback → the
    // dashboard greets her by name.
    let login_page_url = refused.url.clone();
    let sign_in = form(&refused.text, "/u/login");
    let submitted = b
        .submit(
            &login_page_url,
            &sign_in,
            &[
                ("email", "alice@example.com"),
                ("password", "Alice-Dev-2026!"),
            ],
        )
        .await;
    let hops = b.follow(submitted).await;
    assert!(
        hops.iter().any(|p| p
            .url
            .as_str()
            .starts_with(app.join("auth/callback?").expect("url").as_str())),
        "back at the app's callback: {:?}",
        urls(&hops)
    );
    let dashboard = last(&hops);
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.text);
    assert_eq!(dashboard.url, app.join("dashboard").expect("url"));
    assert_eq!(
        between(&dashboard.text, "data-testid=\"user-name\">", "<").as_deref(),
        Some("Alice Example"),
        "{}",
        dashboard.text
    );
    assert!(
        b.jar.has(&app, "pymd_session"),
        "a session cookie on the app's host"
    );

    // Write a document through the web form.
    let new_url = app
        .join(&link(&dashboard.text, "new-document"))
        .expect("url");
    let editor = b.open(&new_url).await;
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.text);
    let doc_form = form(&editor.text, "/documents");
    let title = format!("First run {}", uuid::Uuid::new_v4().simple());
    let fields = [
        ("title", title.as_str()),
        (
            "content",
            "# Hello\n\nWritten *right after* the first start.",
        ),
    ];

    // From another site the same form changes nothing (the same-origin check).
    let action = new_url.join(&doc_form.action).expect("action");
    let body: Vec<(&str, &str)> = doc_form
        .hidden
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(fields.iter().copied())
        .collect();
    let cross_site = b
        .http
        .post(action.clone())
        .header(ORIGIN, "http://evil.example")
        .header(
            COOKIE,
            b.jar.header_for(&action).expect("the session cookie"),
        )
        .form(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let saved = b.submit(&new_url, &doc_form, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let doc_url = location(&saved).expect("to the new document");
    let doc = b.open(&doc_url).await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.text);
    assert!(doc.text.contains(&title), "{}", doc.text);
    assert!(
        doc.text.contains("<em>right after</em>"),
        "the Markdown is rendered: {}",
        doc.text
    );

    // The API sees it with the session cookie, and with a `pymd token` for the same person.
    let api = app.join("api/v1/documents").expect("url");
    let listed = b.open(&api).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let listed: serde_json::Value = serde_json::from_str(&listed.text).expect("JSON");
    assert_eq!(listed["documents"][0]["title"], title.as_str(), "{listed}");
    let token = token_for(&dir, "alice@example.com").await;
    let by_token: serde_json::Value = b
        .http
        .get(api.clone())
        .bearer_auth(&token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        by_token["documents"][0]["title"],
        title.as_str(),
        "{by_token}"
    );

    // Log out: the session ends here and at the tenant, and the person lands back on the app.
    let dashboard = b.open(&app.join("dashboard").expect("url")).await;
    let logout = app.join(&link(&dashboard.text, "logout")).expect("url");
    // This client sends no Fetch Metadata, so PyMD asks first; confirming posts the form.
    let confirm = b.open(&logout).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    let form = form(&confirm.text, "/auth/logout");
    let first = b.submit(&logout, &form, &[]).await;
    let hops = b.follow(first).await;
    assert!(
        hops.iter().any(|p| p.url.origin() == tenant.origin()),
        "logged out at the tenant too: {:?}",
        urls(&hops)
    );
    let back = last(&hops);
    assert_eq!(back.url.origin(), app.origin(), "{:?}", urls(&hops));
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert!(back.text.contains("data-testid=\"login\""), "{}", back.text);
    assert!(
        !b.jar.has(&app, "pymd_session"),
        "the session cookie is gone"
    );

    // The dashboard asks for a login again…
    let again = b.open(&app.join("dashboard").expect("url")).await;
    assert_eq!(again.status, StatusCode::FOUND, "{}", again.text);
    let to = location(&again).expect("a redirect");
    assert_eq!(to.path(), "/auth/login", "{to}");
    assert_eq!(to.query(), Some("returnTo=%2Fdashboard"), "{to}");
    // …and the tenant asks for the password again (its session ended as well).
    let hops = b.follow(again).await;
    let page = last(&hops);
    assert_eq!(page.url.origin(), tenant.origin(), "{:?}", urls(&hops));
    assert!(page.text.contains("name=\"password\""), "{}", page.text);

    let out = serve.stop().await;
    assert!(
        !out.stdout.contains(&token) && !out.stderr.contains(&token),
        "the access token reached the output"
    );
    let _ = std::fs::remove_dir_all(dir);
}
