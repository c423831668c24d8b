//! Articles are written in Markdown and rendered safely: raw HTML in the
//! source is shown as text, links and images only to harmless addresses.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use sportello_core::kb::is_safe_link;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// The article's HTML: raw HTML escaped, unsafe link targets dropped,
/// images shown as their description.
pub fn to_html(source: &str) -> String {
    let mut in_image = 0usize;
    let events = Parser::new_ext(source, options()).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if is_safe_link(&dest_url) {
                dest_url
            } else {
                CowStr::from("#")
            };
            Some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        // Images could load from anywhere: only their description is kept.
        Event::Start(Tag::Image { .. }) => {
            in_image += 1;
            None
        }
        Event::End(TagEnd::Image) => {
            in_image = in_image.saturating_sub(1);
            None
        }
        other => Some(other),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// The article's plain text (for the search index and snippets).
pub fn to_text(source: &str) -> String {
    let mut out = String::new();
    for event in Parser::new_ext(source, options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            // Spaces are collapsed below.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell,
            ) => out.push(' '),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered() {
        let html =
            to_html("## Orari\n\nDal **lunedì** al venerdì, [qui](/assistenza).\n\n- uno\n- due");
        assert!(html.contains("<h2>Orari</h2>"), "{html}");
        assert!(html.contains("<strong>lunedì</strong>"));
        assert!(html.contains("<a href=\"/assistenza\">qui</a>"));
        assert!(html.contains("<li>uno</li>"));
    }

    #[test]
    fn no_script_gets_through() {
        let source = "<script>alert(1)</script>\n\nTesto <img src=x onerror=alert(2)> \
                      [clic](javascript:alert(3)) ![x](https://evil.example/t.png) \
                      <a href=\"javascript:alert(4)\">a</a>";
        let html = to_html(source);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<a href=\"javascript"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<a href=\"#\">clic</a>"), "{html}");
    }

    #[test]
    fn plain_text_for_the_index() {
        assert_eq!(
            to_text("# Titolo\n\nUna *frase* con `codice`.\n\n- punto"),
            "Titolo Una frase con codice. punto"
        );
    }
}
