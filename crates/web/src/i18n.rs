//! Interface texts, Italian first and English second. A key missing in one
//! language is caught by a unit test, never shown as a raw key.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    It,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        }
    }
}

/// (key, Italian, English)
const TEXTS: &[(&str, &str, &str)] = &[
    ("portal.name", "Sportello", "Sportello"),
    (
        "portal.tagline",
        "Servizi digitali per enti, professionisti e imprese",
        "Digital services for public bodies, professionals and businesses",
    ),
    (
        "portal.owner",
        "Ministero dell'Economia e delle Finanze",
        "Ministry of Economy and Finance",
    ),
    (
        "skip.main",
        "Vai al contenuto principale",
        "Skip to main content",
    ),
    ("skip.footer", "Vai al piè di pagina", "Skip to footer"),
    ("lang.switch", "English", "Italiano"),
    (
        "lang.switch.label",
        "Switch to English",
        "Passa all'italiano",
    ),
    ("nav.home", "Home", "Home"),
    ("nav.login", "Accedi", "Log in"),
    ("nav.logout", "Esci", "Log out"),
    ("nav.operations", "Operazioni", "Operations"),
    ("nav.main", "Menu principale", "Main menu"),
    ("nav.org", "Ente", "Organization"),
    (
        "home.title",
        "Benvenuto su Sportello",
        "Welcome to Sportello",
    ),
    (
        "home.intro",
        "Il punto di accesso unico ai servizi digitali: gestione delegata delle utenze, assistenza e servizi integrati per le imprese.",
        "The single front door to digital services: delegated access management, assistance desk and integrated services for businesses.",
    ),
    (
        "home.access.title",
        "Accesso ai servizi",
        "Access to services",
    ),
    (
        "home.access.text",
        "Gli amministratori locali abilitano i dipendenti del proprio ente alle applicazioni, con il profilo adatto.",
        "Local administrators enable their organization's employees to applications, with the right profile.",
    ),
    ("home.desk.title", "Assistenza", "Assistance"),
    (
        "home.desk.text",
        "Richieste di assistenza via web, e-mail o telefono, ciascuna con il proprio numero di protocollo.",
        "Assistance requests by web, e-mail or phone, each with its own protocol number.",
    ),
    (
        "home.filings.title",
        "Servizi integrati",
        "Integrated services",
    ),
    (
        "home.filings.text",
        "Una sola pratica per più enti: INPS, INAIL e Camera di Commercio, con lo stato presso ciascuno.",
        "One filing for several agencies: INPS, INAIL and the Chamber of Commerce, with its status at each.",
    ),
    (
        "home.login.cta",
        "Accedi all'area riservata",
        "Log in to your reserved area",
    ),
    ("myservices.title", "I miei servizi", "My services"),
    (
        "myservices.empty",
        "Non sei ancora abilitato ad alcuna applicazione. Rivolgiti all'amministratore locale delle utenze del tuo ente.",
        "You are not enabled to any application yet. Ask your organization's local user administrator.",
    ),
    ("myservices.profile", "Profilo", "Profile"),
    ("myservices.roles", "I miei ruoli", "My roles"),
    ("login.title", "Accedi", "Log in"),
    (
        "login.intro",
        "Inserisci il tuo codice fiscale e la password.",
        "Enter your codice fiscale (tax code) and password.",
    ),
    (
        "login.fiscal_code",
        "Codice fiscale",
        "Codice fiscale (tax code)",
    ),
    (
        "login.fiscal_code.hint",
        "16 caratteri, ad esempio RSSMRA80A01H501U",
        "16 characters, for example RSSMRA80A01H501U",
    ),
    ("login.password", "Password", "Password"),
    ("login.submit", "Accedi", "Log in"),
    (
        "login.fiscal_code.required",
        "Codice fiscale: campo obbligatorio",
        "Codice fiscale: this field is required",
    ),
    (
        "login.password.required",
        "Password: campo obbligatorio",
        "Password: this field is required",
    ),
    (
        "login.invalid",
        "Codice fiscale o password non corretti",
        "Wrong codice fiscale or password",
    ),
    ("login.failed", "Accesso non riuscito", "Login failed"),
    (
        "form.errors",
        "Correggi i seguenti errori",
        "Please correct the following errors",
    ),
    (
        "form.expired",
        "Il modulo è scaduto o non proviene da questo sito. Ricarica la pagina e riprova.",
        "The form has expired or did not come from this site. Reload the page and try again.",
    ),
    ("error.404.title", "Pagina non trovata", "Page not found"),
    (
        "error.404.text",
        "La pagina che cerchi non esiste o è stata spostata.",
        "The page you are looking for does not exist or has moved.",
    ),
    ("error.403.title", "Accesso non consentito", "Access denied"),
    (
        "error.403.text",
        "Non hai i permessi per questa pagina o operazione.",
        "You are not allowed to see this page or perform this operation.",
    ),
    ("error.500.title", "Errore del servizio", "Service error"),
    (
        "error.500.text",
        "Si è verificato un errore imprevisto. Se il problema persiste, comunica all'assistenza questo codice di riferimento:",
        "An unexpected error occurred. If the problem persists, give the help desk this reference code:",
    ),
    ("error.400.title", "Richiesta non valida", "Bad request"),
    ("error.back", "Torna alla home", "Back to home"),
    (
        "footer.accessibility",
        "Dichiarazione di accessibilità",
        "Accessibility statement",
    ),
    ("footer.privacy", "Informativa privacy", "Privacy notice"),
    ("footer.legal", "Note legali", "Legal notes"),
    (
        "footer.feedback",
        "Segnala un problema di accessibilità",
        "Report an accessibility problem",
    ),
    (
        "a11y.title",
        "Dichiarazione di accessibilità",
        "Accessibility statement",
    ),
    (
        "a11y.text",
        "Il Ministero dell'Economia e delle Finanze si impegna a rendere Sportello accessibile, conformemente alla Legge 9 gennaio 2004, n. 4 e alle Linee guida AgID sull'accessibilità degli strumenti informatici (WCAG 2.1 livello AA).",
        "The Ministry of Economy and Finance is committed to making Sportello accessible, in accordance with Law no. 4 of 9 January 2004 and the AgID accessibility guidelines (WCAG 2.1 level AA).",
    ),
    (
        "a11y.status",
        "Stato di conformità: parzialmente conforme. Le pagine sono verificate automaticamente a ogni rilascio con axe-core in un browser reale.",
        "Compliance status: partially compliant. Pages are checked automatically at every release with axe-core in a real browser.",
    ),
    (
        "a11y.feedback",
        "Per segnalare problemi di accessibilità scrivi a accessibilita@sportello.localhost: risponderemo entro 30 giorni.",
        "To report accessibility problems write to accessibilita@sportello.localhost: we will answer within 30 days.",
    ),
    (
        "privacy.title",
        "Informativa sul trattamento dei dati personali",
        "Privacy notice",
    ),
    (
        "privacy.text",
        "I dati personali forniti sono trattati secondo il Regolamento (UE) 2016/679 e il decreto legislativo n. 196/2003, per le sole finalità di gestione delle utenze, dell'assistenza e delle pratiche.",
        "Personal data is processed under Regulation (EU) 2016/679 and Legislative Decree no. 196/2003, solely to manage accounts, assistance and filings.",
    ),
    ("ops.title", "Operazioni", "Operations"),
    (
        "ops.outbox",
        "Coda dei messaggi in uscita",
        "Outgoing message queue",
    ),
    ("ops.pending", "In attesa", "Pending"),
    ("ops.sent", "Inviati", "Sent"),
    ("ops.dead", "Non recapitabili", "Undeliverable"),
    (
        "ops.dead.title",
        "Messaggi non recapitabili",
        "Undeliverable messages",
    ),
    (
        "ops.dead.none",
        "Nessun messaggio non recapitabile.",
        "No undeliverable messages.",
    ),
    ("ops.retry", "Rimetti in coda", "Queue again"),
    ("ops.attempts", "Tentativi", "Attempts"),
    ("ops.error", "Ultimo errore", "Last error"),
    ("ops.kind", "Tipo", "Kind"),
    ("ops.created", "Creato", "Created"),
    ("ops.audit", "Registro di audit", "Audit trail"),
    ("ops.audit.verify", "Verifica la catena", "Verify the chain"),
    (
        "ops.audit.intact",
        "Catena integra: eventi verificati",
        "Chain intact: events verified",
    ),
    ("ops.audit.broken", "Catena NON integra", "Chain NOT intact"),
    ("ops.when", "Quando", "When"),
    ("ops.who", "Chi", "Who"),
    ("ops.what", "Azione", "Action"),
    ("ops.target", "Oggetto", "Target"),
    (
        "ops.requeued",
        "Messaggio rimesso in coda.",
        "Message queued again.",
    ),
];

