//! Parsing of bulk-enablement files (seed 001): a public body sends the list of
//! its employees to enable, one per row, with the application and profile to
//! grant. This module only reads and validates; applying the rows is done
//! elsewhere, in one transaction.
//!
//! Accepted files, recognised by their content (never by their name):
//! - XLSX (and, through the same reader, ODS and legacy XLS): the first visible
//!   sheet; whole numbers become integers without ".0" (telephone numbers).
//! - CSV or text: UTF-8 with or without BOM, UTF-16 with BOM (or evidently
//!   UTF-16 without), otherwise Windows-1252 (a superset of ISO-8859-1 for
//!   printable text); separator `;`, `,` or TAB found on the header line; an
//!   Excel `sep=;` first line is honoured.
//!
//! Row numbers are those a person sees: the spreadsheet row, or the line of the
//! text file where the record starts. Header-level warnings (unknown or
//! repeated columns, extra sheets, rows before the header) are [`RowError`]s
//! with `line == 1`; every data-row error has `line >= 2`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, SheetVisible, Sheets};
use sportello_core::FiscalCode;
use sportello_core::identity::Category;

/// One valid data row.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRow {
    /// 1-based line (CSV) or row (spreadsheet) number in the file; header = 1.
    pub line: usize,
    pub fiscal_code: FiscalCode,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub pec: Option<String>,
    pub phone: Option<String>,
    /// `PublicEmployee` when the column is absent or the cell empty.
    pub category: Category,
    /// Application code, upper-cased (e.g. "PTT"); `None`: only the user.
    pub application: Option<String>,
    /// Profile code, lower-cased (e.g. "ente_impositore"); present exactly
    /// when `application` is.
    pub profile: Option<String>,
}

/// A problem found in the file. `line == 1` marks a header-level warning (the
/// rows are still usable); any other line is a data row left out of `rows`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    /// The column's header as written in the file, when the problem is in one.
    pub column: Option<String>,
    /// In Italian: what is wrong and what is expected.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParsedImport {
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
    /// How the file was read, e.g. "CSV (;) Windows-1252" or "XLSX".
    pub format: String,
}

impl ParsedImport {
    /// Header-level warnings: the file was read, these columns or sheets were not.
    pub fn warnings(&self) -> impl Iterator<Item = &RowError> {
        self.errors.iter().filter(|e| e.line == 1)
    }

    /// Errors of data rows, each row left out of `rows`.
    pub fn row_errors(&self) -> impl Iterator<Item = &RowError> {
        self.errors.iter().filter(|e| e.line != 1)
    }
}

/// Reads a bulk-enablement file. `Err` (an Italian sentence for the user)
/// only when nothing in it can be used: empty, not CSV nor a spreadsheet, no
/// recognisable header, required columns missing, no data rows.
pub fn parse_users(bytes: &[u8], file_name: &str) -> Result<ParsedImport, String> {
    let name = if file_name.trim().is_empty() {
        "caricato".to_string()
    } else {
        format!("«{}»", file_name.trim())
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(format!("Il file {name} è vuoto."));
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(OLE_MAGIC) {
        parse_workbook(bytes, &name)
    } else if bytes.starts_with(b"%PDF") {
        Err(format!(
            "Il file {name} è un PDF: {EXPECTED_FILE}. Esportare l'elenco dal foglio di calcolo."
        ))
    } else {
        parse_text(bytes, &name)
    }
}

const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const EXPECTED_FILE: &str =
    "sono accettati fogli Excel (.xlsx) e file CSV (valori separati da «;», «,» o tabulazione)";
const COLUMNS_HELP: &str = "codice fiscale, nome, cognome, email; facoltative: pec, telefono, categoria, applicazione, profilo";
/// Non-empty rows looked at to find the header (title rows may precede it).
const HEADER_SEARCH_ROWS: usize = 10;
const MAX_NAME: usize = 100;
const MAX_EMAIL: usize = 254;
const MAX_PHONE: usize = 20;
const MAX_CODE: usize = 50;
/// Uncompressed content of a spreadsheet; 10,000 rows take a few MB.
const MAX_UNZIPPED: u64 = 200 << 20;

// ---------------------------------------------------------------------------
// Spreadsheets

fn parse_workbook(bytes: &[u8], name: &str) -> Result<ParsedImport, String> {
    // A spreadsheet is a zip archive: refuse one that inflates beyond reason
    // (a "zip bomb") before the reader expands it in memory.
    if bytes.starts_with(b"PK") && !unzipped_within(bytes, MAX_UNZIPPED) {
        return Err(format!(
            "Il file {name} è troppo grande una volta decompresso (oltre {} MB): dividere l'elenco in più file.",
            MAX_UNZIPPED >> 20
        ));
    }
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| {
        format!(
            "Il file {name} non è un foglio di calcolo leggibile (forse è danneggiato o protetto da password): {EXPECTED_FILE}."
        )
    })?;
    let format = match &book {
        Sheets::Xlsx(_) => "XLSX",
        Sheets::Xls(_) => "XLS",
        Sheets::Xlsb(_) => "XLSB",
        Sheets::Ods(_) => "ODS",
    };
    let sheets: Vec<(String, bool)> = book
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    let Some(index) = sheets
        .iter()
        .position(|(_, visible)| *visible)
        .or_else(|| (!sheets.is_empty()).then_some(0))
    else {
        return Err(format!("Il file {name} non contiene fogli di lavoro."));
    };
    let sheet_name = sheets[index].0.clone();
    let range = book.worksheet_range(&sheet_name).map_err(|_| {
        format!("Il foglio «{sheet_name}» del file {name} non è leggibile: forse è danneggiato.")
    })?;
    let mut parser = Parser::new(false);
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    for (i, row) in range.rows().enumerate() {
        if !parser.feed(first_row + i + 1, row)? {
            break;
        }
    }
    let visible = sheets.iter().filter(|(_, v)| *v).count();
    if visible > 1 {
        parser.warnings.push(RowError {
            line: 1,
            column: None,
            message: format!(
                "il file ha {visible} fogli: è stato letto solo il primo, «{sheet_name}»; gli altri sono ignorati"
            ),
        });
    }
    parser.finish(format.to_string(), name)
}

/// Whether the archive's entries decompress to at most `limit` bytes in
/// all. Counted by inflating them (declared sizes can lie), never past the
/// limit. An archive the zip reader cannot open is left to the spreadsheet
/// reader to refuse.
fn unzipped_within(bytes: &[u8], limit: u64) -> bool {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return true;
    };
    let mut left = limit;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index(i) else {
            continue;
        };
        let n = std::io::copy(
            &mut std::io::Read::take(entry, left + 1),
            &mut std::io::sink(),
        )
        .unwrap_or(0);
        if n > left {
            return false;
        }
        left -= n;
    }
    true
}

