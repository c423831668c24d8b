//! Inbound mail for the assistance desk: parses one RFC 5322 message into the
//! fields the desk needs (sender, recipients, subject, readable text,
//! attachments), tells ordinary mail from automatic replies and bounces
//! (RFC 3834, RFC 3464), and computes the SHA-256 fingerprint ("impronta")
//! of the raw message for the protocol register.
//!
//! Pure functions: no I/O, no database.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::html::html_to_text;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// One parsed inbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMail {
    /// Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// First identifier of In-Reply-To, without angle brackets.
    pub in_reply_to: Option<String>,
    /// Sender address, lowercased.
    pub from_address: Option<String>,
    /// Sender display name, decoded.
    pub from_name: Option<String>,
    /// Addresses from To and Cc, lowercased, without duplicates, in order.
    pub to: Vec<String>,
    /// Decoded (RFC 2047) and trimmed subject; empty if there is none.
    pub subject: String,
    /// The Date header in microseconds since the Unix epoch (UTC), if it parses.
    pub date: Option<i64>,
    /// The readable body in UTF-8: the text/plain part(s), or the HTML turned
    /// into plain text when there is no text/plain; LF line ends; trimmed.
    pub text: String,
    pub attachments: Vec<InboundAttachment>,
    pub kind: MailKind,
    /// Hex SHA-256 of the raw message as received.
    pub sha256: String,
}

/// One attachment, with its content decoded from the transfer encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundAttachment {
    /// Sanitized file name, safe to show and to store.
    pub filename: String,
    /// `type/subtype`, lowercased, without parameters.
    pub content_type: String,
    pub data: Vec<u8>,
}

/// What kind of message this is, for deciding whether to answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// Written by a person: open or update a request.
    Normal,
    /// Vacation notice or other automatic answer: never answer it.
    AutoReply,
    /// Delivery status or disposition notification: never answer it.
    Bounce,
}

#[derive(Debug, thiserror::Error)]
pub enum MailInError {
    #[error("messaggio vuoto")]
    Empty,
    #[error("messaggio troppo grande (limite {limit} byte)")]
    TooLarge { limit: usize },
    #[error("messaggio non valido: {0}")]
    Malformed(String),
}

/// Name given to a message attached to another one (message/rfc822).
const NESTED_MESSAGE_NAME: &str = "messaggio.eml";
/// Longest file name kept, in characters.
const MAX_FILENAME_CHARS: usize = 150;

/// Parse one RFC 5322 message.
///
/// Refused: empty input; input larger than `max_bytes`; input that does not
/// open with a header field (a text without headers is not a message); a
/// message without a From address.
pub fn parse(raw: &[u8], max_bytes: usize) -> Result<InboundMail, MailInError> {
    if raw.is_empty() {
        return Err(MailInError::Empty);
    }
    if raw.len() > max_bytes {
        return Err(MailInError::TooLarge { limit: max_bytes });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailInError::Empty);
    }
    if !opens_with_header(raw) {
        return Err(MailInError::Malformed("intestazioni mancanti".into()));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| MailInError::Malformed("intestazioni mancanti".into()))?;

    let from = message.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address.as_deref())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| MailInError::Malformed("mittente (From) mancante".into()))?;
    let from_name = from
        .and_then(|a| a.name.as_deref())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());

    let mut to: Vec<String> = Vec::new();
    for address in message.all_to().chain(message.all_cc()) {
        for addr in address.iter() {
            if let Some(a) = addr.address.as_deref() {
                let a = a.trim().to_lowercase();
                if !a.is_empty() && !to.contains(&a) {
                    to.push(a);
                }
            }
        }
    }

    let subject = message.subject().unwrap_or_default().trim().to_string();
    let date = message
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| d.to_timestamp().checked_mul(1_000_000));

    let kind = classify(&message, &from_address, &subject);

    Ok(InboundMail {
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: first_id(message.in_reply_to()),
        from_address: Some(from_address),
        from_name,
        to,
        subject,
        date,
        text: readable_text(&message),
        attachments: attachments(&message, raw),
        kind,
        sha256: hex::encode(Sha256::digest(raw)),
    })
}