/// Explains why a codice fiscale is invalid, in the visitor's language.
pub fn fiscal_code_error(lang: Lang, e: &sportello_core::fiscal_code::FiscalCodeError) -> String {
    use sportello_core::fiscal_code::FiscalCodeError as E;
    match lang {
        Lang::It => format!("Codice fiscale: {e}"),
        Lang::En => match e {
            E::Length(n) => format!("Codice fiscale: it must have 16 characters, it has {n}"),
            E::Character { position, found } => {
                format!("Codice fiscale: character «{found}» at position {position} is not allowed")
            }
            E::Structure { position, .. } => {
                format!("Codice fiscale: unexpected character at position {position}")
            }
            E::Month(m) => format!("Codice fiscale: «{m}» is not a valid month letter"),
            E::Day(d) => format!("Codice fiscale: {d} is not a valid day of birth"),
            E::CheckCharacter { expected, found } => format!(
                "Codice fiscale: wrong check character, «{expected}» expected, «{found}» found"
            ),
        },
    }
}

pub fn t(lang: Lang, key: &str) -> &'static str {
    match TEXTS.iter().find(|(k, _, _)| *k == key) {
        Some((_, it, en)) => match lang {
            Lang::It => it,
            Lang::En => en,
        },
        None => {
            tracing::error!(key, "missing interface text");
            "…"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, it, en) in TEXTS {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!it.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                assert!(
                    TEXTS.iter().any(|(k, _, _)| *k == key),
                    "{}: missing key {key}",
                    path.display()
                );
            }
        }
    }
}