impl Cells for [Data] {
    fn count(&self) -> usize {
        self.len()
    }

    fn cell(&self, i: usize) -> Cow<'_, str> {
        match self.get(i) {
            None | Some(Data::Empty) => Cow::Borrowed(""),
            Some(Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s)) => Cow::Borrowed(s),
            Some(Data::Int(n)) => Cow::Owned(n.to_string()),
            Some(Data::Float(f)) => Cow::Owned(float_text(*f)),
            Some(Data::Bool(b)) => Cow::Borrowed(if *b { "VERO" } else { "FALSO" }),
            Some(Data::DateTime(d)) => Cow::Owned(d.to_string()),
            Some(Data::Error(e)) => Cow::Owned(e.to_string()),
        }
    }
}

/// Whole numbers without ".0" (a telephone number typed as a number).
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

// ---------------------------------------------------------------------------
// Text files

fn parse_text(bytes: &[u8], name: &str) -> Result<ParsedImport, String> {
    let (text, encoding) = decode(bytes);
    if text.contains('\0') {
        return Err(format!(
            "Il file {name} non è un file di testo né un foglio Excel: {EXPECTED_FILE}."
        ));
    }
    let mut text: &str = &text;
    let mut line_offset = 0;
    let mut separator = None;
    // Excel's hint line: "sep=;".
    let first_line = text.split('\n').next().unwrap_or("").trim();
    if first_line.len() == 5 && first_line[..4].eq_ignore_ascii_case("sep=") {
        let sep = first_line.as_bytes()[4];
        if matches!(sep, b';' | b',' | b'\t' | b'|') {
            separator = Some(sep);
            text = text.split_once('\n').map_or("", |(_, rest)| rest);
            line_offset = 1;
        }
    }
    let separator = separator.unwrap_or_else(|| detect_separator(text));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .comment(None)
        .from_reader(text.as_bytes());
    // The reader's own line numbers point before the line break and blank
    // lines preceding a record, so lines are counted here: LF, CRLF, or CR
    // alone in old Mac exports.
    let all = text.as_bytes();
    let newline = if text.contains('\n') { b'\n' } else { b'\r' };
    let (mut counted_to, mut line) = (0usize, 1 + line_offset);
    let mut record = csv::StringRecord::new();
    let mut parser = Parser::new(true);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(format!("Il file {name} non è un CSV leggibile: {e}")),
        }
        let mut start = record
            .position()
            .map_or(counted_to, |p| p.byte() as usize)
            .max(counted_to);
        while all.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.min(all.len());
        line += all[counted_to..start]
            .iter()
            .filter(|&&b| b == newline)
            .count();
        counted_to = start;
        if !parser.feed(line, &record)? {
            break;
        }
    }
    let sep = match separator {
        b'\t' => "TAB".to_string(),
        other => (other as char).to_string(),
    };
    parser.finish(format!("CSV ({sep}) {encoding}"), name)
}

/// Decodes text: BOMs first, then UTF-8, otherwise Windows-1252.
fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(rest);
        return (text, "UTF-8");
    }
    let utf16 = if bytes.starts_with(b"\xFF\xFE") {
        Some((encoding_rs::UTF_16LE, &bytes[2..]))
    } else if bytes.starts_with(b"\xFE\xFF") {
        Some((encoding_rs::UTF_16BE, &bytes[2..]))
    } else if bytes.len() >= 4 && bytes[0] != 0 && bytes[1] == 0 && bytes[3] == 0 {
        Some((encoding_rs::UTF_16LE, bytes))
    } else if bytes.len() >= 4 && bytes[0] == 0 && bytes[2] == 0 && bytes[1] != 0 {
        Some((encoding_rs::UTF_16BE, bytes))
    } else {
        None
    };
    if let Some((encoding, body)) = utf16 {
        let (text, _) = encoding.decode_without_bom_handling(body);
        return (text, "UTF-16");
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), "UTF-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, "Windows-1252")
        }
    }
}

/// The separator most used outside quotes on the first line that has any
/// (title lines before the header may have none); `;` when there is none.
fn detect_separator(text: &str) -> u8 {
    const CANDIDATES: [u8; 3] = [b';', b'\t', b','];
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(HEADER_SEARCH_ROWS)
    {
        let mut counts = [0usize; 3];
        let mut quoted = false;
        for b in line.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
        let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
        if counts[best] > 0 {
            return CANDIDATES[best];
        }
    }
    b';'
}

impl Cells for csv::StringRecord {
    fn count(&self) -> usize {
        self.len()
    }

    fn cell(&self, i: usize) -> Cow<'_, str> {
        Cow::Borrowed(self.get(i).unwrap_or(""))
    }
}

// ---------------------------------------------------------------------------
// Columns

/// A row of cells, whatever the file format.
trait Cells {
    fn count(&self) -> usize;
    /// The raw (untrimmed) cell; empty past the end.
    fn cell(&self, i: usize) -> Cow<'_, str>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    FiscalCode,
    GivenName,
    FamilyName,
    Email,
    Pec,
    Phone,
    Category,
    Application,
    Profile,
}

impl Field {
    const ALL: [Field; 9] = [
        Field::FiscalCode,
        Field::GivenName,
        Field::FamilyName,
        Field::Email,
        Field::Pec,
        Field::Phone,
        Field::Category,
        Field::Application,
        Field::Profile,
    ];

    fn label(self) -> &'static str {
        match self {
            Field::FiscalCode => "codice fiscale",
            Field::GivenName => "nome",
            Field::FamilyName => "cognome",
            Field::Email => "email",
            Field::Pec => "pec",
            Field::Phone => "telefono",
            Field::Category => "categoria",
            Field::Application => "applicazione",
            Field::Profile => "profilo",
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Field::FiscalCode | Field::GivenName | Field::FamilyName | Field::Email
        )
    }

    /// Recognises a header already folded by [`fold`].
    fn from_header(folded: &str) -> Option<Field> {
        Some(match folded {
            "codicefiscale" | "cf" | "fiscalcode" | "codfiscale" | "codfisc" | "codicefisc"
            | "taxcode" => Field::FiscalCode,
            "nome" | "givenname" | "firstname" => Field::GivenName,
            "cognome" | "familyname" | "lastname" | "surname" => Field::FamilyName,
            "email"
            | "mail"
            | "postaelettronica"
            | "indirizzoemail"
            | "indirizzomail"
            | "emailaddress"
            | "indirizzopostaelettronica"
            | "indirizzodipostaelettronica" => Field::Email,
            "pec" | "postaelettronicacertificata" | "indirizzopec" | "emailpec" | "mailpec" => {
                Field::Pec
            }
            "telefono" | "phone" | "tel" | "cellulare" | "cell" | "mobile" | "phonenumber"
            | "numeroditelefono" | "numerotelefono" | "numerodicellulare"
            | "recapitotelefonico" => Field::Phone,
            "categoria" | "category" | "categoriautente" => Field::Category,
            "applicazione" | "application" | "servizio" | "service" | "codiceapplicazione"
            | "applicationcode" => Field::Application,
            "profilo" | "profile" | "ruolo" | "role" | "codiceprofilo" | "profilecode" => {
                Field::Profile
            }
            _ => return None,
        })
    }
}

