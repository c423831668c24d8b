//! Self-registration of private subjects (seed 001, case 1): who may register
//! alone, the states a registration goes through, the request document the
//! applicant signs, and what his signature must show.

use crate::FiscalCode;
use crate::identity::Category;

/// Categories that register themselves, with a PEC address and a digital
/// signature. Intermediaries are enabled by the Revenue Agency's channels and
/// contractors' employees by their authority's local administrator.
pub const SELF_REGISTERING: [Category; 5] = [
    Category::PrivatePerson,
    Category::Company,
    Category::Professional,
    Category::CourtAuxiliary,
    Category::PublicEmployee,
];

pub fn self_registers(category: Category) -> bool {
    SELF_REGISTERING.contains(&category)
}

/// Whether the category works for a body that must be named.
pub fn needs_organization(category: Category) -> bool {
    category == Category::PublicEmployee
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for the applicant to open the link sent to his PEC.
    PecPending,
    /// PEC confirmed, document issued: waiting for the signed document.
    AwaitingSignature,
    /// Signature verified; the body has no local administrator: the central
    /// administrator decides on the documentation (seed 001, case 3).
    AwaitingApproval,
    /// The user exists, with the profile of his category.
    Active,
    /// Refused by the central administrator (the reason is kept).
    Refused,
}

impl State {
    pub const ALL: [State; 5] = [
        State::PecPending,
        State::AwaitingSignature,
        State::AwaitingApproval,
        State::Active,
        State::Refused,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::PecPending => "pec_pending",
            State::AwaitingSignature => "awaiting_signature",
            State::AwaitingApproval => "awaiting_approval",
            State::Active => "active",
            State::Refused => "refused",
        }
    }

    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_it(self) -> &'static str {
        match self {
            State::PecPending => "In attesa di conferma della PEC",
            State::AwaitingSignature => "In attesa del documento firmato",
            State::AwaitingApproval => "In attesa di approvazione",
            State::Active => "Utenza attiva",
            State::Refused => "Respinta",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            State::PecPending => "Waiting for PEC confirmation",
            State::AwaitingSignature => "Waiting for the signed document",
            State::AwaitingApproval => "Waiting for approval",
            State::Active => "Account active",
            State::Refused => "Refused",
        }
    }

    /// The applicant's link still works in these states (the page shows
    /// where he stands).
    pub fn open(self) -> bool {
        matches!(
            self,
            State::PecPending | State::AwaitingSignature | State::AwaitingApproval
        )
    }
}

/// `REG-<year>-<n>`, at least seven digits.
pub fn reference(year: i16, id: i64) -> String {
    format!("REG-{year}-{id:07}")
}

/// The applicant as the request document states him.
#[derive(Clone, Debug)]
pub struct Applicant<'a> {
    pub reference: &'a str,
    pub fiscal_code: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub category: Category,
    pub email: &'a str,
    pub pec: &'a str,
    pub organization: Option<&'a str>,
    /// Local date and time of issue, as printed.
    pub issued: &'a str,
}

/// The lines of the registration request the applicant signs.
pub fn request_lines(a: &Applicant<'_>) -> Vec<String> {
    let mut lines = vec![
        "RICHIESTA DI REGISTRAZIONE AI SERVIZI DEL PORTALE".to_string(),
        "Soggetti privati, ausiliari del giudice e dipendenti pubblici".to_string(),
        String::new(),
        format!("Numero di registrazione: {}", a.reference),
        format!("Emessa il: {}", a.issued),
        String::new(),
        "Il/La sottoscritto/a".to_string(),
        format!("Cognome: {}", a.family_name),
        format!("Nome: {}", a.given_name),
        format!("Codice fiscale: {}", a.fiscal_code),
        format!("Categoria: {}", a.category.label_it()),
    ];
    if let Some(o) = a.organization {
        lines.push(format!("Ente di appartenenza: {o}"));
    }
    lines.extend([
        format!("Posta elettronica: {}", a.email),
        format!("Posta elettronica certificata (PEC): {}", a.pec),
        String::new(),
        "chiede di essere registrato/a ai servizi del portale e dichiara che i dati".to_string(),
        "sopra riportati sono veritieri (artt. 46 e 76 del D.P.R. 445/2000).".to_string(),
        String::new(),
        "Il presente documento va firmato digitalmente (CAdES, .p7m) dal richiedente".to_string(),
        "e caricato, senza modifiche, nella pagina della registrazione.".to_string(),
        String::new(),
        "I dati personali sono trattati secondo il Regolamento (UE) 2016/679 e il".to_string(),
        "D.Lgs. 196/2003.".to_string(),
    ]);
    lines
}

