//! Markdown to safe HTML. pulldown-cmark passes raw HTML through, so every rendering goes through
//! ammonia's allow-list (no script, no event handlers, no `javascript:` URLs, no SVG or MathML)
//! before any page or API response carries it: a document can never run script in a reader's page.

use pulldown_cmark::{Options, Parser, html};

/// Renders Markdown (CommonMark with tables, strikethrough, task lists and footnotes) to HTML that
/// is safe to embed in a page.
pub fn render_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_FOOTNOTES);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render_html;

    #[test]
    fn markdown_becomes_html() {
        let html = render_html("# Title\n\n*hi* and **there**");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>hi</em>"), "{html}");
    }

    #[test]
    fn script_tags_and_event_handlers_are_removed() {
        let html = render_html(
            "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">x</a>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn markdown_links_cannot_carry_javascript_urls() {
        let html =
            render_html("[click](javascript:alert(1)) [data](data:text/html,<script>x</script>)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
    }

    #[test]
    fn svg_and_iframes_are_removed() {
        let html = render_html("<svg onload=alert(1)></svg><iframe src=//evil></iframe>");
        assert!(!html.contains("<svg"), "{html}");
        assert!(!html.contains("<iframe"), "{html}");
    }

    #[test]
    fn links_get_noopener() {
        let html = render_html("[a](https://example.com)");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }
}