/// True if the first line is a header field (`Name: value`). A leading mbox
/// envelope line (`From sender date`) is skipped.
fn opens_with_header(raw: &[u8]) -> bool {
    let mut lines = raw.split(|&b| b == b'\n');
    let mut first = lines.next().unwrap_or_default();
    if first.starts_with(b"From ") {
        first = lines.next().unwrap_or_default();
    }
    is_header_field(first)
}

fn is_header_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    // Obsolete syntax allows blanks between the name and the colon.
    let name = line[..colon].trim_ascii_end();
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

fn clean_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| id.to_string())
}

fn first_id(value: &mail_parser::HeaderValue<'_>) -> Option<String> {
    match value {
        mail_parser::HeaderValue::Text(id) => clean_id(id),
        mail_parser::HeaderValue::TextList(ids) => ids.iter().find_map(|id| clean_id(id)),
        _ => None,
    }
}

/// Raw (undecoded) value of the first header with this name.
fn raw_header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn has_header(message: &Message<'_>, name: &str) -> bool {
    message
        .headers_raw()
        .any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// First token of a header value: comments and parameters removed, lowercased.
fn header_token(value: &str) -> String {
    let value = value.split(';').next().unwrap_or_default();
    let value = value.split('(').next().unwrap_or_default();
    value.trim().to_ascii_lowercase()
}

/// Subject prefixes of automatic replies, lowercased.
const AUTO_REPLY_PREFIXES: &[&str] = &[
    "risposta automatica:",
    "automatic reply:",
    "autoreply:",
    "auto-reply:",
    "out of office:",
    "out of office reply:",
    "fuori sede:",
    "fuori ufficio:",
];

/// Subject words of delivery failure notices, lowercased.
const FAILURE_SUBJECT_WORDS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "failure notice",
    "returned mail",
    "mail delivery failed",
    "could not be delivered",
    "non recapitabile",
    "non recapitato",
    "mancato recapito",
    "mancata consegna",
    "impossibile recapitare",
    "recapito non riuscito",
];

fn classify(message: &Message<'_>, from_address: &str, subject: &str) -> MailKind {
    let root_type = message.root_part().content_type();
    let is_report = root_type.is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let report_type = root_type
        .and_then(|ct| ct.attribute("report-type"))
        .map(|r| r.trim().to_ascii_lowercase());
    let null_return_path = raw_header(message, "Return-Path").is_some_and(|rp| {
        rp.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            == "<>"
    });
    let subject_lower = subject.to_lowercase();

    // RFC 3464 / RFC 8098 reports.
    if is_report
        && matches!(
            report_type.as_deref(),
            Some("delivery-status" | "disposition-notification")
        )
    {
        return MailKind::Bounce;
    }
    if is_report && null_return_path {
        return MailKind::Bounce;
    }
    // Mail system senders with a failure look.
    let local_part = from_address.split('@').next().unwrap_or_default();
    if (local_part.eq_ignore_ascii_case("mailer-daemon")
        || local_part.eq_ignore_ascii_case("postmaster"))
        && (null_return_path
            || has_delivery_status_part(message)
            || FAILURE_SUBJECT_WORDS
                .iter()
                .any(|w| subject_lower.contains(w)))
    {
        return MailKind::Bounce;
    }

    // RFC 3834 section 5.
    if raw_header(message, "Auto-Submitted").is_some_and(|v| header_token(v) != "no") {
        return MailKind::AutoReply;
    }
    if has_header(message, "X-Autoreply") || has_header(message, "X-Autorespond") {
        return MailKind::AutoReply;
    }
    if raw_header(message, "Precedence").is_some_and(|v| {
        matches!(
            header_token(v).as_str(),
            "auto_reply" | "bulk" | "junk" | "list"
        )
    }) {
        return MailKind::AutoReply;
    }
    if AUTO_REPLY_PREFIXES
        .iter()
        .any(|p| subject_lower.starts_with(p))
    {
        return MailKind::AutoReply;
    }
    MailKind::Normal
}

