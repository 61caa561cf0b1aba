//! Markdown to safe HTML. pulldown-cmark passes raw HTML through, so every rendering goes through
//! ammonia's allow-list (no script, no event handlers, no `javascript:` URLs, no SVG or MathML)
//! before any page or API response carries it: a document can never run script in a reader's page.

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};

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

/// The first words of a Markdown text as plain text for a list: the text and inline code of its
/// paragraphs, headings and items, whitespace collapsed to single spaces, no markup and no HTML;
/// at most `max_chars` characters, ending in `…` when cut.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let mut words = Words::new(max_chars);
    for event in Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    ) {
        match event {
            Event::Text(t) | Event::Code(t) => words.push_text(&t),
            // The end of an inline span is no word boundary; the end of a block is.
            Event::End(
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image,
            ) => {}
            Event::SoftBreak | Event::HardBreak | Event::End(_) => words.push_text(" "),
            _ => {}
        }
        if words.is_full() {
            break;
        }
    }
    words.finish()
}

/// Plain text collected with its whitespace collapsed as it arrives, counting characters as it
/// goes, so a long text costs no more than the `max_chars` it keeps.
struct Words {
    text: String,
    chars: usize,
    max_chars: usize,
    /// A word ended: the next one starts after one space.
    pending_space: bool,
}

impl Words {
    fn new(max_chars: usize) -> Words {
        Words {
            text: String::with_capacity(max_chars + 8),
            chars: 0,
            max_chars,
            pending_space: false,
        }
    }

    fn push_text(&mut self, t: &str) {
        for c in t.chars() {
            if self.is_full() {
                return;
            }
            if c.is_whitespace() || c.is_control() {
                self.pending_space = self.chars > 0;
                continue;
            }
            if self.pending_space {
                self.text.push(' ');
                self.chars += 1;
                self.pending_space = false;
            }
            self.text.push(c);
            self.chars += 1;
        }
    }

    /// One character past the limit is enough to know the text must be cut.
    fn is_full(&self) -> bool {
        self.chars > self.max_chars
    }

    fn finish(self) -> String {
        if self.chars <= self.max_chars {
            return self.text;
        }
        let mut cut: String = self
            .text
            .chars()
            .take(self.max_chars.saturating_sub(1))
            .collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::{excerpt, render_html};

    #[test]
    fn an_excerpt_is_plain_text_without_markup_or_html() {
        let md = "# Title\n\nSome *emphasis*, `code` and a [link](https://x.example).\n\n<script>alert(1)</script>\n\n- one\n- two";
        assert_eq!(
            excerpt(md, 200),
            "Title Some emphasis, code and a link. one two"
        );
        assert_eq!(excerpt("", 200), "");
        assert_eq!(excerpt("   \n\n  ", 200), "");
    }

    #[test]
    fn a_long_excerpt_is_cut_at_a_character_boundary_with_an_ellipsis() {
        let md = "é".repeat(500);
        let e = excerpt(&md, 10);
        assert_eq!(e.chars().count(), 10);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("exactly10!", 10), "exactly10!");
    }

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