/// Lower case, accents removed, only letters and digits kept; text in
/// parentheses or brackets dropped ("Email (obbligatoria)" → "email").
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ => {
                let c = match c.to_lowercase().next().unwrap_or(c) {
                    'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
                    'è' | 'é' | 'ê' | 'ë' => 'e',
                    'ì' | 'í' | 'î' | 'ï' => 'i',
                    'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
                    'ù' | 'ú' | 'û' | 'ü' => 'u',
                    'ç' => 'c',
                    'ñ' => 'n',
                    other => other,
                };
                if c.is_alphanumeric() {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Blanks around a value, including non-breaking and zero-width spaces and a
/// stray byte-order mark.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}' || c == '\u{200B}')
}

/// The recognised columns of the header row.
struct Header {
    /// Header of each column as written (trimmed).
    names: Vec<String>,
    /// Column of each field (the first, when repeated), by `Field::ALL` order.
    index: [Option<usize>; 9],
}

impl Header {
    fn col(&self, f: Field) -> Option<usize> {
        self.index[f as usize]
    }

    fn name(&self, f: Field) -> Option<String> {
        self.col(f).map(|i| self.names[i].clone())
    }

    /// Recognises a header row: `None` when no column name is known.
    fn recognise<C: Cells + ?Sized>(cells: &C) -> Option<(Header, Vec<RowError>)> {
        let mut names = Vec::with_capacity(cells.count());
        let mut index = [None; 9];
        let mut warnings = Vec::new();
        for i in 0..cells.count() {
            let raw = cells.cell(i);
            let name = trim(&raw).to_string();
            let field = Field::from_header(&fold(&name));
            match field {
                Some(f) if index[f as usize].is_none() => index[f as usize] = Some(i),
                Some(f) => warnings.push(RowError {
                    line: 1,
                    column: Some(name.clone()),
                    message: format!(
                        "colonna «{name}» ignorata: doppione della colonna «{}» (campo {}), che è quella usata",
                        names[index[f as usize].unwrap_or(0)],
                        f.label()
                    ),
                }),
                None if name.is_empty() => {}
                None => warnings.push(RowError {
                    line: 1,
                    column: Some(name.clone()),
                    message: format!(
                        "colonna «{name}» non riconosciuta: è ignorata (colonne previste: {COLUMNS_HELP})"
                    ),
                }),
            }
            names.push(name);
        }
        if index.iter().all(Option::is_none) {
            return None;
        }
        Some((Header { names, index }, warnings))
    }
}

// ---------------------------------------------------------------------------
// Rows

struct Parser {
    /// Text files: values past the header's last column mean a separator
    /// inside an unquoted value, so the row's columns cannot be trusted.
    strict_width: bool,
    header: Option<Header>,
    /// Non-empty rows seen before the header.
    before_header: Vec<usize>,
    /// The first non-empty row, to explain a missing header.
    first_row: Option<Vec<String>>,
    data_rows: usize,
    rows: Vec<ImportRow>,
    warnings: Vec<RowError>,
    errors: Vec<RowError>,
    seen: HashMap<FiscalCode, usize>,
}

impl Parser {
    fn new(strict_width: bool) -> Parser {
        Parser {
            strict_width,
            header: None,
            before_header: Vec::new(),
            first_row: None,
            data_rows: 0,
            rows: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Takes one row; `Ok(false)` stops reading (no header found early enough).
    fn feed<C: Cells + ?Sized>(&mut self, line: usize, cells: &C) -> Result<bool, String> {
        if (0..cells.count()).all(|i| trim(&cells.cell(i)).is_empty()) {
            return Ok(true);
        }
        match &self.header {
            Some(header) => {
                let header_width = header.names.len();
                self.data_row(line, cells, header_width);
                Ok(true)
            }
            None => {
                if self.first_row.is_none() {
                    self.first_row = Some(
                        (0..cells.count())
                            .map(|i| trim(&cells.cell(i)).to_string())
                            .collect(),
                    );
                }
                match Header::recognise(cells) {
                    Some((header, warnings)) => {
                        self.check_required(&header)?;
                        if !self.before_header.is_empty() {
                            self.warnings.push(RowError {
                                line: 1,
                                column: None,
                                message: format!(
                                    "{} prima dell'intestazione (riga {line}) ignorat{}",
                                    lines_text(&self.before_header),
                                    if self.before_header.len() == 1 {
                                        "a"
                                    } else {
                                        "e"
                                    }
                                ),
                            });
                        }
                        self.warnings.extend(warnings);
                        self.header = Some(header);
                        Ok(true)
                    }
                    None => {
                        self.before_header.push(line);
                        Ok(self.before_header.len() < HEADER_SEARCH_ROWS)
                    }
                }
            }
        }
    }

    fn check_required(&self, header: &Header) -> Result<(), String> {
        let missing: Vec<&str> = Field::ALL
            .iter()
            .filter(|f| f.required() && header.col(**f).is_none())
            .map(|f| f.label())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let found: Vec<String> = header
            .names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| format!("«{n}»"))
            .collect();
        Err(format!(
            "Mancano le colonne obbligatorie: {}. Colonne trovate nell'intestazione: {}. Colonne previste: {COLUMNS_HELP}.",
            missing.join(", "),
            found.join(", ")
        ))
    }

    fn finish(mut self, format: String, name: &str) -> Result<ParsedImport, String> {
        if self.header.is_none() {
            let Some(first) = self.first_row else {
                return Err(format!("Il file {name} è vuoto."));
            };
            let looks_like_data = first.iter().any(|c| FiscalCode::parse(c).is_ok());
            let shown: Vec<String> = first
                .iter()
                .filter(|c| !c.is_empty())
                .take(6)
                .map(|c| format!("«{}»", c.chars().take(40).collect::<String>()))
                .collect();
            return Err(if looks_like_data {
                format!(
                    "Manca la riga di intestazione: la prima riga contiene già dati ({}). Aggiungere in cima una riga con i nomi delle colonne: {COLUMNS_HELP}.",
                    shown.join(", ")
                )
            } else {
                format!(
                    "Nessuna intestazione riconosciuta nel file {name} (prima riga: {}). La prima riga deve contenere i nomi delle colonne: {COLUMNS_HELP}.",
                    shown.join(", ")
                )
            });
        }
        if self.data_rows == 0 {
            return Err(format!(
                "Il file {name} contiene solo l'intestazione: nessun utente da importare."
            ));
        }
        self.warnings.append(&mut self.errors);
        Ok(ParsedImport {
            rows: self.rows,
            errors: self.warnings,
            format,
        })
    }

    fn data_row<C: Cells + ?Sized>(&mut self, line: usize, cells: &C, header_width: usize) {
        self.data_rows += 1;
        let Some(h) = &self.header else { return };
        let errors_before = self.errors.len();
        let errors = &mut self.errors;
        let mut err = |field: Option<Field>, message: String| {
            errors.push(RowError {
                line,
                column: field.and_then(|f| h.name(f)),
                message,
            });
        };

        if self.strict_width {
            let extra = (header_width..cells.count())
                .filter(|&i| !trim(&cells.cell(i)).is_empty())
                .count();
            if extra > 0 {
                let used = (0..cells.count())
                    .rev()
                    .find(|&i| !trim(&cells.cell(i)).is_empty())
                    .map_or(0, |i| i + 1);
                err(
                    None,
                    format!(
                        "la riga ha {used} valori ma l'intestazione ha {header_width} colonne: probabilmente un valore contiene il separatore senza essere racchiuso tra virgolette (\"…\")"
                    ),
                );
            }
        }

        let get = |f: Field| -> Cow<'_, str> {
            match h.col(f) {
                Some(i) => match cells.cell(i) {
                    Cow::Borrowed(s) => Cow::Borrowed(trim(s)),
                    Cow::Owned(s) => Cow::Owned(trim(&s).to_string()),
                },
                None => Cow::Borrowed(""),
            }
        };

        // Codice fiscale: required, valid, once per file.
        let cf_raw = get(Field::FiscalCode);
        let fiscal_code = if cf_raw.is_empty() {
            err(
                Some(Field::FiscalCode),
                "codice fiscale mancante: è obbligatorio (16 caratteri, es. RSSMRA80A01H501U)"
                    .to_string(),
            );
            None
        } else {
            let compact: Cow<'_, str> = if cf_raw.contains(char::is_whitespace) {
                Cow::Owned(cf_raw.split_whitespace().collect())
            } else {
                Cow::Borrowed(&cf_raw)
            };
            match FiscalCode::parse(&compact) {
                Ok(cf) => match self.seen.get(&cf) {
                    Some(&first) => {
                        err(
                            Some(Field::FiscalCode),
                            format!(
                                "codice fiscale {cf} già presente alla riga {first}: ogni persona deve comparire una sola volta"
                            ),
                        );
                        None
                    }
                    None => {
                        self.seen.insert(cf.clone(), line);
                        Some(cf)
                    }
                },
                Err(e) => {
                    err(Some(Field::FiscalCode), e.to_string());
                    None
                }
            }
        };

        let given_name = check_name(&get(Field::GivenName), "il nome")
            .map_err(|m| err(Some(Field::GivenName), m))
            .ok();
        let family_name = check_name(&get(Field::FamilyName), "il cognome")
            .map_err(|m| err(Some(Field::FamilyName), m))
            .ok();

        let email = {
            let v = get(Field::Email);
            if v.is_empty() {
                err(
                    Some(Field::Email),
                    "indirizzo e-mail mancante: è obbligatorio (es. mario.rossi@comune.example.it)"
                        .to_string(),
                );
                None
            } else {
                check_email(&v, "un indirizzo e-mail")
                    .map_err(|m| err(Some(Field::Email), m))
                    .ok()
            }
        };
        let pec = optional(get(Field::Pec), |v| check_email(v, "un indirizzo PEC"))
            .map_err(|m| err(Some(Field::Pec), m))
            .ok();
        let phone = optional(get(Field::Phone), check_phone)
            .map_err(|m| err(Some(Field::Phone), m))
            .ok();
        let category = {
            let v = get(Field::Category);
            if v.is_empty() {
                Some(Category::PublicEmployee)
            } else {
                let c = parse_category(&v);
                if c.is_none() {
                    err(
                        Some(Field::Category),
                        format!("categoria «{v}» non riconosciuta: {}", categories_help()),
                    );
                }
                c
            }
        };

        let application = optional(get(Field::Application), |v| {
            check_code(v, "codice applicazione", "PTT").map(|c| c.to_uppercase())
        })
        .map_err(|m| err(Some(Field::Application), m))
        .ok();
        let profile = optional(get(Field::Profile), |v| {
            let code: String = v
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("_")
                .to_lowercase();
            check_code(&code, "codice profilo", "ente_impositore")
        })
        .map_err(|m| err(Some(Field::Profile), m))
        .ok();
        match (&application, &profile) {
            (Some(Some(app)), Some(None)) => {
                let column = if h.col(Field::Profile).is_some() {
                    Field::Profile
                } else {
                    Field::Application
                };
                err(
                    Some(column),
                    format!(
                        "applicazione «{app}» senza profilo: indicare anche il profilo da assegnare (es. ente_impositore), oppure lasciare vuote entrambe le colonne"
                    ),
                );
            }
            (Some(None), Some(Some(profile))) => {
                let column = if h.col(Field::Application).is_some() {
                    Field::Application
                } else {
                    Field::Profile
                };
                err(
                    Some(column),
                    format!(
                        "profilo «{profile}» senza applicazione: indicare anche il codice dell'applicazione (es. PTT), oppure lasciare vuote entrambe le colonne"
                    ),
                );
            }
            _ => {}
        }

        if self.errors.len() != errors_before {
            return;
        }
        if let (
            Some(fiscal_code),
            Some(given_name),
            Some(family_name),
            Some(email),
            Some(pec),
            Some(phone),
            Some(category),
            Some(application),
            Some(profile),
        ) = (
            fiscal_code,
            given_name,
            family_name,
            email,
            pec,
            phone,
            category,
            application,
            profile,
        ) {
            self.rows.push(ImportRow {
                line,
                fiscal_code,
                given_name,
                family_name,
                email,
                pec,
                phone,
                category,
                application,
                profile,
            });
        }
    }
}

