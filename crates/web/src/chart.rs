//! Server-side charts: an inline SVG of daily series, readable without
//! JavaScript. The chart has an accessible name (`<title>`) and a summary
//! of its data (`<desc>`); each series differs by colour, dash pattern and
//! marker shape, so colour is never the only cue. Pages show the same data
//! as a table next to it.

use std::fmt::Write;

use crate::i18n::Lang;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 330.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 704.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 250.0;

/// Colours with at least 4.5:1 contrast on white, dash patterns and markers.
const STYLES: &[(&str, &str, Marker)] = &[
    ("#0066cc", "", Marker::Circle),
    ("#a85000", "8 5", Marker::Square),
    ("#00785a", "2 4", Marker::Triangle),
    ("#6b2c91", "12 4 3 4", Marker::Diamond),
];

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// "dd/mm" of a yyyymmdd day number.
fn short_day(day: i64) -> String {
    format!("{:02}/{:02}", day % 100, (day / 100) % 100)
}

/// "dd/mm/yyyy" of a yyyymmdd day number.
pub fn long_day(day: i64) -> String {
    format!(
        "{:02}/{:02}/{:04}",
        day % 100,
        (day / 100) % 100,
        day / 10_000
    )
}

/// The top of the y axis and the tick step: 1, 2 or 5 times a power of ten,
/// at most five steps, never below the largest value.
fn y_scale(max: i64) -> (i64, i64) {
    if max <= 0 {
        return (1, 1);
    }
    let mut magnitude = 1i64;
    loop {
        for m in [1, 2, 5] {
            let step = m * magnitude;
            let steps = (max + step - 1) / step;
            if steps <= 5 {
                return (steps * step, step);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Which of `n` days get a date label (at most seven, first and last included).
fn x_ticks(n: usize) -> Vec<usize> {
    if n <= 7 {
        return (0..n).collect();
    }
    let step = (n - 1).div_ceil(6);
    let mut ticks: Vec<usize> = (0..n).step_by(step).collect();
    if let Some(&last) = ticks.last()
        && last != n - 1
    {
        if n - 1 - last < step / 2 {
            ticks.pop();
        }
        ticks.push(n - 1);
    }
    ticks
}

fn marker(out: &mut String, kind: Marker, x: f64, y: f64, colour: &str) {
    let _ = match kind {
        Marker::Circle => write!(
            out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"#
        ),
        Marker::Square => write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}"/>"#,
            x - 3.5,
            y - 3.5
        ),
        Marker::Triangle => write!(
            out,
            r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{colour}"/>"#,
            x,
            y - 4.5,
            x - 4.5,
            y + 3.5,
            x + 4.5,
            y + 3.5
        ),
        Marker::Diamond => write!(
            out,
            r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{colour}"/>"#,
            x,
            y - 4.5,
            x + 4.5,
            y,
            x,
            y + 4.5,
            x - 4.5,
            y
        ),
    };
}

/// The text alternative: period, and per series its total and its peak.
fn summary(lang: Lang, series: &[(&str, Vec<i64>)], days: &[i64]) -> String {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return match lang {
            Lang::It => "Nessun dato nel periodo.".into(),
            Lang::En => "No data in the period.".into(),
        };
    };
    let mut out = match lang {
        Lang::It if first == last => format!("Dati del giorno {}.", long_day(*first)),
        Lang::En if first == last => format!("Data of {}.", long_day(*first)),
        Lang::It => format!(
            "Andamento giornaliero dal {} al {}.",
            long_day(*first),
            long_day(*last)
        ),
        Lang::En => format!(
            "Daily trend from {} to {}.",
            long_day(*first),
            long_day(*last)
        ),
    };
    for (label, values) in series {
        let values = &values[..values.len().min(days.len())];
        let total: i64 = values.iter().sum();
        let peak = values
            .iter()
            .enumerate()
            .max_by_key(|(i, v)| (**v, std::cmp::Reverse(*i)));
        let _ = match (lang, peak) {
            (Lang::It, Some((i, v))) if *v > 0 => write!(
                out,
                " {label}: totale {total}, massimo {v} il {}.",
                long_day(days[i])
            ),
            (Lang::En, Some((i, v))) if *v > 0 => write!(
                out,
                " {label}: total {total}, peak {v} on {}.",
                long_day(days[i])
            ),
            (Lang::It, _) => write!(out, " {label}: totale 0."),
            (Lang::En, _) => write!(out, " {label}: total 0."),
        };
    }
    out
}

/// An inline SVG line chart of daily series: one value per day for each
/// series, days as yyyymmdd numbers. Lang chooses the words of the summary.
pub fn daily_chart(title: &str, series: &[(&str, Vec<i64>)], days: &[i64], lang: Lang) -> String {
    let n = days.len();
    let value = |s: &[i64], i: usize| s.get(i).copied().unwrap_or(0).max(0);
    let max = series
        .iter()
        .flat_map(|(_, v)| (0..n).map(move |i| value(v, i)))
        .max()
        .unwrap_or(0);
    let (top, step) = y_scale(max);
    let x_of = |i: usize| {
        if n <= 1 {
            (LEFT + RIGHT) / 2.0
        } else {
            LEFT + (RIGHT - LEFT) * i as f64 / (n - 1) as f64
        }
    };
    let y_of = |v: i64| BOTTOM - (BOTTOM - TOP) * v as f64 / top as f64;
    // Ids unique per chart content, for aria-labelledby.
    let id = {
        let mut h: u32 = 2166136261;
        for b in title
            .bytes()
            .chain(days.iter().flat_map(|d| d.to_le_bytes()))
        {
            h = (h ^ b as u32).wrapping_mul(16777619);
        }
        format!("chart-{h:08x}")
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="daily-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" aria-labelledby="{id}-title" aria-describedby="{id}-desc" font-family="Titillium Web, Geneva, Tahoma, sans-serif" font-size="13">"#
    );
    let _ = write!(
        out,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(&summary(lang, series, days))
    );
    // Horizontal grid and y ticks.
    out.push_str(r##"<g class="y-axis" fill="#1a1a1a" text-anchor="end">"##);
    let mut v = 0;
    while v <= top {
        let y = y_of(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#c5c7c9" stroke-width="1"/><text x="{:.1}" y="{:.1}">{v}</text>"##,
            LEFT - 8.0,
            y + 4.0
        );
        v += step;
    }
    out.push_str("</g>");
    // Axes.
    let _ = write!(
        out,
        r##"<g class="axes" stroke="#1a1a1a" stroke-width="1.5"><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}"/><line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/></g>"##
    );
    // Date ticks.
    out.push_str(r##"<g class="x-axis" fill="#1a1a1a" text-anchor="middle">"##);
    for i in x_ticks(n) {
        let x = x_of(i);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{:.1}" stroke="#1a1a1a" stroke-width="1.5"/><text x="{x:.1}" y="{:.1}">{}</text>"##,
            BOTTOM + 5.0,
            BOTTOM + 20.0,
            short_day(days[i])
        );
    }
    out.push_str("</g>");
    // Series.
    for (k, (label, values)) in series.iter().enumerate() {
        let (colour, dash, kind) = STYLES[k % STYLES.len()];
        let _ = write!(out, r#"<g class="series" data-series="{}">"#, escape(label));
        if n > 1 {
            let points: Vec<String> = (0..n)
                .map(|i| format!("{:.1},{:.1}", x_of(i), y_of(value(values, i))))
                .collect();
            let _ = write!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round""#,
                points.join(" ")
            );
            if !dash.is_empty() {
                let _ = write!(out, r#" stroke-dasharray="{dash}""#);
            }
            out.push_str("/>");
        }
        if n <= 62 {
            for i in 0..n {
                marker(&mut out, kind, x_of(i), y_of(value(values, i)), colour);
            }
        }
        out.push_str("</g>");
    }
    // Legend: a sample of each line with its marker, and the label as text.
    out.push_str(r##"<g class="legend" fill="#1a1a1a">"##);
    let mut x = LEFT;
    let y = BOTTOM + 52.0;
    for (k, (label, _)) in series.iter().enumerate() {
        let (colour, dash, kind) = STYLES[k % STYLES.len()];
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.5""#,
            x + 36.0
        );
        if !dash.is_empty() {
            let _ = write!(out, r#" stroke-dasharray="{dash}""#);
        }
        out.push_str("/>");
        marker(&mut out, kind, x + 18.0, y, colour);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 44.0,
            y + 4.5,
            escape(label)
        );
        x += 60.0 + 8.0 * label.chars().count() as f64;
    }
    out.push_str("</g></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every opened element is closed in order and that no
    /// stray angle bracket or unescaped ampersand is in the text.
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let text = &rest[..start];
            assert!(!text.contains('>'), "stray > in {text:?}");
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "bare & in {text:?}"
                );
            }
            let end = rest[start..].find('>').expect("unterminated tag") + start;
            let tag = &rest[start + 1..end];
            // Quoted attribute values must not hold raw markup.
            assert_eq!(tag.matches('"').count() % 2, 0, "odd quotes in {tag:?}");
            assert!(!tag.contains('<'), "raw < inside {tag:?}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap().to_string();
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert!(rest.is_empty() || !rest.contains('>'));
    }

    fn days(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| 20260301 + i).collect()
    }

    #[test]
    fn renders_a_balanced_accessible_svg() {
        let svg = daily_chart(
            "Richieste al giorno",
            &[
                ("Ricevute", vec![1, 4, 2, 0, 3]),
                ("Chiuse", vec![0, 1, 2, 2, 1]),
            ],
            &days(5),
            Lang::It,
        );
        assert_balanced(&svg);
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(">Richieste al giorno</title>"));
        assert!(svg.contains("<desc "));
        assert!(svg.contains("Ricevute: totale 10, massimo 4 il 02/03/2026."));
        assert!(svg.contains("Chiuse: totale 6, massimo 2 il 03/03/2026."));
        assert!(svg.contains(">01/03</text>") && svg.contains(">05/03</text>"));
        // The legend names each series and the second one is dashed.
        assert!(svg.contains(">Ricevute</text>") && svg.contains(">Chiuse</text>"));
        assert!(svg.contains("stroke-dasharray"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }

    #[test]
    fn scales_to_the_largest_value() {
        let svg = daily_chart("t", &[("a", vec![0, 5, 10])], &days(3), Lang::En);
        assert_balanced(&svg);
        // 10 is the top tick and the highest point touches the top of the plot.
        assert!(svg.contains(">10</text>"));
        assert!(!svg.contains(">12</text>"));
        assert!(svg.contains(&format!("{RIGHT:.1},{TOP:.1}")));
        assert!(svg.contains(&format!("{LEFT:.1},{BOTTOM:.1}")));
        assert!(svg.contains("a: total 15, peak 10 on 03/03/2026."));
        assert_eq!(y_scale(7), (8, 2));
        assert_eq!(y_scale(23), (25, 5));
        assert_eq!(y_scale(1234), (1500, 500));
        assert_eq!(y_scale(3), (3, 1));
    }

    #[test]
    fn handles_all_zero_and_empty_series() {
        let svg = daily_chart(
            "zero",
            &[("a", vec![0; 30]), ("b", vec![])],
            &days(30),
            Lang::It,
        );
        assert_balanced(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(svg.contains("a: totale 0.") && svg.contains("b: totale 0."));
        let empty = daily_chart("vuoto", &[("a", vec![])], &[], Lang::It);
        assert_balanced(&empty);
        assert!(empty.contains("Nessun dato"));
    }

    #[test]
    fn handles_a_single_day() {
        let svg = daily_chart("uno", &[("a", vec![3])], &[20261124], Lang::It);
        assert_balanced(&svg);
        assert!(!svg.contains("<polyline"));
        assert!(svg.contains("<circle cx=\"380.0\""));
        assert!(svg.contains(">24/11</text>"));
        assert!(svg.contains("Dati del giorno 24/11/2026."));
    }

    #[test]
    fn escapes_text() {
        let svg = daily_chart(
            "<script>&\"x\"",
            &[("<b>&\"", vec![1, 2])],
            &days(2),
            Lang::It,
        );
        assert_balanced(&svg);
        assert!(!svg.contains("<script") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;&amp;&quot;x&quot;"));
        assert!(svg.contains("&lt;b&gt;&amp;&quot;"));
    }

    #[test]
    fn date_ticks_are_few_and_include_the_ends() {
        for n in [1, 2, 7, 8, 30, 31, 90, 366] {
            let t = x_ticks(n);
            assert!(t.len() <= 8, "{n}: {t:?}");
            assert_eq!(t.first(), Some(&0));
            assert_eq!(t.last(), Some(&(n - 1)));
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(x_ticks(0).is_empty());
    }
}
