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
    ("nav.organizations", "Enti", "Organizations"),
    ("org.title", "Enti e uffici", "Organizations and offices"),
    ("org.new", "Nuovo ente", "New organization"),
    ("org.name", "Denominazione", "Name"),
    ("org.kind", "Tipo di ente", "Kind"),
    ("org.parent", "Dipende da", "Hangs under"),
    (
        "org.fiscal_code",
        "Codice fiscale / partita IVA",
        "Tax code / VAT number",
    ),
    ("org.region", "Regione", "Region"),
    ("org.create", "Crea l'ente", "Create the organization"),
    ("org.created", "Ente creato.", "Organization created."),
    (
        "appt.choose_org",
        "Scegli l'ente",
        "Choose the organization",
    ),
    ("appt.s.pending", "in attesa", "pending"),
    ("appt.s.approved", "approvata", "approved"),
    ("appt.s.rejected", "respinta", "rejected"),
    (
        "help.title",
        "Assistenza online per gli amministratori",
        "Online help for administrators",
    ),
    ("help.toc", "Indice", "Contents"),
    ("help.users", "Creare un utente", "Creating a user"),
    (
        "help.enable",
        "Abilitare a un'applicazione",
        "Enabling to an application",
    ),
    (
        "help.dependent",
        "Concessionari e aziende municipalizzate",
        "Concessionaires and municipal companies",
    ),
    (
        "help.locks",
        "Utenze bloccate, disabilitate, eliminate",
        "Locked, disabled, deleted accounts",
    ),
    (
        "help.systems",
        "Collegare i sistemi dell'ente",
        "Connecting the organization's systems",
    ),
    ("nav.help", "Assistenza online", "Online help"),
    ("nav.catalogue", "Catalogo", "Catalogue"),
    (
        "cat.title",
        "Catalogo delle applicazioni",
        "Application catalogue",
    ),
    (
        "cat.intro",
        "Le applicazioni, i loro profili e le regole: quali tipi di ente possono avere ciascun profilo, che cosa consente, quali altre applicazioni apre.",
        "Applications, their profiles and rules: which kinds of organization may hold each profile, what it allows, which other applications it opens.",
    ),
    (
        "cat.kinds",
        "Tipi di ente ammessi (nessuno = tutti)",
        "Organization kinds allowed (none = all)",
    ),
    (
        "cat.capabilities",
        "Funzioni consentite (separate da virgole)",
        "Capabilities (comma-separated)",
    ),
    (
        "cat.implied",
        "Apre anche il profilo",
        "Also opens the profile",
    ),
    ("cat.save", "Salva le regole", "Save the rules"),
    ("cat.saved", "Catalogo aggiornato.", "Catalogue updated."),
    ("cat.code", "Codice", "Code"),
    ("cat.profile_name", "Nome del profilo", "Profile name"),
    ("cat.add_profile", "Aggiungi profilo", "Add profile"),
    ("cat.new_app", "Nuova applicazione", "New application"),
    ("cat.app_name", "Nome dell'applicazione", "Application name"),
    ("cat.description", "Descrizione", "Description"),
    (
        "cat.url",
        "Indirizzo del servizio (facoltativo)",
        "Service address (optional)",
    ),
    (
        "cat.create_app",
        "Crea l'applicazione",
        "Create the application",
    ),
    ("import.title", "Abilitazione massiva", "Bulk enablement"),
    (
        "import.intro",
        "Carica l'elenco dei dipendenti da abilitare (CSV o Excel) con codice fiscale, nome, cognome, e-mail e, se vuoi, applicazione e profilo. Prova prima senza modifiche: vedrai riga per riga cosa succederebbe.",
        "Upload the list of employees to enable (CSV or Excel) with codice fiscale, name, surname, e-mail and, optionally, application and profile. Try first without changes: you will see row by row what would happen.",
    ),
    ("import.file", "File CSV o Excel", "CSV or Excel file"),
    (
        "import.hint",
        "Colonne: codice fiscale; nome; cognome; email; pec; telefono; categoria; applicazione; profilo. Separatore ; o , ; formatta come testo la colonna del telefono. Al massimo 20 MB.",
        "Columns: codice fiscale; nome; cognome; email; pec; telefono; categoria; applicazione; profilo. Separator ; or , ; format the phone column as text. At most 20 MB.",
    ),
    (
        "import.dry_run",
        "Prova senza modifiche",
        "Dry run (change nothing)",
    ),
    ("import.submit", "Carica", "Upload"),
    (
        "import.preview",
        "Anteprima: nulla è stato modificato",
        "Preview: nothing was changed",
    ),
    ("import.done", "Importazione eseguita", "Import done"),
    ("import.created", "Nuovi utenti", "New users"),
    (
        "import.enabled",
        "Abilitazioni a utenti esistenti",
        "Enablements of existing users",
    ),
    (
        "import.unchanged",
        "Righe senza modifiche",
        "Rows without changes",
    ),
    ("import.refused", "Righe rifiutate", "Rows refused"),
    ("import.invalid", "Righe non valide", "Invalid rows"),
    ("import.errors", "Errori e avvisi", "Errors and warnings"),
    ("import.rows", "Esito riga per riga", "Outcome row by row"),
    ("import.line", "Riga", "Row"),
    ("import.column", "Colonna", "Column"),
    ("import.problem", "Problema", "Problem"),
    ("import.outcome", "Esito", "Outcome"),
    ("import.o.create", "nuovo utente", "new user"),
    ("import.o.enable", "abilitazione a", "enabled to"),
    ("import.o.unchanged", "nessuna modifica", "no change"),
    ("import.o.refused", "rifiutata", "refused"),
    (
        "import.no_file",
        "Scegli il file da caricare.",
        "Choose the file to upload.",
    ),
    ("users.none", "Nessun utente trovato.", "No users found."),
    ("console.breadcrumb", "Percorso", "Breadcrumb"),
    ("console.enablements", "Abilitazioni", "Enablements"),
    (
        "console.no_enablements",
        "Nessuna abilitazione.",
        "No enablements.",
    ),
    ("console.application", "Applicazione", "Application"),
    ("console.change_profile", "Cambia profilo", "Change profile"),
    ("console.change", "Cambia", "Change"),
    ("console.revoke", "Revoca", "Revoke"),
    ("console.enable_to", "Abilita a", "Enable to"),
    ("console.enable", "Abilita", "Enable"),
    ("console.account", "Utenza", "Account"),
    ("console.disable", "Disabilita", "Disable"),
    ("console.reenable", "Riabilita", "Re-enable"),
    (
        "console.resend",
        "Reinvia l'e-mail di abilitazione",
        "Resend the enablement e-mail",
    ),
    ("console.delete", "Elimina l'utenza", "Delete the account"),
    (
        "console.delete.confirm",
        "Confermo: i dati personali saranno cancellati; il registro di audit resta.",
        "I confirm: personal data will be erased; the audit trail stays.",
    ),
    (
        "console.delete.unconfirmed",
        "Spunta la conferma per eliminare l'utenza.",
        "Tick the confirmation to delete the account.",
    ),
    (
        "console.user_history",
        "Storico delle operazioni su questa utenza",
        "History of operations on this account",
    ),
    (
        "console.done.enabled",
        "Abilitazione registrata: l'utente riceve un'e-mail.",
        "Enablement recorded: the user receives an e-mail.",
    ),
    (
        "console.done.revoked",
        "Abilitazione revocata.",
        "Enablement revoked.",
    ),
    (
        "console.done.changed",
        "Profilo cambiato.",
        "Profile changed.",
    ),
    (
        "console.done.disabled",
        "Utenza disabilitata: le sue sessioni sono chiuse.",
        "Account disabled: its sessions are closed.",
    ),
    (
        "console.done.reenabled",
        "Utenza riabilitata.",
        "Account re-enabled.",
    ),
    (
        "console.done.resent",
        "E-mail reinviata.",
        "E-mail sent again.",
    ),
    ("nav.subdelegations", "Subdeleghe", "Sub-delegations"),
    ("nav.appointments", "Nomine", "Appointments"),
    ("nav.audit", "Storico", "History"),
    ("subdel.title", "Lista subdelegati", "Sub-delegates"),
    (
        "subdel.intro",
        "Puoi estendere a un collaboratore un profilo che possiedi, o uno più ristretto, anche con una scadenza. Resti responsabile del suo operato e puoi revocare in ogni momento.",
        "You can extend a profile you hold, or a narrower one, to a collaborator, with an optional expiry. You remain responsible and can revoke at any time.",
    ),
    ("subdel.list", "Le mie subdeleghe", "My sub-delegations"),
    ("subdel.none", "Nessuna subdelega.", "No sub-delegations."),
    ("subdel.delegate", "Collaboratore", "Collaborator"),
    ("subdel.until", "Fino al", "Until"),
    ("subdel.active", "attiva", "active"),
    ("subdel.expired", "scaduta", "expired"),
    ("subdel.revoked", "revocata", "revoked"),
    ("subdel.new", "Nuova subdelega", "New sub-delegation"),
    (
        "subdel.delegate_cf",
        "Codice fiscale del collaboratore",
        "Collaborator's codice fiscale",
    ),
    (
        "subdel.profile",
        "Profilo da subdelegare",
        "Profile to delegate",
    ),
    (
        "subdel.expires",
        "Scadenza (facoltativa)",
        "Expiry (optional)",
    ),
    ("subdel.submit", "Subdelega", "Delegate"),
    (
        "subdel.created",
        "Subdelega registrata: il collaboratore riceve un'e-mail.",
        "Sub-delegation recorded: the collaborator receives an e-mail.",
    ),
    (
        "subdel.revoked_done",
        "Subdelega revocata.",
        "Sub-delegation revoked.",
    ),
    (
        "subdel.bad_date",
        "Data non valida: usa il formato AAAA-MM-GG.",
        "Invalid date: use YYYY-MM-DD.",
    ),
    (
        "appt.title",
        "Nomina dell'amministratore locale delle utenze",
        "Appointment of a local user administrator",
    ),
    (
        "appt.intro",
        "Il responsabile dell'ufficio dell'ente chiede al Dipartimento delle Finanze di nominare un amministratore locale delle utenze, allegando la lettera di nomina firmata.",
        "The head of the organization's office asks the Department of Finance to appoint a local user administrator, attaching the signed appointment letter.",
    ),
    ("appt.requester", "Chi fa la richiesta", "Requester"),
    (
        "appt.requester_name",
        "Nome e cognome del responsabile",
        "Name of the head of office",
    ),
    ("appt.requester_role", "Incarico", "Position"),
    (
        "appt.candidate",
        "Amministratore da nominare",
        "Administrator to appoint",
    ),
    (
        "appt.letter",
        "Lettera di nomina firmata",
        "Signed appointment letter",
    ),
    (
        "appt.letter.hint",
        "PDF o file firmato digitalmente (.p7m), al massimo 5 MB.",
        "PDF or digitally signed file (.p7m), at most 5 MB.",
    ),
    ("appt.submit", "Invia la richiesta", "Send the request"),
    (
        "appt.sent",
        "Richiesta ricevuta: riceverai l'esito per e-mail. Numero della richiesta:",
        "Request received: you will get the outcome by e-mail. Request number:",
    ),
    (
        "appt.list",
        "Nomine degli amministratori locali",
        "Local administrator appointments",
    ),
    ("appt.decision", "Decisione", "Decision"),
    ("appt.approve", "Approva", "Approve"),
    ("appt.reject", "Respingi", "Reject"),
    ("appt.reason", "Motivo del rifiuto", "Reason for rejection"),
    (
        "appt.approved",
        "Nomina approvata: il nuovo amministratore riceve un'e-mail.",
        "Appointment approved: the new administrator receives an e-mail.",
    ),
    ("appt.rejected", "Richiesta respinta.", "Request rejected."),
    (
        "appt.revoked",
        "Ruolo di amministratore locale revocato.",
        "Local administrator role revoked.",
    ),
    (
        "appt.admins",
        "Amministratori locali in carica",
        "Current local administrators",
    ),
    (
        "audit.title",
        "Storico delle operazioni",
        "Operations history",
    ),
    ("audit.detail", "Dettaglio", "Detail"),
    (
        "myservices.implied",
        "Incluso nell'abilitazione a",
        "Included with your enablement to",
    ),
    ("myservices.delegated", "Subdelegato da", "Sub-delegated by"),
    ("myservices.open", "Vai al servizio", "Go to the service"),
    (
        "myservices.no_link",
        "Il collegamento al servizio non è ancora configurato.",
        "The link to this service is not configured yet.",
    ),
    (
        "login.forgot",
        "Password dimenticata o scaduta? Reimpostala",
        "Forgotten or expired password? Reset it",
    ),
    (
        "login.cns",
        "Accedi con Carta Nazionale dei Servizi (smart card)",
        "Log in with a smart card (CNS)",
    ),
    (
        "login.throttled",
        "Troppi tentativi: riprova tra {} s.",
        "Too many attempts: try again in {} s.",
    ),
    (
        "login.locked",
        "Accesso sospeso per troppi tentativi falliti. Riprova più tardi, usa «Reset password» o rivolgiti all'amministratore delle utenze.",
        "Access suspended after too many failed attempts. Try again later, use \u{201c}Reset password\u{201d} or ask your user administrator.",
    ),
    (
        "login.not_active",
        "L'utenza non è attiva: completa l'attivazione dal collegamento ricevuto per e-mail o rivolgiti all'amministratore delle utenze.",
        "The account is not active: complete the activation from the e-mailed link or ask your user administrator.",
    ),
    ("nav.profile", "Il mio profilo", "My profile"),
    ("nav.users", "Utenti", "Users"),
    ("pwd.change.title", "Cambio password", "Change password"),
    (
        "pwd.change.forced",
        "Prima di continuare devi scegliere una nuova password: quella attuale è provvisoria o scaduta.",
        "Before continuing you must choose a new password: the current one is temporary or expired.",
    ),
    (
        "pwd.change.done",
        "Password cambiata. Le altre sessioni sono state chiuse.",
        "Password changed. Your other sessions have been closed.",
    ),
    ("pwd.change.submit", "Cambia password", "Change password"),
    ("pwd.current", "Password attuale", "Current password"),
    ("pwd.new", "Nuova password", "New password"),
    (
        "pwd.confirm",
        "Ripeti la nuova password",
        "Repeat the new password",
    ),
    (
        "pwd.hint",
        "Non usare il codice fiscale, il nome o il cognome, né una delle ultime password.",
        "Do not use your codice fiscale, name or surname, nor one of your last passwords.",
    ),
    ("pwd.set.submit", "Imposta la password", "Set password"),
    (
        "pwd.policy",
        "La password deve avere almeno {} caratteri e almeno {} tipi tra minuscole, maiuscole, cifre e simboli; scade dopo {} giorni.",
        "The password must have at least {} characters and at least {} kinds among lower case, upper case, digits and symbols; it expires after {} days.",
    ),
    (
        "activation.title",
        "Attivazione dell'utenza",
        "Account activation",
    ),
    (
        "activation.done",
        "Utenza attivata: ora puoi accedere con la nuova password.",
        "Account activated: you can now log in with your new password.",
    ),
    ("reset.title", "Reset password", "Reset password"),
    (
        "reset.intro",
        "Indica il codice fiscale e l'indirizzo e-mail della tua utenza: riceverai un collegamento per scegliere una nuova password.",
        "Enter your account's codice fiscale and e-mail address: you will receive a link to choose a new password.",
    ),
    ("reset.submit", "Invia il collegamento", "Send the link"),
    (
        "reset.sent",
        "Se i dati corrispondono a un'utenza, riceverai a breve un messaggio con il collegamento per scegliere una nuova password.",
        "If the data match an account, you will shortly receive a message with a link to choose a new password.",
    ),
    ("reset.new.title", "Nuova password", "New password"),
    (
        "reset.done",
        "Password reimpostata: ora puoi accedere.",
        "Password reset: you can now log in.",
    ),
    (
        "token.invalid",
        "Il collegamento non è valido, è già stato usato o è scaduto. Chiedine uno nuovo.",
        "The link is not valid, has already been used or has expired. Ask for a new one.",
    ),
    ("user.email", "Indirizzo e-mail", "E-mail address"),
    ("user.pec", "PEC", "Certified e-mail (PEC)"),
    ("user.phone", "Telefono", "Phone"),
    ("user.name", "Nome e cognome", "Name"),
    ("user.given_name", "Nome", "Given name"),
    ("user.family_name", "Cognome", "Family name"),
    ("user.category", "Categoria", "Category"),
    ("profile.title", "Il mio profilo", "My profile"),
    ("profile.data", "I miei dati", "My data"),
    (
        "profile.password_changed",
        "Password cambiata il",
        "Password changed on",
    ),
    (
        "profile.expires",
        "La tua password scade tra {} giorni: cambiala per tempo.",
        "Your password expires in {} days: change it in time.",
    ),
    ("profile.sessions", "Sessioni aperte", "Open sessions"),
    ("profile.session.started", "Iniziata", "Started"),
    ("profile.session.last", "Ultima attività", "Last activity"),
    ("profile.session.end", "Termina", "End"),
    ("profile.session.current", "Questa sessione", "This session"),
    (
        "profile.session.ended",
        "Sessione terminata.",
        "Session ended.",
    ),
    (
        "profile.logout_all",
        "Esci da tutti i dispositivi",
        "Log out everywhere",
    ),
    ("profile.access_log", "Accessi recenti", "Recent access"),
    ("profile.address", "Indirizzo", "Address"),
    ("cns.title", "Gestione CNS", "Smart cards (CNS)"),
    (
        "cns.none",
        "Nessuna smart card associata. Accedendo con la CNS la carta viene associata alla tua utenza.",
        "No smart card bound. Logging in with your CNS binds the card to your account.",
    ),
    ("cns.subject", "Titolare", "Holder"),
    ("cns.issuer", "Emessa da", "Issued by"),
    ("cns.expires", "Scadenza", "Expires"),
    ("cns.remove", "Rimuovi", "Remove"),
    (
        "cns.removed",
        "Certificato rimosso: non aprirà più la tua utenza.",
        "Certificate removed: it will no longer open your account.",
    ),
    (
        "cns.missing",
        "Nessun certificato presentato. Inserisci la smart card nel lettore e riprova.",
        "No certificate presented. Insert your smart card in the reader and try again.",
    ),
    ("users.title", "Utenti", "Users"),
    (
        "users.search",
        "Cerca per codice fiscale, nome o e-mail",
        "Search by codice fiscale, name or e-mail",
    ),
    ("users.search.submit", "Cerca", "Search"),
    ("users.new", "Nuovo utente", "New user"),
    (
        "users.create",
        "Crea l'utente e invia l'e-mail di primo accesso",
        "Create the user and send the first-access e-mail",
    ),
    (
        "users.created",
        "Utente creato: l'e-mail di primo accesso è in partenza.",
        "User created: the first-access e-mail is on its way.",
    ),
    ("users.status", "Stato", "Status"),
    ("users.actions", "Azioni", "Actions"),
    ("users.locked", "bloccato", "locked"),
    ("users.unlock", "Sblocca", "Unlock"),
    ("users.unlocked", "Utente sbloccato.", "User unlocked."),
    ("users.first_access", "Primo accesso", "First access"),
    (
        "users.first_access.link",
        "Collegamento di attivazione per e-mail",
        "Activation link by e-mail",
    ),
    (
        "users.first_access.temp",
        "Password provvisoria per e-mail",
        "Temporary password by e-mail",
    ),
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
            for part in text.split("ctx.t(\"").skip(1) {
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