fn has_delivery_status_part(message: &Message<'_>) -> bool {
    message
        .parts
        .iter()
        .any(|p| p.is_content_type("message", "delivery-status"))
}

fn readable_text(message: &Message<'_>) -> String {
    let mut pieces: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| normalize_newlines(&t).trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if pieces.is_empty() {
        pieces = message
            .html_bodies()
            .filter_map(|p| match &p.body {
                PartType::Html(html) => Some(html_to_text(html)),
                PartType::Text(text) => Some(text.to_string()),
                _ => None,
            })
            .map(|t| normalize_newlines(&t).trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
    }
    pieces.join("\n\n")
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn attachments(message: &Message<'_>, raw: &[u8]) -> Vec<InboundAttachment> {
    message
        .attachments
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .filter_map(|part| attachment(part, raw))
        .collect()
}

fn attachment(part: &MessagePart<'_>, raw: &[u8]) -> Option<InboundAttachment> {
    let content_type = part_content_type(part);
    let is_message = matches!(part.body, PartType::Message(_))
        || content_type == "message/rfc822"
        || content_type == "message/global";
    if is_message {
        return Some(InboundAttachment {
            filename: NESTED_MESSAGE_NAME.to_string(),
            content_type,
            data: original_bytes(part, raw),
        });
    }
    let disposition_attachment = part
        .content_disposition()
        .is_some_and(|d| d.is_attachment());
    let name = part
        .attachment_name()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if !disposition_attachment && name.is_none() {
        // Inline images without a name (signature logos), delivery-status
        // reports and other parts that are not files.
        return None;
    }
    Some(InboundAttachment {
        filename: sanitize_filename(name.unwrap_or_default(), &content_type),
        data: original_bytes(part, raw),
        content_type,
    })
}

/// `type/subtype` of a part, lowercased.
fn part_content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) if !sub.trim().is_empty() => {
                format!("{}/{}", ct.ctype().trim(), sub.trim()).to_ascii_lowercase()
            }
            _ if ct.ctype().eq_ignore_ascii_case("text") => "text/plain".into(),
            _ => "application/octet-stream".into(),
        },
        // RFC 2045: no Content-Type means text/plain.
        None => "text/plain".into(),
    }
}

/// The part's content, decoded from its transfer encoding but not from its
/// charset: an attached text file is kept byte for byte as it was sent.
fn original_bytes(part: &MessagePart<'_>, raw: &[u8]) -> Vec<u8> {
    match &part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.to_vec(),
        PartType::Message(inner) => {
            if part.encoding == Encoding::None {
                body_slice(part, raw)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_else(|| inner.raw_message.to_vec())
            } else {
                inner.raw_message.to_vec()
            }
        }
        PartType::Text(_) | PartType::Html(_) => {
            let transfer_decoded = body_slice(part, raw).and_then(|body| match part.encoding {
                Encoding::None => Some(Cow::Borrowed(body)),
                Encoding::Base64 => base64_decode(body).map(Cow::Owned),
                Encoding::QuotedPrintable => quoted_printable_decode(body).map(Cow::Owned),
            });
            match transfer_decoded {
                Some(bytes) if !part.is_encoding_problem => bytes.into_owned(),
                _ => part.contents().to_vec(),
            }
        }
        PartType::Multipart(_) => Vec::new(),
    }
}

fn body_slice<'r>(part: &MessagePart<'_>, raw: &'r [u8]) -> Option<&'r [u8]> {
    raw.get(part.offset_body as usize..part.offset_end as usize)
}

fn is_forbidden_filename_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        // Bidirectional controls, used to disguise extensions.
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn trim_filename(name: &str) -> &str {
    name.trim_matches(|c: char| c == '.' || c.is_whitespace())
}