/// Why a verified signature does not complete a registration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureMismatch {
    #[error("il documento firmato non è quello rilasciato dal portale per questa registrazione")]
    NotTheIssuedDocument,
    #[error("il documento è firmato da un'altra persona (codice fiscale {0}), non dal richiedente")]
    OtherSigner(String),
    #[error("la data di firma è precedente all'emissione del documento")]
    SignedBeforeIssue,
}

/// Checks a signed document against the registration: the content is the
/// issued document byte for byte, the applicant is among the signers, and
/// he signed after the document was issued (times in microseconds; a small
/// clock difference between the signer's computer and ours is tolerated).
pub fn check_signature(
    issued: &[u8],
    issued_at: i64,
    applicant: &FiscalCode,
    content: &[u8],
    signers: &[(FiscalCode, i64)],
) -> Result<(), SignatureMismatch> {
    const SKEW: i64 = 5 * 60 * 1_000_000;
    if content != issued {
        return Err(SignatureMismatch::NotTheIssuedDocument);
    }
    let Some((_, signed_at)) = signers.iter().find(|(cf, _)| cf == applicant) else {
        let other = signers
            .first()
            .map(|(cf, _)| cf.as_str().to_string())
            .unwrap_or_default();
        return Err(SignatureMismatch::OtherSigner(other));
    };
    if *signed_at + SKEW < issued_at {
        return Err(SignatureMismatch::SignedBeforeIssue);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(s: &str) -> FiscalCode {
        FiscalCode::parse(s).unwrap()
    }

    #[test]
    fn only_the_seed_categories_register_themselves() {
        assert!(self_registers(Category::CourtAuxiliary));
        assert!(self_registers(Category::PublicEmployee));
        assert!(!self_registers(Category::Intermediary));
        assert!(!self_registers(Category::ContractorEmployee));
        assert!(needs_organization(Category::PublicEmployee));
        assert!(!needs_organization(Category::Professional));
    }

    #[test]
    fn states_read_back_and_references_have_seven_digits() {
        for s in State::ALL {
            assert_eq!(State::from_code(s.code()), Some(s));
        }
        assert_eq!(State::from_code("nope"), None);
        assert_eq!(reference(2026, 42), "REG-2026-0000042");
        assert!(State::AwaitingApproval.open() && !State::Active.open());
    }

    #[test]
    fn the_document_names_the_applicant() {
        let lines = request_lines(&Applicant {
            reference: "REG-2026-0000001",
            fiscal_code: "RSSMRA80A01H501U",
            given_name: "Mario",
            family_name: "Rossi",
            category: Category::PublicEmployee,
            email: "m@example.it",
            pec: "m@pec.example.it",
            organization: Some("ASL Ferrara"),
            issued: "04/12/2026 10:00",
        });
        let text = lines.join("\n");
        for needle in [
            "RSSMRA80A01H501U",
            "Rossi",
            "ASL Ferrara",
            "REG-2026-0000001",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn a_signature_completes_a_registration_only_when_everything_matches() {
        let me = cf("RSSMRA80A01H501U");
        let other = cf("SPSRRT77P03D548A");
        let doc = b"issued".as_slice();
        assert_eq!(
            check_signature(doc, 100, &me, doc, &[(me.clone(), 200)]),
            Ok(())
        );
        assert_eq!(
            check_signature(doc, 100, &me, b"other", &[(me.clone(), 200)]),
            Err(SignatureMismatch::NotTheIssuedDocument)
        );
        assert_eq!(
            check_signature(doc, 100, &me, doc, &[(other.clone(), 200)]),
            Err(SignatureMismatch::OtherSigner(other.as_str().into()))
        );
        // A co-signed document counts when the applicant is among the signers.
        assert_eq!(
            check_signature(doc, 100, &me, doc, &[(other, 200), (me.clone(), 200)]),
            Ok(())
        );
        let hour = 3_600_000_000;
        assert_eq!(
            check_signature(doc, 2 * hour, &me, doc, &[(me.clone(), hour)]),
            Err(SignatureMismatch::SignedBeforeIssue)
        );
        assert_eq!(
            check_signature(doc, hour, &me, doc, &[(me.clone(), hour - 1_000)]),
            Ok(())
        );
    }
}
