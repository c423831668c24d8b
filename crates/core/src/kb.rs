//! Rules of the assistance desk's knowledge base (FAQ): what an article
//! must contain, its address (slug), how a visitor's query is cleaned before
//! it reaches the search engine, and how a highlighted snippet becomes safe
//! HTML. No search engine and no Markdown here: those live in the app crate.

use std::ops::Range;

/// Longest question, in characters.
pub const MAX_QUESTION: usize = 300;
/// Longest answer (Markdown source), in characters.
pub const MAX_ANSWER: usize = 20_000;
/// Longest slug, in characters.
pub const MAX_SLUG: usize = 80;
/// Longest query kept, in characters, and most words kept.
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_QUERY_WORDS: usize = 24;

/// An article as written by the staff, before it is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArticleText {
    pub slug: String,
    pub question_it: String,
    pub answer_it: String,
    pub question_en: String,
    pub answer_en: String,
}

impl ArticleText {
    /// The text trimmed and checked; the slug made from the Italian question
    /// when left empty. Errors name the field (the form's input names).
    pub fn validate(&self) -> Result<ArticleText, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut out = ArticleText {
            slug: self.slug.trim().to_lowercase(),
            question_it: self.question_it.trim().to_string(),
            answer_it: self.answer_it.trim().to_string(),
            question_en: self.question_en.trim().to_string(),
            answer_en: self.answer_en.trim().to_string(),
        };
        let mut check = |field: &str, value: &str, required: bool, max: usize| {
            let n = value.chars().count();
            if required && n == 0 {
                errors.push((field.to_string(), "è obbligatorio".to_string()));
            } else if n > max {
                errors.push((
                    field.to_string(),
                    format!("al massimo {max} caratteri (ne ha {n})"),
                ));
            } else if value
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                errors.push((
                    field.to_string(),
                    "contiene caratteri non ammessi".to_string(),
                ));
            }
        };
        check("question_it", &out.question_it, true, MAX_QUESTION);
        check("answer_it", &out.answer_it, true, MAX_ANSWER);
        check("question_en", &out.question_en, false, MAX_QUESTION);
        check("answer_en", &out.answer_en, false, MAX_ANSWER);
        if out.question_en.is_empty() != out.answer_en.is_empty() {
            let field = if out.question_en.is_empty() {
                "question_en"
            } else {
                "answer_en"
            };
            errors.push((
                field.to_string(),
                "la versione inglese richiede sia la domanda sia la risposta".to_string(),
            ));
        }
        if out.question_it.contains('\n') {
            errors.push((
                "question_it".to_string(),
                "la domanda sta su una sola riga".to_string(),
            ));
        }
        if out.slug.is_empty() {
            out.slug = slugify(&out.question_it);
        } else if let Err(message) = check_slug(&out.slug) {
            errors.push(("slug".to_string(), message));
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// A slug: lower-case ASCII letters, digits and single hyphens, not at the ends.
pub fn check_slug(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("è obbligatorio".into());
    }
    if slug.len() > MAX_SLUG {
        return Err(format!("al massimo {MAX_SLUG} caratteri"));
    }
    let ok_chars = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_chars || slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err(
            "solo lettere minuscole senza accenti, cifre e trattini singoli (es. password-scaduta)"
                .into(),
        );
    }
    Ok(())
}

