//! Attachments: only the configured types, checked by content as well as by
//! name, within the channel's size limit. The stored content type comes from
//! our own table, never from the sender's claim.

use sha2::{Digest, Sha256};

/// A file as received (form upload or mail part).
#[derive(Clone, Debug)]
pub struct Upload {
    pub filename: String,
    pub data: Vec<u8>,
}

/// A file that passed the checks.
#[derive(Clone, Debug)]
pub struct CheckedFile {
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub data: Vec<u8>,
}

/// At most this many files per message.
pub const MAX_FILES: usize = 10;

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "pdf" => "application/pdf",
        "p7m" => "application/pkcs7-mime",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}

/// Whether the bytes look like what the extension says.
fn content_matches(ext: &str, data: &[u8]) -> bool {
    match ext {
        "pdf" => data.starts_with(b"%PDF-"),
        "png" => data.starts_with(b"\x89PNG\r\n\x1a\n"),
        "jpg" | "jpeg" => data.starts_with(&[0xFF, 0xD8, 0xFF]),
        "tif" | "tiff" => data.starts_with(b"II*\0") || data.starts_with(b"MM\0*"),
        "odt" | "ods" | "docx" | "xlsx" | "zip" => data.starts_with(b"PK\x03\x04"),
        // CAdES: DER (a SEQUENCE) or its base64/PEM form.
        "p7m" => {
            data.first() == Some(&0x30)
                || data.starts_with(b"MI")
                || data.starts_with(b"-----BEGIN")
        }
        "txt" | "xml" | "eml" => !data.contains(&0) && !data.is_empty(),
        _ => false,
    }
}

/// A field and what is wrong with it.
pub type Problem = (String, String);

/// Checks every file; all problems are reported, none is accepted half.
pub fn check(
    uploads: &[Upload],
    max_bytes: i64,
    allowed: &[String],
) -> Result<Vec<CheckedFile>, Vec<Problem>> {
    let mut problems = Vec::new();
    if uploads.len() > MAX_FILES {
        problems.push((
            "attachments".to_string(),
            format!("al massimo {MAX_FILES} allegati"),
        ));
    }
    let mut out = Vec::new();
    for u in uploads {
        let ext = extension(&u.filename);
        let name = &u.filename;
        if u.data.is_empty() {
            problems.push(("attachments".into(), format!("«{name}» è vuoto")));
        } else if u.data.len() as i64 > max_bytes {
            problems.push((
                "attachments".into(),
                format!(
                    "«{name}» supera la dimensione massima di {} MB",
                    max_bytes / (1024 * 1024)
                ),
            ));
        } else if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&ext)) {
            problems.push((
                "attachments".into(),
                format!(
                    "«{name}»: tipo di file non ammesso; sono ammessi {}",
                    allowed.join(", ")
                ),
            ));
        } else if !content_matches(&ext, &u.data) {
            problems.push((
                "attachments".into(),
                format!("«{name}»: il contenuto non corrisponde a un file .{ext}"),
            ));
        } else {
            out.push(CheckedFile {
                filename: u.filename.clone(),
                content_type: content_type(&ext).into(),
                sha256: hex::encode(Sha256::digest(&u.data)),
                data: u.data.clone(),
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        ["pdf", "png", "txt"].map(String::from).to_vec()
    }

    #[test]
    fn accepts_files_whose_content_matches_their_type() {
        let files = check(
            &[Upload {
                filename: "ricevuta.PDF".into(),
                data: b"%PDF-1.7 ...".to_vec(),
            }],
            1024,
            &allowed(),
        )
        .unwrap();
        assert_eq!(files[0].content_type, "application/pdf");
        assert_eq!(files[0].sha256.len(), 64);
    }

    #[test]
    fn refuses_wrong_types_disguised_content_and_oversize_files_naming_each() {
        let list = check(
            &[
                Upload {
                    filename: "setup.exe".into(),
                    data: b"MZ\x90\0".to_vec(),
                },
                Upload {
                    filename: "finto.pdf".into(),
                    data: b"MZ\x90\0".to_vec(),
                },
                Upload {
                    filename: "grande.txt".into(),
                    data: vec![b'a'; 2048],
                },
            ],
            1024,
            &allowed(),
        )
        .unwrap_err();
        assert_eq!(list.len(), 3);
        assert!(list[0].1.contains("setup.exe") && list[0].1.contains("non ammesso"));
        assert!(list[1].1.contains("non corrisponde"));
        assert!(list[2].1.contains("dimensione massima"));
    }
}