/// "riga 3" or "righe 1, 2, 3".
fn lines_text(lines: &[usize]) -> String {
    let list: Vec<String> = lines.iter().map(usize::to_string).collect();
    if lines.len() == 1 {
        format!("riga {}", list[0])
    } else {
        format!("righe {}", list.join(", "))
    }
}

/// `Ok(None)` for an empty cell, else the checked value.
fn optional(
    v: Cow<'_, str>,
    check: impl FnOnce(&str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    if v.is_empty() {
        Ok(None)
    } else {
        check(&v).map(Some)
    }
}

/// Unicode space separators other than the plain space (non-breaking, thin…).
fn is_odd_space(c: char) -> bool {
    matches!(
        c,
        '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// A required name: at most 100 characters, no control characters; odd
/// spaces inside become plain spaces. `what` is "il nome" or "il cognome".
fn check_name(v: &str, what: &str) -> Result<String, String> {
    if v.is_empty() {
        return Err(format!("{what} è obbligatorio e manca"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!(
            "{what} contiene caratteri non ammessi (a capo, tabulazione o caratteri di controllo): va scritto su una sola riga"
        ));
    }
    let count = v.chars().count();
    if count > MAX_NAME {
        return Err(format!(
            "{what} è troppo lungo: {count} caratteri, al massimo {MAX_NAME}"
        ));
    }
    Ok(if v.contains(is_odd_space) {
        v.chars()
            .map(|c| if is_odd_space(c) { ' ' } else { c })
            .collect()
    } else {
        v.to_string()
    })
}

/// `what` is "un indirizzo e-mail" or "un indirizzo PEC".
fn check_email(v: &str, what: &str) -> Result<String, String> {
    if v.len() <= MAX_EMAIL && v.parse::<lettre::Address>().is_ok() {
        Ok(v.to_string())
    } else {
        Err(format!(
            "«{v}» non è {what} valido: atteso nome@dominio, es. mario.rossi@comune.example.it (al massimo {MAX_EMAIL} caratteri)"
        ))
    }
}

fn check_phone(v: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_digit() || " +-./()".contains(c);
    if v.chars().count() <= MAX_PHONE
        && v.chars().all(allowed)
        && v.chars().any(|c| c.is_ascii_digit())
    {
        Ok(v.to_string())
    } else {
        Err(format!(
            "«{v}» non è un numero di telefono valido: sono ammessi cifre, spazi e + - . / ( ), al massimo {MAX_PHONE} caratteri (es. +39 06 1234567)"
        ))
    }
}

fn check_code(v: &str, what: &str, example: &str) -> Result<String, String> {
    let ok = v.len() <= MAX_CODE
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "{what} «{v}» non valido: sono ammessi lettere senza accenti, cifre, «_», «-» e «.», al massimo {MAX_CODE} caratteri (es. {example})"
        ))
    }
}

/// Category codes, the Italian labels of `Category::label_it`, and common
/// Italian ways of saying them. Words that could mean two categories (e.g.
/// "ente", "azienda", "consulente tecnico") are deliberately not accepted.
fn parse_category(v: &str) -> Option<Category> {
    if let Some(c) = Category::from_code(v) {
        return Some(c);
    }
    let folded = fold(v);
    let known = match folded.as_str() {
        "dipendente"
        | "dipendentepubblico"
        | "dipendentepubblica"
        | "pubblicodipendente"
        | "dipendentepa"
        | "dipendentedellapa"
        | "dipendentedellente"
        | "dipendenteente"
        | "dipendentepubblicaamministrazione"
        | "dipendentedellapubblicaamministrazione" => Some(Category::PublicEmployee),
        "concessionario"
        | "dipendenteconcessionario"
        | "dipendentediconcessionario"
        | "dipendentedelconcessionario"
        | "aziendamunicipalizzata"
        | "municipalizzata"
        | "dipendenteaziendamunicipalizzata"
        | "dipendentediaziendamunicipalizzata"
        | "dipendentedellaziendamunicipalizzata" => Some(Category::ContractorEmployee),
        "personafisica" | "privato" | "privatocittadino" | "cittadino" => {
            Some(Category::PrivatePerson)
        }
        "societa" | "impresa" | "personagiuridica" => Some(Category::Company),
        "professionista" | "liberoprofessionista" | "liberaprofessionista" => {
            Some(Category::Professional)
        }
        "intermediario" | "intermediaria" => Some(Category::Intermediary),
        "ctu" | "ausiliario" | "ausiliariodelgiudice" | "consulentetecnicodufficio" => {
            Some(Category::CourtAuxiliary)
        }
        _ => None,
    };
    known.or_else(|| {
        Category::ALL
            .into_iter()
            .find(|c| fold(c.code()) == folded || fold(c.label_it()) == folded)
    })
}

fn categories_help() -> String {
    let labels: Vec<&str> = Category::ALL.iter().map(|c| c.label_it()).collect();
    let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
    format!(
        "valori ammessi: {} (oppure i codici {}); lasciare vuoto per «Dipendente pubblico»",
        labels.join(", "),
        codes.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_core::fiscal_code::check_character;

    /// A valid codice fiscale from its first 15 characters.
    fn cf(first15: &str) -> String {
        format!("{first15}{}", check_character(first15))
    }

    fn win1252(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
        assert!(!unmappable);
        bytes.into_owned()
    }

    fn err(line: usize, column: Option<&str>, contains: &str) -> (usize, Option<String>, String) {
        (line, column.map(str::to_string), contains.to_string())
    }

    /// Every expected error is there (message contains the text), and no other.
    fn assert_errors(parsed: &ParsedImport, expected: &[(usize, Option<String>, String)]) {
        assert_eq!(
            parsed.errors.len(),
            expected.len(),
            "errors: {:#?}",
            parsed.errors
        );
        for (line, column, text) in expected {
            assert!(
                parsed
                    .errors
                    .iter()
                    .any(|e| e.line == *line && &e.column == column && e.message.contains(text)),
                "missing error {line} {column:?} «{text}» in {:#?}",
                parsed.errors
            );
        }
    }

    #[test]
    fn semicolon_windows_1252_crlf_with_accented_names() {
        let (a, b, c) = (
            cf("DNGNCC85M10H501"),
            cf("BNCLCU70A41F205"),
            cf("PRUMRA90C03L219"),
        );
        let text = format!(
            "Codice Fiscale;Nome;Cognome;E-mail;PEC;Telefono;Categoria;Applicazione;Profilo\r\n\
             {a};Niccolò;D'Angelo;niccolo.dangelo@comune.example.it;;06 1234567;Dipendente pubblico;ptt;Ente impositore\r\n\
             {b};Nicolò;Perù;lucia.bianchi@comune.example.it;l.bianchi@pec.example.it;;;;\r\n\
             {c};Maria Luisa;Àlvarez;maria@example.it;;;Concessionario;TELECONTENZIOSO;ente_impositore\r\n"
        );
        let bytes = win1252(&text);
        assert!(std::str::from_utf8(&bytes).is_err());
        let parsed = parse_users(&bytes, "elenco.csv").unwrap();
        assert_eq!(parsed.format, "CSV (;) Windows-1252");
        assert_errors(&parsed, &[]);
        assert_eq!(
            parsed.rows,
            vec![
                ImportRow {
                    line: 2,
                    fiscal_code: FiscalCode::parse(&a).unwrap(),
                    given_name: "Niccolò".into(),
                    family_name: "D'Angelo".into(),
                    email: "niccolo.dangelo@comune.example.it".into(),
                    pec: None,
                    phone: Some("06 1234567".into()),
                    category: Category::PublicEmployee,
                    application: Some("PTT".into()),
                    profile: Some("ente_impositore".into()),
                },
                ImportRow {
                    line: 3,
                    fiscal_code: FiscalCode::parse(&b).unwrap(),
                    given_name: "Nicolò".into(),
                    family_name: "Perù".into(),
                    email: "lucia.bianchi@comune.example.it".into(),
                    pec: Some("l.bianchi@pec.example.it".into()),
                    phone: None,
                    category: Category::PublicEmployee,
                    application: None,
                    profile: None,
                },
                ImportRow {
                    line: 4,
                    fiscal_code: FiscalCode::parse(&c).unwrap(),
                    given_name: "Maria Luisa".into(),
                    family_name: "Àlvarez".into(),
                    email: "maria@example.it".into(),
                    pec: None,
                    phone: None,
                    category: Category::ContractorEmployee,
                    application: Some("TELECONTENZIOSO".into()),
                    profile: Some("ente_impositore".into()),
                },
            ]
        );
    }

    #[test]
    fn utf8_bom_commas_and_english_headers() {
        let a = cf("RSSMRA80A01H501");
        let text = format!(
            "\u{FEFF}fiscal_code,first name,Last_Name,mail,category,role,application\n\
             {},Mario,Rossi,mario.rossi@example.it,professional,Professionista,PTT\n",
            a.to_lowercase()
        );
        let parsed = parse_users(text.as_bytes(), "users.csv").unwrap();
        assert_eq!(parsed.format, "CSV (,) UTF-8");
        assert_errors(&parsed, &[]);
        assert_eq!(parsed.rows.len(), 1);
        let r = &parsed.rows[0];
        assert_eq!(r.fiscal_code.as_str(), a);
        assert_eq!(
            (r.given_name.as_str(), r.family_name.as_str()),
            ("Mario", "Rossi")
        );
        assert_eq!(r.category, Category::Professional);
        assert_eq!(r.application.as_deref(), Some("PTT"));
        assert_eq!(r.profile.as_deref(), Some("professionista"));
    }

    #[test]
    fn quoted_fields_with_separator_quote_and_newline() {
        let (a, b) = (cf("RSSMRA80A01H501"), cf("VRDGPP75B12F205"));
        let text = format!(
            "codice fiscale;nome;cognome;email;note\n\
             {a};\"Anna; Maria\";\"Rossi \"\"detta\"\" Bianchi\";anna@example.it;\"prima riga\nseconda riga; con separatore\"\n\
             {b};Giuseppe;Verdi;giuseppe@example.it;\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert_errors(&parsed, &[err(1, Some("note"), "non riconosciuta")]);
        assert_eq!(parsed.warnings().count(), 1);
        assert_eq!(parsed.row_errors().count(), 0);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].given_name, "Anna; Maria");
        assert_eq!(parsed.rows[0].family_name, "Rossi \"detta\" Bianchi");
        // The quoted newline makes the next record start on line 4.
        assert_eq!((parsed.rows[0].line, parsed.rows[1].line), (2, 4));
    }

    #[test]
    fn a_newline_inside_a_name_is_refused() {
        let a = cf("RSSMRA80A01H501");
        let text = format!("cf;nome;cognome;email\n{a};\"Anna\nMaria\";Rossi;anna@example.it\n");
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert!(parsed.rows.is_empty());
        assert_errors(&parsed, &[err(2, Some("nome"), "caratteri non ammessi")]);
    }

    #[test]
    fn blanks_non_breaking_spaces_empty_columns_and_blank_lines() {
        let (a, b) = (cf("RSSMRA80A01H501"), cf("VRDGPP75B12F205"));
        let nb = '\u{A0}';
        let text = format!(
            "\n  Codice fiscale ;{nb}Nome{nb};Cognome  ;Email;;;\r\n\
             \r\n\
             ;;;;;;\r\n\
             {nb}{a}{nb} ;  Mario{nb}Luigi  ;\tRossi\t; mario@example.it{nb};;;\r\n\
             \r\n\
             {b};Giuseppe;Verdi;giuseppe@example.it\r\n\
             ;;;\r\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert_errors(&parsed, &[]);
        assert_eq!(parsed.rows.len(), 2);
        let r = &parsed.rows[0];
        assert_eq!(r.line, 5);
        assert_eq!(r.fiscal_code.as_str(), a);
        assert_eq!(r.given_name, "Mario Luigi");
        assert_eq!(r.family_name, "Rossi");
        assert_eq!(r.email, "mario@example.it");
        assert_eq!(parsed.rows[1].line, 7);
    }

    #[test]
    fn crlf_inside_quotes_and_cr_only_files_keep_line_numbers() {
        let (a, b) = (cf("RSSMRA80A01H501"), cf("VRDGPP75B12F205"));
        let text = format!(
            "\"cf\";\"nome\";\"cognome\";\"email\";\"note\"\r\n\
             \"{a}\";\"Mario\";\"Rossi\";\"m@example.it\";\"uno\r\ndue\"\r\n\
             \"{b}\";\"Giuseppe\";\"Verdi\";\"g@example.it\";\"\"\r\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert_errors(&parsed, &[err(1, Some("note"), "ignorata")]);
        assert_eq!((parsed.rows[0].line, parsed.rows[1].line), (2, 4));
        assert_eq!(parsed.rows[0].email, "m@example.it");

        let text =
            format!("cf;nome;cognome;email\r{a};Mario;Rossi;m@example.it\r\r{b};G;V;g@x.it\r");
        let parsed = parse_users(text.as_bytes(), "mac.csv").unwrap();
        assert_errors(&parsed, &[]);
        assert_eq!((parsed.rows[0].line, parsed.rows[1].line), (2, 4));
        assert_eq!(parsed.rows[1].email, "g@x.it");
    }

    #[test]
    fn tab_separated_utf16_with_bom() {
        let a = cf("RSSMRA80A01H501");
        let text = format!("CF\tNome\tCognome\tEmail\r\n{a}\tNicolò\tRossi\tn@example.it\r\n");
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let parsed = parse_users(&bytes, "x.txt").unwrap();
        assert_eq!(parsed.format, "CSV (TAB) UTF-16");
        assert_errors(&parsed, &[]);
        assert_eq!(parsed.rows[0].given_name, "Nicolò");
    }

    #[test]
    fn excel_sep_line_and_title_rows_before_the_header() {
        let a = cf("RSSMRA80A01H501");
        let text = format!(
            "sep=,\nElenco del personale,,,\n,,,\nCodice fiscale,Nome,Cognome,Email (obbligatoria)\n{a},Mario,Rossi,m@example.it\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert_eq!(parsed.format, "CSV (,) UTF-8");
        assert_errors(&parsed, &[err(1, None, "riga 2 prima dell'intestazione")]);
        assert_eq!(parsed.rows[0].line, 5);
    }

    #[test]
    fn xlsx_with_numeric_phone_column() {
        let (a, b) = (cf("RSSMRA80A01H501"), cf("VRDGPP75B12F205"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let header = [
            "Codice fiscale",
            "Nome",
            "Cognome",
            "Email",
            "Telefono",
            "Ruolo",
            "Servizio",
            "Note",
        ];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, &a).unwrap();
        sheet.write_string(1, 1, "Nicolò ").unwrap();
        sheet.write_string(1, 2, "D'Angelo").unwrap();
        sheet.write_string(1, 3, "n.dangelo@example.it").unwrap();
        sheet.write_number(1, 4, 3331234567.0).unwrap();
        sheet.write_string(1, 5, "ente_impositore").unwrap();
        sheet.write_string(1, 6, "PTT").unwrap();
        sheet.write_number(1, 7, 1.5).unwrap();
        // Row 3 left empty; row 4 has an invalid e-mail.
        sheet.write_string(3, 0, &b).unwrap();
        sheet.write_string(3, 1, "Giuseppe").unwrap();
        sheet.write_string(3, 2, "Verdi").unwrap();
        sheet.write_string(3, 3, "giuseppe.example.it").unwrap();
        sheet.write_number(3, 4, 612345678.0).unwrap();
        book.add_worksheet().set_name("Istruzioni").unwrap();
        let bytes = book.save_to_buffer().unwrap();

        let parsed = parse_users(&bytes, "elenco.xlsx").unwrap();
        assert_eq!(parsed.format, "XLSX");
        assert_errors(
            &parsed,
            &[
                err(1, Some("Note"), "ignorata"),
                err(1, None, "è stato letto solo il primo, «Sheet1»"),
                err(
                    4,
                    Some("Email"),
                    "«giuseppe.example.it» non è un indirizzo e-mail valido",
                ),
            ],
        );
        assert_eq!(parsed.rows.len(), 1);
        let r = &parsed.rows[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.given_name, "Nicolò");
        assert_eq!(r.phone.as_deref(), Some("3331234567"));
        assert_eq!(r.application.as_deref(), Some("PTT"));
        assert_eq!(r.profile.as_deref(), Some("ente_impositore"));
    }

    #[test]
    fn inflated_size_is_measured_not_trusted() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for row in 0..2_000 {
            sheet.write_string(row, 0, "x".repeat(100)).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        assert!(unzipped_within(&bytes, 10 << 20));
        assert!(!unzipped_within(&bytes, 100_000));
        assert!(unzipped_within(b"PK\x03\x04 not a zip", 10));
    }

    #[test]
    fn broken_rows_report_every_problem_with_line_and_column() {
        let good = cf("RSSMRA80A01H501");
        let mut wrong_check = cf("VRDGPP75B12F205");
        let last = wrong_check.pop().unwrap();
        wrong_check.push(if last == 'A' { 'B' } else { 'A' });
        let (c, d, e) = (
            cf("BNCLCU70A41F205"),
            cf("NRIPLA60D15L219"),
            cf("GLLFNC82E22A662"),
        );
        let text = format!(
            "Codice fiscale;Nome;Cognome;Email;Categoria;Applicazione;Profilo;Telefono\n\
             {good};Mario;Rossi;mario@example.it;;;;\n\
             {wrong_check};Giuseppe;Verdi;non-una-mail;;;;\n\
             {c};;Bianchi;lucia@example.it;Astronauta;;;\n\
             {good};Mario;Rossi;altro@example.it;;;;\n\
             {d};Paolo;Neri;paolo@example.it;;PTT;;\n\
             {e};Franca;Gialli;franca@example.it;dipendente;;ctu;mario@example.it\n\
             ;Senza;Codice;;;;;\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        let expected_check = check_character(&wrong_check[..15]);
        assert_errors(
            &parsed,
            &[
                err(
                    3,
                    Some("Codice fiscale"),
                    &format!("carattere di controllo errato: atteso «{expected_check}»"),
                ),
                err(
                    3,
                    Some("Email"),
                    "«non-una-mail» non è un indirizzo e-mail valido",
                ),
                err(4, Some("Nome"), "il nome è obbligatorio"),
                err(
                    4,
                    Some("Categoria"),
                    "categoria «Astronauta» non riconosciuta",
                ),
                err(5, Some("Codice fiscale"), "già presente alla riga 2"),
                err(6, Some("Profilo"), "applicazione «PTT» senza profilo"),
                err(7, Some("Applicazione"), "profilo «ctu» senza applicazione"),
                err(7, Some("Telefono"), "non è un numero di telefono valido"),
                err(8, Some("Codice fiscale"), "codice fiscale mancante"),
                err(8, Some("Email"), "indirizzo e-mail mancante"),
            ],
        );
        // The wrong-check message is exactly the core's, with nothing added.
        let core_message = FiscalCode::parse(&wrong_check).unwrap_err().to_string();
        assert!(parsed.errors.iter().any(|e| e.message == core_message));
        // Only the good row survives, never half a row.
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].line, 2);
    }

    #[test]
    fn too_long_names_and_unquoted_separators_are_refused() {
        let (a, b) = (cf("RSSMRA80A01H501"), cf("VRDGPP75B12F205"));
        let long = "A".repeat(101);
        let text = format!(
            "cf;nome;cognome;email\n{a};{long};Rossi;a@example.it\n{b};Anna;Rossi; Bianchi;b@example.it\n"
        );
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert!(parsed.rows.is_empty());
        assert_errors(
            &parsed,
            &[
                err(2, Some("nome"), "101 caratteri, al massimo 100"),
                err(
                    3,
                    None,
                    "la riga ha 5 valori ma l'intestazione ha 4 colonne",
                ),
                err(
                    3,
                    Some("email"),
                    "«Bianchi» non è un indirizzo e-mail valido",
                ),
            ],
        );
    }

    #[test]
    fn categories_codes_and_italian_labels() {
        let cases = [
            ("public_employee", Category::PublicEmployee),
            ("Dipendente pubblico", Category::PublicEmployee),
            ("dipendente", Category::PublicEmployee),
            ("CONTRACTOR_EMPLOYEE", Category::ContractorEmployee),
            ("Concessionario", Category::ContractorEmployee),
            (
                "Dipendente di concessionario o azienda municipalizzata",
                Category::ContractorEmployee,
            ),
            ("private_person", Category::PrivatePerson),
            ("Persona fisica", Category::PrivatePerson),
            ("company", Category::Company),
            ("Società", Category::Company),
            ("Società o ente", Category::Company),
            ("professional", Category::Professional),
            ("Professionista", Category::Professional),
            ("Intermediario", Category::Intermediary),
            ("intermediary", Category::Intermediary),
            ("CTU", Category::CourtAuxiliary),
            ("court_auxiliary", Category::CourtAuxiliary),
            ("Ausiliario del giudice (CTU)", Category::CourtAuxiliary),
            ("Consulente tecnico d’ufficio", Category::CourtAuxiliary),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_category(text), Some(expected), "{text}");
        }
        for ambiguous in [
            "ente",
            "azienda",
            "consulente tecnico",
            "x",
            "dipendenti vari",
        ] {
            assert_eq!(parse_category(ambiguous), None, "{ambiguous}");
        }
    }

    #[test]
    fn unusable_files_are_refused_with_a_reason() {
        let a = cf("RSSMRA80A01H501");
        let e = parse_users(b"", "vuoto.csv").unwrap_err();
        assert!(e.contains("è vuoto"), "{e}");
        let e = parse_users(b" \r\n\r\n", "vuoto.csv").unwrap_err();
        assert!(e.contains("è vuoto"), "{e}");
        let e = parse_users(b";;;\r\n;;;\r\n", "vuoto.csv").unwrap_err();
        assert!(e.contains("è vuoto"), "{e}");

        let no_header = format!("{a};Mario;Rossi;m@example.it\n");
        let e = parse_users(no_header.as_bytes(), "x.csv").unwrap_err();
        assert!(e.contains("Manca la riga di intestazione"), "{e}");

        let e = parse_users(b"alfa;beta\n1;2\n", "x.csv").unwrap_err();
        assert!(e.contains("Nessuna intestazione riconosciuta"), "{e}");

        let missing = format!("Codice fiscale;Cognome;Telefono\n{a};Rossi;123\n");
        let e = parse_users(missing.as_bytes(), "x.csv").unwrap_err();
        assert!(
            e.starts_with("Mancano le colonne obbligatorie: nome, email."),
            "{e}"
        );
        assert!(e.contains("«Codice fiscale», «Cognome», «Telefono»"), "{e}");

        let e = parse_users(b"codice fiscale;nome;cognome;email\r\n", "x.csv").unwrap_err();
        assert!(e.contains("solo l'intestazione"), "{e}");

        let e = parse_users(b"PK\x03\x04not really a zip", "x.xlsx").unwrap_err();
        assert!(e.contains("non è un foglio di calcolo leggibile"), "{e}");
        let e = parse_users(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0", "foto.png").unwrap_err();
        assert!(e.contains("non è un file di testo"), "{e}");
        let e = parse_users(b"%PDF-1.7\n", "x.pdf").unwrap_err();
        assert!(e.contains("è un PDF"), "{e}");
    }

    #[test]
    fn repeated_columns_keep_the_first() {
        let a = cf("RSSMRA80A01H501");
        let text =
            format!("cf;nome;cognome;email;telefono;cellulare\n{a};M;R;m@example.it;06 123;333\n");
        let parsed = parse_users(text.as_bytes(), "x.csv").unwrap();
        assert_errors(
            &parsed,
            &[err(
                1,
                Some("cellulare"),
                "doppione della colonna «telefono»",
            )],
        );
        assert_eq!(parsed.rows[0].phone.as_deref(), Some("06 123"));
    }

    #[test]
    fn ten_thousand_rows() {
        let mut text =
            String::from("Codice fiscale;Nome;Cognome;Email;Telefono;Applicazione;Profilo\r\n");
        for i in 0..10_000 {
            let code = cf(&format!("RSSMRA{:02}A01H{:03}", i % 100, i / 100));
            text.push_str(&format!(
                "{code};Nicolò {i};Rossi;utente{i}@comune.example.it;06 {i};PTT;ente_impositore\r\n"
            ));
        }
        let bytes = win1252(&text);
        let parsed = parse_users(&bytes, "grande.csv").unwrap();
        assert_errors(&parsed, &[]);
        assert_eq!(parsed.rows.len(), 10_000);
        assert_eq!(parsed.rows[9_999].line, 10_001);
        assert_eq!(parsed.rows[9_999].given_name, "Nicolò 9999");

        // The same as a spreadsheet.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["Codice fiscale", "Nome", "Cognome", "Email", "Telefono"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (i, r) in parsed.rows.iter().enumerate() {
            let row = i as u32 + 1;
            sheet.write_string(row, 0, r.fiscal_code.as_str()).unwrap();
            sheet.write_string(row, 1, &r.given_name).unwrap();
            sheet.write_string(row, 2, &r.family_name).unwrap();
            sheet.write_string(row, 3, &r.email).unwrap();
            sheet
                .write_number(row, 4, 3_330_000_000.0 + i as f64)
                .unwrap();
        }
        let parsed = parse_users(&book.save_to_buffer().unwrap(), "grande.xlsx").unwrap();
        assert_errors(&parsed, &[]);
        assert_eq!(parsed.rows.len(), 10_000);
        assert_eq!(parsed.rows[9_999].line, 10_001);
        assert_eq!(parsed.rows[9_999].phone.as_deref(), Some("3330009999"));
    }
}