/// The slug of a question: accents dropped, words joined by hyphens,
/// cut at a word boundary within [`MAX_SLUG`].
pub fn slugify(text: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars().map(fold_char) {
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut out = String::new();
    for w in words {
        let extra = if out.is_empty() { w.len() } else { w.len() + 1 };
        if out.len() + extra > MAX_SLUG {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    if out.is_empty() {
        "articolo".into()
    } else {
        out
    }
}

/// The ASCII letter of the accented letters of Italian (and a few neighbours).
fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        c => c,
    }
}

/// A visitor's query made safe for the search engine's query parser: only
/// letters, digits and single spaces survive (punctuation, quotes and the
/// parser's operators become spaces), at most [`MAX_QUERY_WORDS`] words and
/// [`MAX_QUERY_CHARS`] characters. Empty means "nothing to search".
pub fn normalize_query(q: &str) -> String {
    let cleaned: String = q
        .chars()
        .take(MAX_QUERY_CHARS * 2)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut out = String::new();
    for word in cleaned.split_whitespace().take(MAX_QUERY_WORDS) {
        let extra = word.chars().count() + usize::from(!out.is_empty());
        if out.chars().count() + extra > MAX_QUERY_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A snippet as safe HTML: the fragment escaped, the highlighted byte ranges
/// wrapped in `<mark>`. Ranges out of bounds, overlapping or not on character
/// boundaries are ignored, so nothing the index returns can open a tag.
pub fn snippet_html(fragment: &str, highlighted: &[Range<usize>]) -> String {
    let mut ranges: Vec<Range<usize>> = highlighted
        .iter()
        .filter(|r| {
            r.start < r.end
                && r.end <= fragment.len()
                && fragment.is_char_boundary(r.start)
                && fragment.is_char_boundary(r.end)
        })
        .cloned()
        .collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out = String::new();
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue;
        }
        out.push_str(&escape_html(&fragment[at..r.start]));
        out.push_str("<mark>");
        out.push_str(&escape_html(&fragment[r.clone()]));
        out.push_str("</mark>");
        at = r.end;
    }
    out.push_str(&escape_html(&fragment[at..]));
    out
}

/// A link target an article may carry: the portal's own pages, anchors,
/// web addresses, mail and phone. Anything else (`javascript:`, `data:`, …)
/// is refused by the Markdown renderer.
pub fn is_safe_link(url: &str) -> bool {
    let u = url.trim();
    if u.starts_with('/') && !u.starts_with("//") || u.starts_with('#') {
        return true;
    }
    let lower = u.to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(q: &str, a: &str) -> ArticleText {
        ArticleText {
            question_it: q.into(),
            answer_it: a.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_article_gets_its_slug_from_the_question() {
        let v = text("  Perché la mia password è scaduta?  ", "Dopo 90 giorni.")
            .validate()
            .unwrap();
        assert_eq!(v.slug, "perche-la-mia-password-e-scaduta");
        assert_eq!(v.question_it, "Perché la mia password è scaduta?");
    }

    #[test]
    fn each_bad_field_is_named() {
        let errors = ArticleText {
            slug: "Non Va!".into(),
            question_it: String::new(),
            answer_it: "x".repeat(MAX_ANSWER + 1),
            question_en: "Only the question".into(),
            answer_en: String::new(),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["question_it", "answer_it", "answer_en", "slug"]);
        assert!(errors[0].1.contains("obbligatorio"));
        assert!(errors[1].1.contains("20000"));
    }

    #[test]
    fn slugs() {
        assert!(check_slug("password-scaduta-90-giorni").is_ok());
        for bad in ["", "-a", "a-", "a--b", "Maiuscole", "spazi no", "àccento"] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
        assert_eq!(
            slugify("L'amministratore locale: chi è?"),
            "l-amministratore-locale-chi-e"
        );
        assert_eq!(slugify("!!!"), "articolo");
        let long = slugify(&"parola ".repeat(40));
        assert!(long.len() <= MAX_SLUG && check_slug(&long).is_ok());
    }

    #[test]
    fn queries_lose_the_parser_syntax_and_keep_the_words() {
        assert_eq!(
            normalize_query("  password   scaduta?? "),
            "password scaduta"
        );
        assert_eq!(
            normalize_query("title:(a OR b) +\"c\" -d^3 *"),
            "title a OR b c d 3"
        );
        assert_eq!(normalize_query("perché è così"), "perché è così");
        assert_eq!(normalize_query("<script>"), "script");
        assert_eq!(normalize_query("!?"), "");
        let many = normalize_query(&"parola ".repeat(100));
        assert_eq!(many.split(' ').count(), MAX_QUERY_WORDS);
        assert!(normalize_query(&"x".repeat(1000)).is_empty());
    }

    #[test]
    fn snippets_are_escaped_then_marked() {
        let fragment = "La <b>password</b> & l'abilitazione";
        let start = fragment.find("password").unwrap();
        let marked = std::iter::once(start..start + 8).collect::<Vec<_>>();
        let html = snippet_html(fragment, &marked);
        assert_eq!(
            html,
            "La &lt;b&gt;<mark>password</mark>&lt;/b&gt; &amp; l&#39;abilitazione"
        );
        // Overlapping, reversed, out of bounds or mid-character ranges are dropped.
        let accented = "è già";
        #[allow(clippy::reversed_empty_ranges)]
        let ranges = vec![0..1, 3..20, 4..3, 0..2, 1..2];
        let html = snippet_html(accented, &ranges);
        assert_eq!(html, "<mark>è</mark> già");
    }

    #[test]
    fn only_harmless_links() {
        for ok in [
            "/faq",
            "#risposta",
            "https://www.agid.gov.it",
            "mailto:a@b.it",
            "tel:+39 06",
        ] {
            assert!(is_safe_link(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:x",
            "data:text/html,x",
            "//evil.example",
            "vbscript:x",
        ] {
            assert!(!is_safe_link(bad), "{bad}");
        }
    }
}
