//! A plain-text PDF: A4 pages of Helvetica lines, for documents the portal
//! issues to be signed (the signature covers these exact bytes, so the
//! output is deterministic: no dates or random identifiers of its own).

/// Lines per page at 11 pt with 15 pt leading inside 2 cm margins.
const LINES_PER_PAGE: usize = 48;

/// The PDF bytes of `lines` (text in WinAnsi: Italian accented letters are
/// kept, characters outside it become `?`).
pub fn text_document(title: &str, lines: &[String]) -> Vec<u8> {
    let pages: Vec<&[String]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(LINES_PER_PAGE).collect()
    };
    // Objects: 1 catalog, 2 pages, 3 font, 4 info, then (page, content) pairs.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 5 + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    let mut info = b"<< /Title ".to_vec();
    info.extend(literal(title));
    info.extend(b" /Producer (Sportello) >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let content_id = 6 + 2 * i;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        let mut stream = b"BT /F1 11 Tf 15 TL 57 785 Td\n".to_vec();
        for line in page.iter() {
            stream.extend(literal(line));
            stream.extend(b" Tj T*\n");
        }
        stream.extend(b"ET");
        let mut obj = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        obj.extend(stream);
        obj.extend(b"\nendstream");
        objects.push(obj);
    }

    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

/// A PDF literal string in WinAnsi, with `(`, `)` and `\` escaped.
fn literal(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        let byte = win_ansi(c).unwrap_or(b'?');
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        if !(0x20..0x7f).contains(&byte) {
            out.extend(format!("\\{byte:03o}").into_bytes());
        } else {
            out.push(byte);
        }
    }
    out.push(b')');
    out
}

/// The WinAnsi (Windows-1252) byte of a character, where there is one.
fn win_ansi(c: char) -> Option<u8> {
    let code = c as u32;
    match c {
        '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => Some(code as u8),
        '€' => Some(0x80),
        '‘' => Some(0x91),
        '’' => Some(0x92),
        '“' => Some(0x93),
        '”' => Some(0x94),
        '–' => Some(0x96),
        '—' => Some(0x97),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_a_well_formed_pdf_and_deterministic() {
        let lines: Vec<String> = (0..100).map(|i| format!("Riga {i}: perché (sì)")).collect();
        let a = text_document("Richiesta", &lines);
        assert_eq!(a, text_document("Richiesta", &lines));
        assert!(a.starts_with(b"%PDF-1.4"));
        assert!(a.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("/Count 3"), "100 lines make three pages");
        // Every cross-reference offset points at its object.
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let table = String::from_utf8_lossy(&a[xref_at..]);
        assert!(table.starts_with("xref\n"));
        let entries: Vec<&str> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .collect();
        assert_eq!(entries.len(), 4 + 2 * 3);
        for (n, line) in entries.iter().enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(a[offset..].starts_with(format!("{} 0 obj", n + 1).as_bytes()));
        }
    }

    #[test]
    fn text_is_escaped_and_accents_kept() {
        assert_eq!(literal("a(b)\\"), b"(a\\(b\\)\\\\)".to_vec());
        assert_eq!(literal("è"), b"(\\350)".to_vec());
        assert_eq!(literal("€"), b"(\\200)".to_vec());
        assert_eq!(literal("中"), b"(?)".to_vec());
    }
}