/// A file name safe to show and to store: last path component only, no
/// control or reserved characters, no leading or trailing dots and blanks,
/// at most 150 characters (the extension is kept when shortening). Falls
/// back to "allegato" plus an extension from the content type.
pub fn sanitize_filename(name: &str, content_type: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !is_forbidden_filename_char(c))
        .collect();
    let mut name = trim_filename(&cleaned).to_string();
    if name.chars().count() > MAX_FILENAME_CHARS {
        name = shorten(&name);
    }
    if name.is_empty() {
        return format!("allegato{}", extension_for(content_type));
    }
    name
}

fn shorten(name: &str) -> String {
    let ext = name
        .rsplit_once('.')
        .filter(|(stem, ext)| {
            !stem.is_empty() && (1..=16).contains(&ext.chars().count()) && !ext.contains(' ')
        })
        .map(|(_, ext)| ext);
    let shortened = match ext {
        Some(ext) => {
            let keep = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = name.chars().take(keep).collect();
            format!("{}.{ext}", trim_filename(&stem))
        }
        None => name.chars().take(MAX_FILENAME_CHARS).collect(),
    };
    trim_filename(&shortened).to_string()
}

/// Extension (with the dot) for a content type, or "" when unknown.
fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => ".pdf",
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => ".p7m",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => ".p7s",
        "application/xml" | "text/xml" => ".xml",
        "application/zip" | "application/x-zip-compressed" => ".zip",
        "application/msword" => ".doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => ".docx",
        "application/vnd.ms-excel" => ".xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => ".xlsx",
        "application/vnd.oasis.opendocument.text" => ".odt",
        "application/vnd.oasis.opendocument.spreadsheet" => ".ods",
        "application/rtf" | "text/rtf" => ".rtf",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/tiff" => ".tif",
        "image/heic" => ".heic",
        "image/webp" => ".webp",
        "image/bmp" => ".bmp",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/csv" => ".csv",
        "text/calendar" => ".ics",
        "message/rfc822" | "message/global" => ".eml",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 10 * 1024 * 1024;

    fn micros(rfc3339: &str) -> i64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_microsecond()
    }

    #[test]
    fn outlook_reply_with_alternative_body_and_pdf() {
        let raw = include_bytes!("mail_in/fixtures/outlook_reply_pdf.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(
            mail.subject,
            "Re: Richiesta documenti - pratica CIVIS-2026-0000012 (perchè manca il documento)"
        );
        assert_eq!(
            mail.message_id.as_deref(),
            Some(
                "AM6PR08MB4321A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM6PR08MB4321.eurprd08.prod.outlook.com"
            )
        );
        assert_eq!(
            mail.in_reply_to.as_deref(),
            Some("civis-2026-0000012.4f2a@sportello.comune.esempio.it")
        );
        assert_eq!(
            mail.from_address.as_deref(),
            Some("giulia.bianchi@example-studio.it")
        );
        assert_eq!(mail.from_name.as_deref(), Some("Bianchi, Giulia"));
        assert_eq!(
            mail.to,
            vec![
                "sportello@comune.esempio.it".to_string(),
                "anagrafe@comune.esempio.it".to_string()
            ]
        );
        assert_eq!(mail.date, Some(micros("2026-03-03T10:15:42Z")));
        assert_eq!(
            mail.text,
            "Buongiorno,\n\nin allegato il documento d'identità richiesto.\n\nCordiali saluti\nGiulia Bianchi"
        );
        assert_eq!(mail.kind, MailKind::Normal);
        assert_eq!(mail.attachments.len(), 1);
        let pdf = &mail.attachments[0];
        assert_eq!(pdf.filename, "documento identità.pdf");
        assert_eq!(pdf.content_type, "application/pdf");
        assert!(pdf.data.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.data.ends_with(b"%%EOF\n"));
        assert_eq!(pdf.data.len(), 329);
    }

    #[test]
    fn windows_1252_quoted_printable_body() {
        let raw = include_bytes!("mail_in/fixtures/windows1252_qp.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(mail.from_name.as_deref(), Some("Andrè Rossi"));
        assert_eq!(mail.from_address.as_deref(), Some("andre.rossi@libero.it"));
        assert_eq!(mail.subject, "Pagamento diritti di segreteria");
        assert_eq!(
            mail.text,
            "Buongiorno,\n\nho già pagato 16,00 € di diritti di segreteria per la pratica \
             CIVIS-2026-0000031, perché il bollettino era già intestato.\n\
             Allego la “ricevuta” appena possibile; è tutto in regola?\n\n\
             Andrè Rossi"
        );
        assert_eq!(mail.date, Some(micros("2026-03-04T08:00:00Z")));
        assert!(mail.attachments.is_empty());
        assert_eq!(mail.kind, MailKind::Normal);
    }

    #[test]
    fn iso_8859_15_euro_sign_and_crlf() {
        let raw = b"From: cittadino@example.it\r\n\
            To: sportello@comune.esempio.it\r\n\
            Subject: =?ISO-8859-15?Q?Costo_=A4_10?=\r\n\
            Content-Type: text/plain; charset=ISO-8859-15\r\n\
            Content-Transfer-Encoding: 8bit\r\n\
            \r\n\
            Costo: 10 \xa4, citt\xe0\r\nseconda riga\r\n\r\n";
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(mail.subject, "Costo € 10");
        assert_eq!(mail.text, "Costo: 10 €, città\nseconda riga");
    }

    #[test]
    fn html_only_message_becomes_plain_text() {
        let raw = include_bytes!("mail_in/fixtures/html_only.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(
            mail.text,
            "Gentile ufficio,\nvorrei un appuntamento per la carta d'identità & il passaporto.\n\nGrazie\nMario Rossi"
        );
        assert!(!mail.text.contains('<'));
        assert!(!mail.text.contains("color"));
        assert!(mail.attachments.is_empty());
        assert_eq!(mail.subject, "Appuntamento CIE");
    }

    #[test]
    fn delivery_status_notification_is_a_bounce() {
        let raw = include_bytes!("mail_in/fixtures/dsn_bounce.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(mail.kind, MailKind::Bounce);
        assert_eq!(
            mail.from_address.as_deref(),
            Some("mailer-daemon@mx.comune.esempio.it")
        );
        assert_eq!(mail.from_name.as_deref(), Some("Mail Delivery System"));
        assert_eq!(mail.subject, "Undelivered Mail Returned to Sender");
        assert!(
            mail.text
                .starts_with("This is the mail system at host mx.comune.esempio.it.")
        );
        // The delivery report itself is not a file; the returned message is.
        assert_eq!(mail.attachments.len(), 1);
        let returned = &mail.attachments[0];
        assert_eq!(returned.filename, "messaggio.eml");
        assert_eq!(returned.content_type, "message/rfc822");
        assert!(
            returned
                .data
                .starts_with(b"Return-Path: <sportello@comune.esempio.it>\n")
        );
        assert!(
            returned
                .data
                .ends_with(b"in attesa di riscontro.\n\nSportello")
        );
    }

    #[test]
    fn other_bounce_shapes() {
        // Mail system sender with a failure subject, no report.
        let raw = b"From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.it>\n\
            To: sportello@comune.esempio.it\n\
            Subject: Returned mail: see transcript for details\n\
            \n\
            The original message was received at ...\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Bounce);

        // Italian failure notice from the postmaster.
        let raw = b"From: Postmaster@example.it\n\
            Subject: Messaggio non recapitabile\n\
            \n\
            Il messaggio non \xe8 stato recapitato.\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Bounce);

        // The postmaster writing an ordinary message is not a bounce.
        let raw = b"From: postmaster@example.it\n\
            Subject: Informazioni sul servizio\n\
            \n\
            Buongiorno.\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Normal);

        // Read receipt (RFC 8098).
        let raw = b"From: Mario Rossi <mario.rossi@example.it>\n\
            Subject: Letto: Pratica CIVIS-2026-0000012\n\
            Content-Type: multipart/report; report-type=disposition-notification; boundary=\"R\"\n\
            \n\
            --R\n\
            Content-Type: text/plain\n\
            \n\
            Il messaggio \xe8 stato letto.\n\
            --R\n\
            Content-Type: message/disposition-notification\n\
            \n\
            Final-Recipient: rfc822; mario.rossi@example.it\n\
            Disposition: manual-action/MDN-sent-manually; displayed\n\
            --R--\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Bounce);

        // Any report with a null return path.
        let raw = b"Return-Path: <>\n\
            From: abuse@provider.example\n\
            Subject: Abuse report\n\
            Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\
            \n\
            --F\n\
            Content-Type: text/plain\n\
            \n\
            Report.\n\
            --F--\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Bounce);

        // The same report from a normal return path is not a bounce.
        let raw = b"Return-Path: <abuse@provider.example>\n\
            From: abuse@provider.example\n\
            Subject: Abuse report\n\
            Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\
            \n\
            --F\n\
            Content-Type: text/plain\n\
            \n\
            Report.\n\
            --F--\n";
        assert_eq!(parse(raw, MAX).unwrap().kind, MailKind::Normal);
    }

    fn with_headers(extra: &str) -> Vec<u8> {
        format!(
            "From: Laura Verdi <laura.verdi@example.it>\n\
             To: sportello@comune.esempio.it\n\
             {extra}\n\
             \n\
             Testo.\n"
        )
        .into_bytes()
    }

    #[test]
    fn auto_submitted_header() {
        let kind = |h: &str| parse(&with_headers(h), MAX).unwrap().kind;
        assert_eq!(
            kind("Subject: Pratica\nAuto-Submitted: auto-replied"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nAuto-Submitted: auto-generated (vacation)"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nAuto-Submitted: no"),
            MailKind::Normal
        );
        assert_eq!(
            kind("Subject: Pratica\nAuto-Submitted: No (manual)"),
            MailKind::Normal
        );
        assert_eq!(
            kind("Subject: Pratica\nX-Autoreply: yes"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nX-Autorespond: 1"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nPrecedence: bulk"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nPrecedence: Auto_Reply"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nPrecedence: list"),
            MailKind::AutoReply
        );
        assert_eq!(
            kind("Subject: Pratica\nPrecedence: first-class"),
            MailKind::Normal
        );
        // Outlook sets this one on ordinary mail too.
        assert_eq!(
            kind("Subject: Pratica\nX-Auto-Response-Suppress: All"),
            MailKind::Normal
        );
    }

    #[test]
    fn auto_reply_subjects() {
        let raw = include_bytes!("mail_in/fixtures/risposta_automatica.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(mail.subject, "Risposta automatica: Fuori ufficio");
        assert_eq!(mail.kind, MailKind::AutoReply);
        assert_eq!(
            mail.text,
            "Sono fuori ufficio fino al 10 marzo, con accesso limitato alla posta."
        );

        let kind = |s: &str| {
            parse(&with_headers(&format!("Subject: {s}")), MAX)
                .unwrap()
                .kind
        };
        assert_eq!(kind("Fuori sede: rientro lunedì"), MailKind::AutoReply);
        assert_eq!(kind("AUTOMATIC REPLY: Out of office"), MailKind::AutoReply);
        assert_eq!(kind("Out of Office: back on Monday"), MailKind::AutoReply);
        // "Auto" is also a car: a citizen's subject must not be set aside.
        assert_eq!(kind("Auto: richiesta permesso ZTL"), MailKind::Normal);
        assert_eq!(
            kind("Re: Risposta automatica: Fuori ufficio"),
            MailKind::Normal
        );
        assert_eq!(kind("Richiesta di risposta"), MailKind::Normal);
    }

    #[test]
    fn refused_inputs() {
        assert!(matches!(parse(b"", MAX), Err(MailInError::Empty)));
        assert!(matches!(parse(b" \r\n\r\n", MAX), Err(MailInError::Empty)));
        assert_eq!(parse(b"", MAX).unwrap_err().to_string(), "messaggio vuoto");

        let raw = include_bytes!("mail_in/fixtures/windows1252_qp.eml");
        let err = parse(raw, 100).unwrap_err();
        assert!(matches!(err, MailInError::TooLarge { limit: 100 }));
        assert_eq!(err.to_string(), "messaggio troppo grande (limite 100 byte)");
        assert!(parse(raw, raw.len()).is_ok());

        let garbage = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe";
        let err = parse(garbage, MAX).unwrap_err();
        assert!(matches!(&err, MailInError::Malformed(m) if m == "intestazioni mancanti"));
        assert_eq!(
            err.to_string(),
            "messaggio non valido: intestazioni mancanti"
        );

        let text =
            b"Buongiorno, vorrei sapere quando posso ritirare la carta d'identita.\n\nGrazie\n";
        assert!(matches!(
            parse(text, MAX),
            Err(MailInError::Malformed(m)) if m == "intestazioni mancanti"
        ));

        let no_from = b"To: sportello@comune.esempio.it\nSubject: Richiesta\n\nTesto.\n";
        let err = parse(no_from, MAX).unwrap_err();
        assert!(matches!(&err, MailInError::Malformed(m) if m == "mittente (From) mancante"));
        assert_eq!(
            err.to_string(),
            "messaggio non valido: mittente (From) mancante"
        );

        let from_without_address = b"From: Mario Rossi\nSubject: Richiesta\n\nTesto.\n";
        assert!(matches!(
            parse(from_without_address, MAX),
            Err(MailInError::Malformed(m)) if m == "mittente (From) mancante"
        ));

        // A header-looking first line followed by free text still lacks From.
        let fake = b"Oggetto: richiesta\nBuongiorno, vorrei informazioni.\n";
        assert!(matches!(
            parse(fake, MAX),
            Err(MailInError::Malformed(m)) if m == "mittente (From) mancante"
        ));
    }

    #[test]
    fn attachment_names_are_sanitized() {
        let raw = include_bytes!("mail_in/fixtures/nasty_filenames.eml");
        let mail = parse(raw, MAX).unwrap();
        let names: Vec<(&str, &str)> = mail
            .attachments
            .iter()
            .map(|a| (a.filename.as_str(), a.content_type.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("passwd", "application/octet-stream"),
                ("fattura marzo.pdf", "application/pdf"),
                ("evil.exe", "application/x-msdownload"),
                ("allegato.pdf", "application/pdf"),
                ("ricevuta pagamento n° 12.pdf", "application/pdf"),
                ("foto di casa è.png", "image/png"),
                ("elenco.csv", "text/csv"),
                ("messaggio.eml", "message/rfc822"),
            ]
        );
        assert_eq!(
            mail.attachments[0].data,
            b"root:x:0:0:root:/root:/bin/bash\n"
        );
        assert_eq!(mail.attachments[5].data, b"\x89PNG\r\n\x1a\n");
        // A text attachment keeps its own bytes and charset.
        assert_eq!(mail.attachments[6].data, b"nome;citt\xe0\nRossi;Forl\xec\n");
        assert!(
            mail.attachments[7]
                .data
                .starts_with(b"From: Ufficio Tributi <tributi@comune.esempio.it>\n")
        );
        assert!(mail.attachments[7].data.ends_with(b"Saluti."));
        // The unnamed inline logo is not an attachment; the body is the text part.
        assert_eq!(mail.text, "Vedi allegati.");
    }

    #[test]
    fn sanitize_filename_rules() {
        assert_eq!(
            sanitize_filename("../../etc/passwd", "text/plain"),
            "passwd"
        );
        assert_eq!(
            sanitize_filename(
                "C:\\Users\\mario\\Documenti\\domanda.pdf",
                "application/pdf"
            ),
            "domanda.pdf"
        );
        assert_eq!(
            sanitize_filename("fat\u{7}tura\u{0}\t2026?.pdf", "application/pdf"),
            "fattura2026.pdf"
        );
        assert_eq!(
            sanitize_filename("modulo<1>|\"a\"*.pdf", "application/pdf"),
            "modulo1a.pdf"
        );
        assert_eq!(
            sanitize_filename(" ..nascosto.txt. ", "text/plain"),
            "nascosto.txt"
        );
        assert_eq!(
            sanitize_filename("fattura\u{202e}fdp.exe", "application/octet-stream"),
            "fatturafdp.exe"
        );
        assert_eq!(sanitize_filename("..", "application/pdf"), "allegato.pdf");
        assert_eq!(sanitize_filename("", "image/jpeg"), "allegato.jpg");
        assert_eq!(
            sanitize_filename("", "application/pkcs7-mime"),
            "allegato.p7m"
        );
        assert_eq!(sanitize_filename("", "application/x-unknown"), "allegato");

        let long = format!("{}.pdf", "à".repeat(200));
        let short = sanitize_filename(&long, "application/pdf");
        assert_eq!(short.chars().count(), 150);
        assert_eq!(short, format!("{}.pdf", "à".repeat(146)));
        let long = "x".repeat(200);
        assert_eq!(sanitize_filename(&long, "text/plain"), "x".repeat(150));
    }

    #[test]
    fn sha256_is_the_fingerprint_of_the_raw_bytes() {
        let raw = b"From: a@example.it\r\nSubject: prova\r\n\r\nciao\r\n";
        let mail = parse(raw, MAX).unwrap();
        // Computed with `sha256sum` on the same bytes.
        assert_eq!(
            mail.sha256,
            "095a11f18480ca05f4b3b51905083b2e012aed35bb939bc705889f2985f0695e"
        );
        let fixture = include_bytes!("mail_in/fixtures/outlook_reply_pdf.eml");
        assert_eq!(
            parse(fixture, MAX).unwrap().sha256,
            hex::encode(Sha256::digest(fixture))
        );
    }

    #[test]
    fn utf8_base64_subject() {
        let raw = include_bytes!("mail_in/fixtures/bdna_utf8.eml");
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(
            mail.subject,
            "Richiesta BDNA: comunicazione antimafia già inoltrata, è possibile un sollecito?"
        );
        assert_eq!(
            mail.from_name.as_deref(),
            Some("Società Edile Nicolò S.r.l.")
        );
        assert_eq!(
            mail.from_address.as_deref(),
            Some("amministrazione@edilenicolo.it")
        );
        assert_eq!(
            mail.text,
            "Spett.le ufficio,\nla richiesta è stata inoltrata il 2 marzo.\nCordialità"
        );
        assert_eq!(
            mail.message_id.as_deref(),
            Some("CAJx7Qm+bdna-0001@mail.gmail.com")
        );
        assert_eq!(mail.in_reply_to, None);
        assert_eq!(mail.date, Some(micros("2026-03-05T14:20:00Z")));
    }

    #[test]
    fn message_ids_and_mbox_envelope_line() {
        let raw = b"From mario.rossi@example.it Thu Mar  5 10:00:00 2026\n\
            From: MARIO.ROSSI@Example.IT\n\
            To: Sportello <Sportello@Comune.Esempio.IT>, sportello@comune.esempio.it\n\
            Cc: undisclosed-recipients:;\n\
            Message-ID: < abc.123@example.it >\n\
            In-Reply-To: <first@sportello.example> <second@sportello.example>\n\
            Date: not a date\n\
            \n\
            Testo\n";
        let mail = parse(raw, MAX).unwrap();
        assert_eq!(mail.from_address.as_deref(), Some("mario.rossi@example.it"));
        assert_eq!(mail.from_name, None);
        assert_eq!(mail.to, vec!["sportello@comune.esempio.it".to_string()]);
        assert_eq!(mail.message_id.as_deref(), Some("abc.123@example.it"));
        assert_eq!(mail.in_reply_to.as_deref(), Some("first@sportello.example"));
        assert_eq!(mail.date, None);
        assert_eq!(mail.subject, "");
        assert_eq!(mail.text, "Testo");
        assert_eq!(mail.kind, MailKind::Normal);
    }
}
