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
    ("filings.nav", "La mia scrivania", "My desk"),
    ("filings.desk.title", "La mia scrivania", "My desk"),
    (
        "filings.desk.intro",
        "Compila una sola volta le pratiche rivolte a più enti e seguine lo stato presso ciascuno: la pratica risulta avviata presso un ente quando compare il suo numero di protocollo.",
        "Fill in once the filings addressed to several agencies and follow their status at each one: a filing is started at an agency when its protocol number appears.",
    ),
    ("filings.breadcrumb", "Percorso", "Breadcrumb"),
    (
        "filings.services",
        "Servizi disponibili",
        "Available services",
    ),
    (
        "filings.services.none",
        "Nessun servizio integrato è disponibile con le tue abilitazioni.",
        "No integrated service is available with your authorizations.",
    ),
    ("filings.recipients", "Destinatari", "Recipients"),
    (
        "filings.requirement",
        "abilitazione richiesta",
        "authorization required",
    ),
    ("filings.on_behalf_of", "per conto di", "on behalf of"),
    ("filings.on_behalf_of.cap", "Per conto di", "On behalf of"),
    (
        "filings.missing",
        "Non puoi avviare questo servizio: manca l'abilitazione a operare on line presso",
        "You cannot start this service: the authorization to operate online is missing at",
    ),
    (
        "filings.missing.send",
        "Non puoi inviare questa pratica: manca l'abilitazione a operare on line presso",
        "You cannot send this filing: the authorization to operate online is missing at",
    ),
    (
        "filings.cannot_prepare",
        "Il profilo che ti è stato assegnato non consente di compilare pratiche per questo servizio.",
        "The profile assigned to you does not allow filling in filings for this service.",
    ),
    ("filings.start", "Compila", "Fill in"),
    ("filings.mine", "Le mie pratiche", "My filings"),
    ("filings.trays", "Cartelle della scrivania", "Desk trays"),
    ("filings.tray.drafts", "Pratiche in bozza", "Draft filings"),
    (
        "filings.tray.in_progress",
        "Pratiche in corso",
        "Filings in progress",
    ),
    ("filings.tray.archive", "Archivio", "Archive"),
    ("filings.tray.all", "Tutte le cartelle", "All trays"),
    ("filings.tray_state.drafts", "In bozza", "Draft"),
    ("filings.tray_state.in_progress", "In corso", "In progress"),
    (
        "filings.tray_state.undeliverable",
        "Inviata ma non consegnata: torna tra le bozze per essere reinviata",
        "Sent but not delivered: back among the drafts to be resent",
    ),
    ("filings.tray_state.archive", "Archiviata", "Archived"),
    (
        "filings.search",
        "Cerca tra le pratiche",
        "Search the filings",
    ),
    (
        "filings.search.text",
        "Riferimento, protocollo o dati",
        "Reference, protocol or data",
    ),
    (
        "filings.search.state",
        "Stato di una consegna",
        "State of a delivery",
    ),
    ("filings.search.any", "Qualsiasi", "Any"),
    ("filings.search.from", "Dal", "From"),
    ("filings.search.until", "Al", "Until"),
    ("filings.search.tray", "Cartella", "Tray"),
    ("filings.search.submit", "Cerca", "Search"),
    (
        "filings.results",
        "Risultati della ricerca",
        "Search results",
    ),
    ("filings.none", "Nessuna pratica.", "No filings."),
    (
        "filings.truncated",
        "(sono mostrate solo le più recenti: restringi la ricerca)",
        "(only the most recent are shown: narrow the search)",
    ),
    ("filings.reference", "Riferimento", "Reference"),
    (
        "filings.reference.none",
        "Non ancora assegnato: la pratica non è stata inviata",
        "Not yet given: the filing has not been sent",
    ),
    ("filings.service", "Servizio", "Service"),
    ("filings.owner", "Titolare", "Owner"),
    ("filings.date", "Data", "Date"),
    ("filings.draft", "Bozza", "Draft"),
    ("filings.number", "n.", "no."),
    ("filings.archived", "Archiviata", "Archived"),
    (
        "filings.undeliverable",
        "Completata ma non consegnata a nessun destinatario: reinviala.",
        "Completed but delivered to no recipient: resend it.",
    ),
    (
        "filings.undeliverable.how",
        "Usa il pulsante «Reinvia» accanto a ciascun ente qui sotto.",
        "Use the «Resend» button next to each agency below.",
    ),
    ("filings.not_sent", "Non ancora inviata", "Not sent yet"),
    (
        "filings.not_sent.long",
        "La pratica non è ancora stata inviata: gli enti destinatari la riceveranno quando la invierai.",
        "The filing has not been sent yet: the recipient agencies will receive it when you send it.",
    ),
    ("filings.protocol", "protocollo", "protocol"),
    (
        "filings.protocol.agency",
        "Protocollo dell'ente",
        "Agency's protocol",
    ),
    (
        "filings.protocol_note",
        "La pratica risulta avviata presso l'ente solo quando compare il suo numero di protocollo.",
        "The filing counts as started at an agency only when its protocol number appears.",
    ),
    (
        "filings.form.for_self",
        "Pratica a tuo nome.",
        "Filing in your own name.",
    ),
    (
        "filings.form.for_owner",
        "Pratica per conto di",
        "Filing on behalf of",
    ),
    ("filings.form.draft", "bozza", "draft"),
    (
        "filings.form.recipients_intro",
        "La pratica sarà consegnata a ciascuno di questi enti, con i dati che lo riguardano.",
        "The filing will be delivered to each of these agencies, with the data that concern it.",
    ),
    ("filings.form.receives", "Riceve", "Receives"),
    (
        "filings.form.not_authorized",
        "Abilitazione mancante",
        "Authorization missing",
    ),
    ("filings.form.data", "Dati della pratica", "Filing data"),
    (
        "filings.form.prepare_only",
        "Puoi preparare la pratica e salvarla in bozza; la invierà chi ne ha la facoltà.",
        "You can prepare the filing and save it as a draft; someone entitled to send it will do so.",
    ),
    ("filings.form.save_draft", "Salva in bozza", "Save as draft"),
    ("filings.form.send", "Invia la pratica", "Send the filing"),
    ("filings.filing", "Pratica", "Filing"),
    ("filings.preparer", "Compilata da", "Prepared by"),
    ("filings.tray", "Stato della pratica", "Filing status"),
    ("filings.created", "Creata il", "Created on"),
    ("filings.updated", "ultima modifica", "last changed"),
    ("filings.submitted", "Inviata il", "Sent on"),
    (
        "filings.resume",
        "Riprendi la compilazione",
        "Resume filling in",
    ),
    ("filings.delete", "Elimina bozza", "Delete draft"),
    ("filings.archive", "Archivia", "Archive"),
    (
        "filings.unarchive",
        "Togli dall'archivio",
        "Take out of the archive",
    ),
    (
        "filings.deliveries.caption",
        "Stato della pratica presso ciascun ente.",
        "Status of the filing at each agency.",
    ),
    ("filings.refresh", "Aggiorna", "Refresh"),
    ("filings.agency", "Ente", "Agency"),
    ("filings.state", "Stato", "Status"),
    ("filings.details", "Dettagli", "Details"),
    ("filings.actions", "Azioni", "Actions"),
    ("filings.no_action", "Nessuna azione", "No action"),
    ("filings.reason", "Motivo", "Reason"),
    ("filings.last_error", "Ultimo errore", "Last error"),
    ("filings.attempts", "Tentativi", "Attempts"),
    ("filings.resend", "Reinvia a", "Resend to"),
    ("filings.data", "Dati inseriti", "Data entered"),
    ("filings.history", "Cronologia", "History"),
    (
        "filings.history.caption",
        "Cronologia delle consegne, dalla più vecchia.",
        "Delivery history, oldest first.",
    ),
    (
        "filings.history.none",
        "Nessun evento: la pratica non è ancora stata inviata.",
        "No events: the filing has not been sent yet.",
    ),
    ("filings.when", "Data e ora", "Date and time"),
    ("filings.event", "Evento", "Event"),
    ("filings.actor", "Chi", "Who"),
    ("filings.actor.system", "Automatico", "Automatic"),
    (
        "filings.event.queued",
        "Messa in coda per la consegna",
        "Queued for delivery",
    ),
    ("filings.event.resent", "Reinviata", "Resent"),
    (
        "filings.event.source.delivery",
        "risposta alla consegna",
        "answer to the delivery",
    ),
    (
        "filings.event.source.poll",
        "verifica presso l'ente",
        "check with the agency",
    ),
    (
        "filings.event.source.callback",
        "comunicazione dell'ente",
        "notice from the agency",
    ),
    ("filings.back", "Torna alla scrivania", "Back to the desk"),
    (
        "filings.notice.draft_saved",
        "Bozza salvata.",
        "Draft saved.",
    ),
    (
        "filings.notice.sent",
        "Pratica inviata: riferimento",
        "Filing sent: reference",
    ),
    (
        "filings.notice.resent",
        "Consegna rimessa in coda: il portale la reinvia all'ente.",
        "Delivery queued again: the portal is resending it to the agency.",
    ),
    (
        "filings.notice.archived",
        "Pratica archiviata.",
        "Filing archived.",
    ),
    (
        "filings.notice.unarchived",
        "Pratica tolta dall'archivio.",
        "Filing taken out of the archive.",
    ),
    (
        "filings.notice.deleted",
        "Bozza eliminata.",
        "Draft deleted.",
    ),
    ("filings.state.pending", "In consegna", "Being delivered"),
    (
        "filings.state.retrying",
        "Consegna in corso (nuovo tentativo)",
        "Being delivered (new attempt)",
    ),
    (
        "filings.state.received",
        "Ricevuta, in attesa di protocollo",
        "Received, awaiting a protocol number",
    ),
    (
        "filings.state.taken_in_charge",
        "Presa in carico",
        "Taken in charge",
    ),
    ("filings.state.accepted", "Accolta", "Accepted"),
    ("filings.state.rejected", "Respinta", "Rejected"),
    (
        "filings.state.failed",
        "Consegna non riuscita: da reinviare",
        "Delivery failed: to be resent",
    ),
    (
        "filings_admin.nav",
        "Servizi integrati",
        "Integrated services",
    ),
    (
        "filings_admin.title",
        "Servizi integrati",
        "Integrated services",
    ),
    (
        "filings_admin.intro",
        "I servizi integrati raccolgono una pratica con un solo modulo e la consegnano a più enti, ciascuno tramite il suo connettore.",
        "Integrated services collect a filing with one form and deliver it to several agencies, each through its connector.",
    ),
    ("filings_admin.services", "Servizi", "Services"),
    (
        "filings_admin.services.caption",
        "Servizi integrati e loro destinatari.",
        "Integrated services and their recipients.",
    ),
    (
        "filings_admin.services.none",
        "Nessun servizio integrato.",
        "No integrated service.",
    ),
    ("filings_admin.service", "Servizio", "Service"),
    ("filings_admin.service.new", "Nuovo servizio", "New service"),
    (
        "filings_admin.service.saved",
        "Servizio salvato.",
        "Service saved.",
    ),
    (
        "filings_admin.connectors",
        "Connettori degli enti",
        "Agency connectors",
    ),
    (
        "filings_admin.connectors.intro",
        "Ogni connettore indica l'API a cui il portale consegna le pratiche di un ente.",
        "Each connector names the API the portal delivers an agency's filings to.",
    ),
    (
        "filings_admin.connectors.caption",
        "Connettori degli enti, con i tempi di attesa e i tentativi di consegna.",
        "Agency connectors, with their timeouts and delivery attempts.",
    ),
    (
        "filings_admin.connectors.none",
        "Nessun connettore: creane uno prima di indicare i destinatari.",
        "No connector: create one before naming the recipients.",
    ),
    ("filings_admin.connector", "Connettore", "Connector"),
    (
        "filings_admin.connector.new",
        "Nuovo connettore",
        "New connector",
    ),
    (
        "filings_admin.connector.saved",
        "Connettore salvato.",
        "Connector saved.",
    ),
    ("filings_admin.edit", "modifica", "edit"),
    (
        "filings_admin.back",
        "Torna ai servizi integrati",
        "Back to the integrated services",
    ),
    ("filings_admin.save", "Salva", "Save"),
    ("filings_admin.general", "Dati generali", "General"),
    ("filings_admin.form", "Modulo", "Form"),
    ("filings_admin.recipient", "Destinatario", "Recipient"),
    (
        "filings_admin.token",
        "Token per le callback dell'ente:",
        "Token for the agency's callbacks:",
    ),
    (
        "filings_admin.token.once",
        "(copialo ora: non sarà più mostrato)",
        "(copy it now: it will not be shown again)",
    ),
    (
        "filings_admin.code_taken",
        "codice già in uso",
        "code already in use",
    ),
    (
        "filings_admin.not_a_number",
        "deve essere un numero intero",
        "must be a whole number",
    ),
    ("filings_admin.f.code", "Codice", "Code"),
    ("filings_admin.f.name", "Nome", "Name"),
    ("filings_admin.f.description", "Descrizione", "Description"),
    (
        "filings_admin.f.application_code",
        "Applicazione del servizio",
        "Service application",
    ),
    (
        "filings_admin.f.form_spec",
        "Campi del modulo",
        "Form fields",
    ),
    ("filings_admin.f.active", "Attivo", "Active"),
    (
        "filings_admin.f.connector_code",
        "Connettore dell'ente",
        "Agency connector",
    ),
    (
        "filings_admin.f.mapping",
        "Dati consegnati all'ente",
        "Data delivered to the agency",
    ),
    (
        "filings_admin.f.required_application",
        "Abilitazione richiesta: applicazione",
        "Required authorization: application",
    ),
    (
        "filings_admin.f.required_profile",
        "Abilitazione richiesta: profilo (facoltativo)",
        "Required authorization: profile (optional)",
    ),
    (
        "filings_admin.f.organization_code",
        "Ente nell'anagrafe (codice)",
        "Agency in the directory (code)",
    ),
    (
        "filings_admin.f.endpoint",
        "Indirizzo dell'API",
        "API address",
    ),
    (
        "filings_admin.f.timeout_ms",
        "Tempo massimo di attesa (ms)",
        "Timeout (ms)",
    ),
    (
        "filings_admin.f.max_attempts",
        "Tentativi di consegna",
        "Delivery attempts",
    ),
    (
        "filings_admin.f.new_token",
        "Emetti un nuovo token per le callback (il precedente smette di valere)",
        "Issue a new callback token (the previous one stops working)",
    ),
    (
        "filings_admin.h.code",
        "Da 2 a 32 caratteri: lettere maiuscole, cifre, «-» o «_». Non si cambia dopo la creazione.",
        "2 to 32 characters: capital letters, digits, «-» or «_». It cannot be changed once created.",
    ),
    (
        "filings_admin.h.organization_code",
        "Facoltativo: il codice dell'ente se è nell'anagrafe del portale.",
        "Optional: the agency's code if it is in the portal's directory.",
    ),
    (
        "filings_admin.h.endpoint",
        "Indirizzo http:// o https:// completo a cui il portale consegna le pratiche.",
        "Full http:// or https:// address the portal delivers filings to.",
    ),
    (
        "filings_admin.h.timeout_ms",
        "Tra 100 e 120000 millisecondi.",
        "Between 100 and 120000 milliseconds.",
    ),
    (
        "filings_admin.h.max_attempts",
        "Tra 1 e 50: dopo l'ultimo la consegna risulta non riuscita e l'utente la reinvia.",
        "Between 1 and 50: after the last one the delivery has failed and the user resends it.",
    ),
    (
        "filings_admin.h.new_token",
        "Il nuovo token sarà mostrato una sola volta, dopo il salvataggio.",
        "The new token will be shown only once, after saving.",
    ),
    (
        "filings_admin.h.first_token",
        "Al salvataggio il portale emette il token che l'ente userà per le callback: sarà mostrato una sola volta.",
        "On saving, the portal issues the token the agency will use for its callbacks: it will be shown only once.",
    ),
    (
        "filings_admin.h.application_code",
        "L'applicazione del catalogo il cui profilo consente di usare il servizio (con le capacità filing.prepare e filing.submit).",
        "The catalogue application whose profile allows using the service (with the filing.prepare and filing.submit capabilities).",
    ),
    (
        "filings_admin.h.form_spec",
        "Una riga per campo: chiave | etichetta | tipo | obbligatorio o facoltativo.\nTipi: testo, testo_lungo, numero, data, codice_fiscale, email, telefono, scelta:opzione1/opzione2.",
        "One line per field: key | label | type | obbligatorio or facoltativo.\nTypes: testo, testo_lungo, numero, data, codice_fiscale, email, telefono, scelta:option1/option2.",
    ),
    (
        "filings_admin.h.recipients",
        "Almeno un ente. I blocchi lasciati vuoti sono ignorati; salva per aggiungerne un altro.",
        "At least one agency. Blocks left empty are ignored; save to add another.",
    ),
    (
        "filings_admin.h.mapping",
        "Una riga per dato: percorso.nel.json.dell.ente = chiave_del_modulo, oppure = \"valore fisso\".\nLe righe che iniziano con # sono commenti.",
        "One line per datum: path.in.the.agency.json = form_key, or = \"fixed value\".\nLines starting with # are comments.",
    ),
    (
        "filings_admin.h.required_profile",
        "Lascia vuoto se basta un qualsiasi profilo dell'applicazione.",
        "Leave empty if any profile of the application will do.",
    ),
    (
        "desk.annulled",
        "Registrazione annullata",
        "Registration annulled",
    ),
    (
        "desk.act.annul",
        "Annulla la registrazione",
        "Annul the registration",
    ),
    (
        "desk.act.annul.intro",
        "I dati di protocollo non si modificano: si annullano. La registrazione resta leggibile con il segno di annullamento (DPR 445/2000, art. 54).",
        "Protocol data are never edited, only annulled. The registration stays readable with the annulment mark (DPR 445/2000, art. 54).",
    ),
    (
        "desk.act.annul.reason",
        "Motivo ed estremi dell'atto che autorizza l'annullamento",
        "Reason and reference of the act authorising the annulment",
    ),
    (
        "desk.act.annul.button",
        "Annulla la registrazione",
        "Annul the registration",
    ),
    ("desk_admin.nav.reports", "Report", "Reports"),
    (
        "desk_admin.nav.register",
        "Registro di protocollo",
        "Protocol register",
    ),
    ("desk_admin.nav.channels", "Canali", "Channels"),
    ("desk_admin.yes", "sì", "yes"),
    ("desk_admin.no", "no", "no"),
    (
        "desk_admin.required",
        "Campo obbligatorio.",
        "This field is required.",
    ),
    (
        "desk_admin.bad_date",
        "Indicare una data valida (gg/mm/aaaa).",
        "Enter a valid date (dd/mm/yyyy).",
    ),
    (
        "desk_admin.bad_minutes",
        "Indicare un numero intero di minuti, 0 o più.",
        "Enter a whole number of minutes, 0 or more.",
    ),
    (
        "desk_admin.bad_mb",
        "Indicare un numero intero da 1 a 100.",
        "Enter a whole number from 1 to 100.",
    ),
    (
        "desk_admin.report.title",
        "Report delle richieste di assistenza",
        "Assistance request reports",
    ),
    (
        "desk_admin.report.intro",
        "Scegli l'ambito e il periodo: le richieste da prendere in carico e in lavorazione sono quelle di adesso, le altre cifre riguardano il periodo.",
        "Choose the scope and the period: requests to take and in progress are counted now, the other figures cover the period.",
    ),
    ("desk_admin.report.scope", "Ambito", "Scope"),
    (
        "desk_admin.report.nation",
        "Italia (tutte le regioni)",
        "Italy (all regions)",
    ),
    ("desk_admin.report.regions", "Regioni", "Regions"),
    ("desk_admin.report.offices", "Uffici", "Offices"),
    ("desk_admin.report.from", "Dal", "From"),
    ("desk_admin.report.to", "Al", "To"),
    ("desk_admin.report.show", "Mostra", "Show"),
    ("desk_admin.report.period", "periodo", "period"),
    (
        "desk_admin.report.bad_scope",
        "Ambito non riconosciuto: sceglilo dall'elenco.",
        "Unknown scope: choose it from the list.",
    ),
    (
        "desk_admin.report.bad_order",
        "La data finale precede quella iniziale.",
        "The end date is before the start date.",
    ),
    (
        "desk_admin.report.too_long",
        "Il periodo può coprire al massimo un anno.",
        "The period may cover one year at most.",
    ),
    (
        "desk_admin.report.csv",
        "Scarica i dati (CSV)",
        "Download the data (CSV)",
    ),
    ("desk_admin.report.now", "Ora", "Now"),
    (
        "desk_admin.report.in_period",
        "Nel periodo",
        "In the period",
    ),
    (
        "desk_admin.report.to_take",
        "Da prendere in carico",
        "To be taken",
    ),
    (
        "desk_admin.report.in_progress",
        "In lavorazione",
        "In progress",
    ),
    ("desk_admin.report.opened", "Ricevute", "Received"),
    ("desk_admin.report.taken", "Prese in carico", "Taken"),
    ("desk_admin.report.closed", "Chiuse", "Closed"),
    ("desk_admin.report.transferred", "Trasferite", "Transferred"),
    (
        "desk_admin.report.deflected",
        "Evitate grazie alle FAQ",
        "Avoided thanks to the FAQ",
    ),
    (
        "desk_admin.report.by_outcome",
        "Richieste chiuse per esito",
        "Closed requests by outcome",
    ),
    ("desk_admin.report.outcome", "Esito", "Outcome"),
    (
        "desk_admin.report.no_outcomes",
        "Nessuna richiesta chiusa nel periodo.",
        "No request closed in the period.",
    ),
    ("desk_admin.report.by_office", "Per ufficio", "By office"),
    ("desk_admin.report.by_region", "Per regione", "By region"),
    ("desk_admin.report.office", "Ufficio", "Office"),
    ("desk_admin.report.region", "Regione", "Region"),
    (
        "desk_admin.report.chart",
        "Richieste ricevute e chiuse al giorno",
        "Requests received and closed per day",
    ),
    (
        "desk_admin.report.chart_data",
        "Dati del grafico",
        "Chart data",
    ),
    ("desk_admin.report.day", "Giorno", "Day"),
    (
        "desk_admin.report.note",
        "I giorni sono quelli del calendario italiano (ora di Roma).",
        "Days follow the Italian calendar (Rome time).",
    ),
    (
        "desk_admin.register.title",
        "Registro giornaliero di protocollo",
        "Daily protocol register",
    ),
    (
        "desk_admin.register.intro",
        "Il registro giornaliero elenca le registrazioni e gli annullamenti di un giorno. Ogni esportazione è annotata nel registro degli eventi con la sua impronta SHA-256.",
        "The daily register lists one day's registrations and annulments. Every export is written to the audit trail with its SHA-256 fingerprint.",
    ),
    ("desk_admin.register.register", "Registro", "Register"),
    ("desk_admin.register.day", "Giorno", "Day"),
    (
        "desk_admin.register.csv",
        "Scarica il registro (CSV)",
        "Download the register (CSV)",
    ),
    (
        "desk_admin.register.print",
        "Versione stampabile",
        "Printable version",
    ),
    (
        "desk_admin.register.none",
        "Non ci sono ancora registri di protocollo.",
        "There are no protocol registers yet.",
    ),
    (
        "desk_admin.register.choose",
        "Scegli un registro dall'elenco.",
        "Choose a register from the list.",
    ),
    (
        "desk_admin.register.note",
        "Il file CSV usa il punto e virgola come separatore; l'intestazione X-Content-SHA256 della risposta riporta la sua impronta.",
        "The CSV file is separated by semicolons; the response header X-Content-SHA256 carries its fingerprint.",
    ),
    (
        "desk_admin.print.back",
        "Torna al registro",
        "Back to the register",
    ),
    (
        "desk_admin.print.how",
        "Per stampare usa il comando Stampa del browser.",
        "To print, use the browser's Print command.",
    ),
    (
        "desk_admin.print.aoo",
        "Area organizzativa omogenea (AOO)",
        "Homogeneous organisational area (AOO)",
    ),
    ("desk_admin.print.entries", "Registrazioni", "Entries"),
    ("desk_admin.print.annulments", "Annullamenti", "Annulments"),
    (
        "desk_admin.print.number",
        "Numero di protocollo",
        "Protocol number",
    ),
    (
        "desk_admin.print.date",
        "Data di registrazione",
        "Registered on",
    ),
    ("desk_admin.print.intake", "Canale di ingresso", "Intake"),
    ("desk_admin.print.sender", "Mittente", "Sender"),
    ("desk_admin.print.subject", "Oggetto", "Subject"),
    ("desk_admin.print.office", "Ufficio", "Office"),
    (
        "desk_admin.print.hash",
        "Impronta del documento (SHA-256)",
        "Document fingerprint (SHA-256)",
    ),
    ("desk_admin.print.annulment", "Annullamento", "Annulment"),
    ("desk_admin.print.annulled", "Annullata il", "Annulled on"),
    (
        "desk_admin.print.empty",
        "Nessuna registrazione in questo giorno.",
        "No entry on this day.",
    ),
    (
        "desk_admin.print.sha256",
        "Impronta SHA-256 del file CSV esportato:",
        "SHA-256 fingerprint of the exported CSV file:",
    ),
    ("desk_admin.print.exported", "Esportato il", "Exported on"),
    ("desk_admin.intake.web", "Portale", "Web portal"),
    ("desk_admin.intake.mail", "Posta elettronica", "E-mail"),
    ("desk_admin.intake.phone", "Telefono", "Phone"),
    ("desk_admin.intake.other", "Altro", "Other"),
    (
        "desk_admin.channels.title",
        "Canali di assistenza",
        "Assistance channels",
    ),
    (
        "desk_admin.channels.intro",
        "Ogni canale ha il suo registro di protocollo, gli orari, il modulo, gli esiti, le regole di smistamento e gli uffici che lo lavorano.",
        "Each channel has its protocol register, opening hours, form, outcomes, routing rules and the offices that work it.",
    ),
    ("desk_admin.channels.new", "Nuovo canale", "New channel"),
    ("desk_admin.channels.channel", "Canale", "Channel"),
    (
        "desk_admin.channels.caption",
        "Canali configurati",
        "Configured channels",
    ),
    (
        "desk_admin.channels.none",
        "Nessun canale configurato.",
        "No channel configured.",
    ),
    ("desk_admin.channels.register", "Registro", "Register"),
    ("desk_admin.channels.offices", "Uffici", "Offices"),
    ("desk_admin.channels.active", "Attivo", "Active"),
    ("desk_admin.channels.edit", "modifica", "edit"),
    (
        "desk_admin.channels.back",
        "Torna all'elenco dei canali",
        "Back to the channel list",
    ),
    (
        "desk_admin.channels.save",
        "Salva il canale",
        "Save the channel",
    ),
    (
        "desk_admin.channels.saved",
        "Canale salvato.",
        "Channel saved.",
    ),
    (
        "desk_admin.offices.title",
        "Uffici: accettazione delle nuove richieste",
        "Offices: intake of new requests",
    ),
    (
        "desk_admin.offices.intro",
        "Un ufficio che non accetta nuove richieste viene saltato dallo smistamento; le richieste già assegnate restano all'ufficio.",
        "An office that does not accept new requests is skipped by routing; requests already assigned stay with the office.",
    ),
    ("desk_admin.offices.none", "Nessun ufficio.", "No office."),
    (
        "desk_admin.offices.open",
        "Richieste aperte",
        "Open requests",
    ),
    (
        "desk_admin.offices.accepting",
        "Accetta nuove richieste",
        "Accepts new requests",
    ),
    ("desk_admin.offices.actions", "Azioni", "Actions"),
    (
        "desk_admin.offices.stop",
        "Sospendi l'accettazione",
        "Stop accepting",
    ),
    (
        "desk_admin.offices.start",
        "Riprendi l'accettazione",
        "Start accepting",
    ),
    (
        "desk_admin.offices.done",
        "Accettazione dell'ufficio aggiornata.",
        "Office intake updated.",
    ),
    (
        "desk_admin.form.required_note",
        "I campi contrassegnati da * sono obbligatori.",
        "Fields marked with * are required.",
    ),
    ("desk_admin.form.general", "Dati del canale", "Channel"),
    (
        "desk_admin.form.register",
        "Registro di protocollo",
        "Protocol register",
    ),
    (
        "desk_admin.form.audience",
        "Chi può scrivere",
        "Who may write",
    ),
    (
        "desk_admin.form.settings",
        "Orari, modulo, esiti e smistamento",
        "Hours, form, outcomes and routing",
    ),
    ("desk_admin.form.intake", "Canali di ingresso", "Intake"),
    (
        "desk_admin.form.limits",
        "Tempi di servizio e allegati",
        "Service levels and attachments",
    ),
    (
        "desk_admin.form.offices",
        "Uffici che lavorano il canale",
        "Offices working the channel",
    ),
    ("desk_admin.f.code", "Sigla", "Code"),
    ("desk_admin.f.name", "Nome", "Name"),
    ("desk_admin.f.description", "Descrizione", "Description"),
    (
        "desk_admin.f.register_code",
        "Sigla del registro",
        "Register code",
    ),
    (
        "desk_admin.f.register_name",
        "Nome del registro",
        "Register name",
    ),
    (
        "desk_admin.f.aoo",
        "Codice AOO dell'amministrazione",
        "Administration's AOO code",
    ),
    (
        "desk_admin.f.application_code",
        "Applicazione abilitante",
        "Enabling application",
    ),
    (
        "desk_admin.f.requester_categories",
        "Categorie di richiedenti",
        "Requester categories",
    ),
    (
        "desk_admin.f.require_association",
        "Solo richiedenti associati a un ufficio",
        "Only requesters associated with an office",
    ),
    (
        "desk_admin.f.hours_weekly",
        "Orario settimanale",
        "Weekly hours",
    ),
    (
        "desk_admin.f.hours_holidays",
        "Giorni di chiusura",
        "Closing days",
    ),
    ("desk_admin.f.form_spec", "Campi del modulo", "Form fields"),
    ("desk_admin.f.outcomes", "Esiti", "Outcomes"),
    (
        "desk_admin.f.routing_rules",
        "Regole di smistamento",
        "Routing rules",
    ),
    (
        "desk_admin.f.mail_address",
        "Casella di posta del canale",
        "Channel mailbox",
    ),
    (
        "desk_admin.f.intake_web",
        "Richieste dal portale",
        "Requests through the portal",
    ),
    (
        "desk_admin.f.intake_mail",
        "Richieste per posta elettronica",
        "Requests by e-mail",
    ),
    (
        "desk_admin.f.intake_phone",
        "Richieste per telefono (registrate dagli operatori)",
        "Requests by phone (registered by operators)",
    ),
    (
        "desk_admin.f.notice_lookup",
        "Ricerca delle comunicazioni nel modulo",
        "Notice lookup in the form",
    ),
    (
        "desk_admin.f.sla_take_minutes",
        "Presa in carico entro (minuti)",
        "Take within (minutes)",
    ),
    (
        "desk_admin.f.sla_close_minutes",
        "Chiusura entro (minuti)",
        "Close within (minutes)",
    ),
    (
        "desk_admin.f.max_attachment_mb",
        "Dimensione massima degli allegati (MB)",
        "Largest attachment size (MB)",
    ),
    ("desk_admin.f.active", "Canale attivo", "Channel active"),
    ("desk_admin.f.other", "Altro", "Other"),
    (
        "desk_admin.h.code",
        "Da 2 a 16 lettere maiuscole, cifre o _ (es. CIVIS); non si cambia dopo la creazione.",
        "2 to 16 capital letters, digits or _ (e.g. CIVIS); it cannot change once created.",
    ),
    (
        "desk_admin.h.register_code",
        "Un registro esistente o uno nuovo, da 2 a 16 lettere maiuscole o cifre.",
        "An existing register or a new one, 2 to 16 capital letters or digits.",
    ),
    (
        "desk_admin.h.aoo",
        "Il codice dell'area organizzativa omogenea, riportato nella segnatura.",
        "The code of the organisational area, shown in the protocol mark.",
    ),
    (
        "desk_admin.h.application_code",
        "Codice di un'applicazione del catalogo: scrivono solo i suoi utenti abilitati. Vuoto: chiunque abbia accesso al portale.",
        "Code of a catalogue application: only its enabled users may write. Empty: anyone logged in.",
    ),
    (
        "desk_admin.h.requester_categories",
        "Codici separati da virgola; vuoto: tutte le categorie.",
        "Comma-separated codes; empty: every category.",
    ),
    (
        "desk_admin.h.hours_weekly",
        "Un gruppo di giorni con le fasce orarie per riga, ora di Roma. Esempio:\nlun-sab 07:00-23:00",
        "One group of days with its time ranges per line, Rome time. Example:\nlun-sab 07:00-23:00",
    ),
    (
        "desk_admin.h.hours_holidays",
        "Voci separate da virgola o una per riga: «festività nazionali», date aaaa-mm-gg, ricorrenze gg-mm. Esempio:\nfestività nazionali, 2026-12-24",
        "Items separated by commas or one per line: «festività nazionali» (national holidays), dates yyyy-mm-dd, yearly dd-mm. Example:\nfestività nazionali, 2026-12-24",
    ),
    (
        "desk_admin.h.form_spec",
        "Un campo per riga: chiave | etichetta | tipo | obbligatorio oppure facoltativo.\nTipi: testo, testo_lungo, numero, data, codice_fiscale, email, telefono, scelta:a/b, allegato.\nEsempio: motivo | Motivo della richiesta | scelta:rimborso/rettifica | obbligatorio",
        "One field per line: key | label | kind | obbligatorio (required) or facoltativo (optional).\nKinds: testo, testo_lungo, numero, data, codice_fiscale, email, telefono, scelta:a/b, allegato.\nExample: motivo | Motivo della richiesta | scelta:rimborso/rettifica | obbligatorio",
    ),
    (
        "desk_admin.h.outcomes",
        "Un esito per riga (al massimo 80 caratteri), es. Risolta, Non di competenza.",
        "One outcome per line (80 characters at most), e.g. Risolta, Non di competenza.",
    ),
    (
        "desk_admin.h.routing_rules",
        "Una regola per riga, «condizione => destinazione»; vale la prima che si applica. Esempi:\noggetto contiene rinnovo certificato | certificato digitale => ufficio competente\ncampo motivo = rimborso => ufficio DP-FE\nsempre => ufficio DR-ER",
        "One rule per line, «condition => target»; the first that applies wins. Examples:\noggetto contiene rinnovo certificato | certificato digitale => ufficio competente\ncampo motivo = rimborso => ufficio DP-FE\nsempre => ufficio DR-ER",
    ),
    (
        "desk_admin.h.mail_address",
        "Le e-mail ricevute a questo indirizzo diventano richieste del canale.",
        "Mail received at this address becomes requests of the channel.",
    ),
    (
        "desk_admin.h.sla",
        "Minuti di apertura del canale; 0 o vuoto: nessun termine.",
        "Minutes of the channel's opening hours; 0 or empty: no target.",
    ),
    (
        "desk_admin.h.max_attachment_mb",
        "Da 1 a 100 MB per allegato.",
        "1 to 100 MB per attachment.",
    ),
    (
        "desk_admin.h.office_codes",
        "Almeno un ufficio. Lo smistamento sceglie tra questi uffici.",
        "At least one office. Routing chooses among these offices.",
    ),
    (
        "desk_admin.assoc.title",
        "Associa un richiedente a un ufficio",
        "Associate a requester with an office",
    ),
    (
        "desk_admin.assoc.intro",
        "Il richiedente (per esempio un intermediario) scriverà agli uffici a cui è associato per questo canale.",
        "The requester (for instance an intermediary) will write to the offices he is associated with for this channel.",
    ),
    (
        "desk_admin.assoc.no_offices",
        "Il canale non ha ancora uffici.",
        "The channel has no offices yet.",
    ),
    (
        "desk_admin.assoc.fiscal_code",
        "Codice fiscale del richiedente",
        "Requester's codice fiscale",
    ),
    (
        "desk_admin.assoc.choose",
        "Scegli l'ufficio",
        "Choose the office",
    ),
    ("desk_admin.assoc.submit", "Associa", "Associate"),
    (
        "desk_admin.assoc.done",
        "Richiedente associato all'ufficio.",
        "Requester associated with the office.",
    ),
    ("desk.nav.help", "Assistenza", "Assistance"),
    ("desk.nav.office", "Ufficio", "Office"),
    ("desk.home.title", "Assistenza", "Assistance"),
    (
        "desk.home.intro",
        "Scrivi a uno dei canali di assistenza a cui sei abilitato e segui qui le tue richieste.",
        "Write to one of the assistance channels you are enabled for and follow your requests here.",
    ),
    (
        "desk.channels",
        "Canali di assistenza",
        "Assistance channels",
    ),
    (
        "desk.channels.none",
        "Non sei abilitato a scrivere a nessun canale di assistenza.",
        "You are not enabled to write to any assistance channel.",
    ),
    ("desk.channel.open", "Aperto ora", "Open now"),
    ("desk.channel.closed", "Chiuso", "Closed"),
    ("desk.new", "Nuova richiesta", "New request"),
    ("desk.mine", "Le mie richieste", "My requests"),
    (
        "desk.mine.none",
        "Non hai ancora inviato richieste di assistenza.",
        "You have not sent any assistance request yet.",
    ),
    (
        "desk.mine.caption",
        "Le tue richieste di assistenza, dalla più recente",
        "Your assistance requests, most recent first",
    ),
    ("desk.protocol", "Protocollo", "Protocol number"),
    ("desk.date", "Data", "Date"),
    ("desk.registered_at", "Registrata il", "Registered on"),
    ("desk.channel", "Canale", "Channel"),
    ("desk.subject", "Oggetto", "Subject"),
    (
        "desk.body",
        "Descrizione della richiesta",
        "Description of the request",
    ),
    ("desk.state", "Stato", "State"),
    ("desk.outcome", "Esito", "Outcome"),
    ("desk.office", "Ufficio", "Office"),
    ("desk.aoo", "AOO", "AOO"),
    ("desk.of", "del", "of"),
    ("desk.back", "Torna all'assistenza", "Back to assistance"),
    ("desk.breadcrumb", "Percorso", "Breadcrumb"),
    ("desk.choose", "Seleziona…", "Choose…"),
    (
        "desk.required_note",
        "I campi contrassegnati con * sono obbligatori.",
        "Fields marked with * are required.",
    ),
    (
        "desk.new.title",
        "Nuova richiesta di assistenza",
        "New assistance request",
    ),
    (
        "desk.closed",
        "Il canale è chiuso.",
        "The channel is closed.",
    ),
    ("desk.closed.reopens", "Riapre il", "It reopens on"),
    ("desk.notice.legend", "Comunicazione o avviso", "Notice"),
    (
        "desk.notice.intro",
        "Indica il numero della comunicazione o dell'avviso e il codice fiscale del contribuente, poi cerca la comunicazione per verificarne i dati.",
        "Enter the notice number and the taxpayer's codice fiscale, then look the notice up to check its data.",
    ),
    (
        "desk.notice.number",
        "Numero della comunicazione o dell'avviso",
        "Notice number",
    ),
    (
        "desk.notice.taxpayer",
        "Codice fiscale del contribuente",
        "Taxpayer's codice fiscale",
    ),
    (
        "desk.notice.lookup",
        "Cerca la comunicazione",
        "Look up the notice",
    ),
    ("desk.notice.found", "Comunicazione trovata", "Notice found"),
    ("desk.notice.kind", "Tipo", "Kind"),
    ("desk.notice.model", "Modello", "Return form"),
    ("desk.notice.year", "Anno d'imposta", "Tax year"),
    ("desk.request.legend", "La richiesta", "The request"),
    ("desk.contact.legend", "Recapiti", "Contact details"),
    (
        "desk.contact.note",
        "Sono proposti i recapiti indicati l'ultima volta: puoi aggiornarli, saranno usati anche per le prossime richieste.",
        "The contact details given last time are proposed: you can update them, they will also be used for your next requests.",
    ),
    ("desk.requester", "Richiedente", "Requester"),
    (
        "desk.contact_name",
        "Nominativo di riferimento",
        "Contact person",
    ),
    ("desk.phone", "Telefono", "Telephone"),
    ("desk.email", "E-mail", "E-mail"),
    (
        "desk.fields.legend",
        "Dati della richiesta",
        "Request details",
    ),
    ("desk.attachments.legend", "Allegati", "Attachments"),
    (
        "desk.attachments",
        "Allegati (facoltativi)",
        "Attachments (optional)",
    ),
    (
        "desk.attachments.hint",
        "Formati ammessi: {}. Al massimo {} MB per file e {} file in tutto.",
        "Accepted formats: {}. At most {} MB per file and {} files in all.",
    ),
    (
        "desk.attachment_field.hint",
        "Un file, con i formati e la dimensione indicati per gli allegati.",
        "One file, in the formats and size given for attachments.",
    ),
    (
        "desk.files_dropped",
        "I file scelti non sono stati conservati: selezionali di nuovo prima di inviare.",
        "The files you chose were not kept: select them again before sending.",
    ),
    ("desk.submit", "Invia la richiesta", "Send the request"),
    ("desk.request.title", "Richiesta", "Request"),
    (
        "desk.registered",
        "Richiesta registrata con protocollo",
        "Request registered with protocol number",
    ),
    (
        "desk.registered.keep",
        "Conserva il numero di protocollo: ti servirà per ogni comunicazione sulla richiesta.",
        "Keep the protocol number: you will need it whenever you write about this request.",
    ),
    (
        "desk.content",
        "Contenuto della richiesta",
        "Content of the request",
    ),
    ("desk.correspondence", "Corrispondenza", "Correspondence"),
    (
        "desk.history",
        "Storia della richiesta",
        "History of the request",
    ),
    ("desk.events.none", "Nessun messaggio.", "No messages."),
    ("desk.attachments.list", "Allegati:", "Attachments:"),
    (
        "desk.attachments.other",
        "Altri allegati",
        "Other attachments",
    ),
    (
        "desk.event.registered",
        "Richiesta registrata",
        "Request registered",
    ),
    ("desk.event.assigned", "Assegnazione", "Assignment"),
    ("desk.event.taken", "Presa in carico", "Taken in charge"),
    ("desk.event.note", "Nota interna", "Internal note"),
    (
        "desk.event.message_out",
        "Messaggio dell'ufficio",
        "Message from the office",
    ),
    (
        "desk.event.documents_requested",
        "Richiesta di documentazione",
        "Documents requested",
    ),
    (
        "desk.event.message_in",
        "Messaggio del richiedente",
        "Message from the requester",
    ),
    ("desk.event.closed", "Chiusura", "Closure"),
    ("desk.event.transferred", "Trasferimento", "Transfer"),
    ("desk.event.other", "Evento", "Event"),
    ("desk.event.internal", "Solo ufficio", "Office only"),
    (
        "desk.reply.title",
        "Rispondi all'ufficio",
        "Reply to the office",
    ),
    ("desk.reply.text", "Messaggio", "Message"),
    ("desk.reply.submit", "Invia la risposta", "Send the reply"),
    (
        "desk.reply.sent",
        "Risposta inviata all'ufficio.",
        "Reply sent to the office.",
    ),
    ("desk.sla", "Tempi", "Service level"),
    ("desk.sla.ok", "Nei tempi", "On time"),
    ("desk.sla.near", "In scadenza", "Due soon"),
    ("desk.sla.breached", "Scaduta", "Overdue"),
    ("desk.intake", "Ricevuta tramite", "Received by"),
    ("desk.intake.web", "Portale", "Portal"),
    ("desk.intake.mail", "E-mail", "E-mail"),
    ("desk.intake.phone", "Telefono", "Telephone"),
    ("desk.office.title", "Scrivania dell'ufficio", "Office desk"),
    (
        "desk.office.nav",
        "Funzioni dell'ufficio",
        "Office functions",
    ),
    ("desk.buckets", "Richieste per stato", "Requests by state"),
    (
        "desk.bucket.to_take",
        "Da prendere in carico",
        "To be taken",
    ),
    ("desk.bucket.in_progress", "In lavorazione", "In progress"),
    (
        "desk.bucket.waiting_requester",
        "In attesa del richiedente",
        "Waiting for the requester",
    ),
    ("desk.bucket.closed", "Chiuse", "Closed"),
    ("desk.bucket.all", "Tutte", "All"),
    ("desk.filter", "Filtra le richieste", "Filter the requests"),
    (
        "desk.filter.text",
        "Protocollo, oggetto o richiedente",
        "Protocol number, subject or requester",
    ),
    ("desk.filter.any", "Qualsiasi", "Any"),
    (
        "desk.filter.all_offices",
        "Tutti i miei uffici",
        "All my offices",
    ),
    (
        "desk.filter.mine",
        "Solo assegnate a me",
        "Only assigned to me",
    ),
    ("desk.filter.submit", "Filtra", "Filter"),
    (
        "desk.office.none",
        "Nessuna richiesta con questi criteri.",
        "No requests match these criteria.",
    ),
    (
        "desk.office.caption",
        "Richieste degli uffici in cui lavori, dalla più recente.",
        "Requests of the offices you work in, most recent first.",
    ),
    (
        "desk.office.truncated",
        "Sono mostrate solo le prime 200: restringi la ricerca con i filtri.",
        "Only the first 200 are shown: narrow the search with the filters.",
    ),
    ("desk.assignee", "Assegnatario", "Assignee"),
    (
        "desk.take_due",
        "Da prendere in carico entro",
        "To be taken by",
    ),
    ("desk.close_due", "Da chiudere entro", "To be closed by"),
    ("desk.actions", "Azioni", "Actions"),
    (
        "desk.actions.none",
        "Nessuna azione possibile sulla richiesta in questo stato.",
        "No action is possible on the request in this state.",
    ),
    ("desk.act.assign", "Assegna", "Assign"),
    (
        "desk.act.assign.button",
        "Assegna la richiesta",
        "Assign the request",
    ),
    (
        "desk.act.assign.missing",
        "Scegli l'operatore a cui assegnare la richiesta.",
        "Choose the operator to assign the request to.",
    ),
    ("desk.act.take", "Prendi in carico", "Take in charge"),
    (
        "desk.act.take.intro",
        "La richiesta passa in lavorazione a tuo nome.",
        "The request goes in progress under your name.",
    ),
    ("desk.act.take.button", "Prendi in carico", "Take in charge"),
    (
        "desk.act.message",
        "Scrivi al richiedente",
        "Write to the requester",
    ),
    (
        "desk.act.message.intro",
        "Il messaggio è inviato per e-mail al richiedente e resta nella corrispondenza.",
        "The message is e-mailed to the requester and stays in the correspondence.",
    ),
    (
        "desk.act.message.button",
        "Invia il messaggio",
        "Send the message",
    ),
    (
        "desk.act.ask_documents",
        "Chiedi documentazione",
        "Ask for documents",
    ),
    (
        "desk.act.ask_documents.intro",
        "La richiesta resta in attesa del richiedente e i tempi si fermano finché non risponde.",
        "The request waits for the requester and the clock stops until he answers.",
    ),
    (
        "desk.act.ask_documents.button",
        "Chiedi la documentazione",
        "Ask for the documents",
    ),
    (
        "desk.act.text",
        "Testo del messaggio",
        "Text of the message",
    ),
    ("desk.act.note", "Nota interna", "Internal note"),
    (
        "desk.act.note.intro",
        "Visibile solo al personale dell'ufficio, mai al richiedente.",
        "Visible only to the office staff, never to the requester.",
    ),
    ("desk.act.note.text", "Testo della nota", "Text of the note"),
    ("desk.act.note.button", "Aggiungi la nota", "Add the note"),
    ("desk.act.close", "Chiudi la richiesta", "Close the request"),
    (
        "desk.act.close.intro",
        "Il richiedente riceve l'esito per e-mail.",
        "The requester receives the outcome by e-mail.",
    ),
    (
        "desk.act.close.text",
        "Motivazione o istruzioni (facoltative)",
        "Explanation or instructions (optional)",
    ),
    (
        "desk.act.close.button",
        "Chiudi con questo esito",
        "Close with this outcome",
    ),
    (
        "desk.act.transfer",
        "Trasferisci a un altro ufficio",
        "Transfer to another office",
    ),
    (
        "desk.act.transfer.intro",
        "Per le richieste che vanno concluse presso un ufficio territoriale, con l'appuntamento concordato con il richiedente.",
        "For requests to be concluded at a local office, with the appointment agreed with the requester.",
    ),
    (
        "desk.act.transfer.office",
        "Ufficio di destinazione",
        "Receiving office",
    ),
    (
        "desk.act.transfer.appointment",
        "Appuntamento e modalità concordati",
        "Appointment and arrangements agreed",
    ),
    ("desk.act.transfer.button", "Trasferisci", "Transfer"),
    (
        "desk.ok.assign",
        "Richiesta assegnata.",
        "Request assigned.",
    ),
    (
        "desk.ok.take",
        "Richiesta presa in carico.",
        "Request taken in charge.",
    ),
    (
        "desk.ok.note",
        "Nota interna aggiunta.",
        "Internal note added.",
    ),
    (
        "desk.ok.message",
        "Messaggio inviato al richiedente.",
        "Message sent to the requester.",
    ),
    (
        "desk.ok.ask_documents",
        "Documentazione richiesta: la richiesta è in attesa del richiedente.",
        "Documents requested: the request is waiting for the requester.",
    ),
    ("desk.ok.close", "Richiesta chiusa.", "Request closed."),
    (
        "desk.ok.transfer",
        "Richiesta trasferita.",
        "Request transferred.",
    ),
    (
        "desk.phone.title",
        "Registra richiesta telefonica",
        "Register a phone request",
    ),
    (
        "desk.phone.none",
        "Nessun canale dei tuoi uffici accetta richieste telefoniche.",
        "No channel of your offices accepts phone requests.",
    ),
    ("desk.phone.continue", "Continua", "Continue"),
    ("desk.phone.change", "Cambia canale", "Change channel"),
    (
        "desk.phone.no_channel",
        "Canale non disponibile per le richieste telefoniche dei tuoi uffici.",
        "Channel not available for the phone requests of your offices.",
    ),
    ("desk.phone.call", "Dati della telefonata", "Call details"),
    (
        "desk.phone.caller_name",
        "Nome e cognome di chi chiama",
        "Caller's name",
    ),
    (
        "desk.phone.caller_fiscal_code",
        "Codice fiscale di chi chiama (facoltativo)",
        "Caller's codice fiscale (optional)",
    ),
    (
        "desk.phone.caller_fiscal_code.hint",
        "Se chi chiama ha un'utenza, la richiesta sarà visibile anche a lui.",
        "If the caller has an account, he will see the request too.",
    ),
    (
        "desk.phone.email",
        "E-mail (facoltativa)",
        "E-mail (optional)",
    ),
    (
        "desk.phone.no_documents",
        "I documenti non si ricevono per telefono: chi chiama potrà inviarli rispondendo all'e-mail di conferma.",
        "Documents are not taken by phone: the caller can send them by answering the confirmation e-mail.",
    ),
    (
        "desk.phone.submit",
        "Registra la richiesta",
        "Register the request",
    ),
    (
        "desk.phone.routed",
        "assegnata all'ufficio",
        "assigned to the office",
    ),
    ("desk.triage.title", "Smistamento posta", "Mail triage"),
    (
        "desk.triage.intro",
        "Messaggi arrivati per e-mail che non è stato possibile attribuire automaticamente a una richiesta o a un canale.",
        "Messages received by e-mail that could not be matched automatically to a request or a channel.",
    ),
    (
        "desk.triage.none",
        "Nessun messaggio da smistare.",
        "No messages to sort.",
    ),
    (
        "desk.triage.caption",
        "Messaggi in attesa di smistamento, dal più recente",
        "Messages waiting to be sorted, most recent first",
    ),
    ("desk.triage.received", "Ricevuto il", "Received on"),
    ("desk.triage.from", "Mittente", "Sender"),
    ("desk.triage.to", "a", "to"),
    ("desk.triage.why", "Motivo", "Reason"),
    ("desk.triage.decision", "Decisione", "Decision"),
    (
        "desk.triage.protocol",
        "Protocollo della richiesta",
        "Protocol number of the request",
    ),
    (
        "desk.triage.protocol.hint",
        "Ad esempio CIVIS-2026-0000123.",
        "For example CIVIS-2026-0000123.",
    ),
    (
        "desk.triage.attach",
        "Aggiungi alla richiesta",
        "Add to the request",
    ),
    (
        "desk.triage.open",
        "Apri una nuova richiesta",
        "Open a new request",
    ),
    (
        "desk.triage.reason",
        "Motivo dello scarto",
        "Reason for discarding",
    ),
    ("desk.triage.discard", "Scarta", "Discard"),
    (
        "desk.triage.done.attached",
        "Messaggio aggiunto alla richiesta",
        "Message added to the request",
    ),
    (
        "desk.triage.done.opened",
        "Aperta la richiesta",
        "Opened the request",
    ),
    (
        "desk.triage.done.discarded",
        "Messaggio scartato.",
        "Message discarded.",
    ),
    (
        "desk.triage.open_request",
        "Apri la richiesta",
        "Open the request",
    ),
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
    ("nav.registrations", "Registrazioni", "Registrations"),
    (
        "reg.title",
        "Registrazione di soggetti privati",
        "Registration of private subjects",
    ),
    (
        "reg.intro",
        "Privati, società, professionisti, consulenti tecnici d'ufficio (CTU) e dipendenti di enti pubblici senza amministratore locale si registrano da sé. Servono una casella di posta elettronica certificata (PEC) e una firma digitale valida, anche se hai già SPID.",
        "Private persons, companies, professionals, court-appointed experts (CTU) and employees of public bodies without a local administrator register themselves. You need a certified e-mail address (PEC) and a valid digital signature, even if you already have SPID.",
    ),
    (
        "reg.step1",
        "Compila il modulo: ti scriviamo alla PEC per confermarla.",
        "Fill in the form: we write to your PEC to confirm it.",
    ),
    (
        "reg.step2",
        "Dal collegamento ricevuto scarica la richiesta di registrazione e firmala digitalmente (CAdES, file .p7m).",
        "From the link you receive, download the registration request and sign it digitally (CAdES, .p7m file).",
    ),
    (
        "reg.step3",
        "Carica il file firmato: verificata la firma, ricevi per e-mail il collegamento per attivare l'utenza.",
        "Upload the signed file: once the signature is verified, you receive by e-mail the link to activate your account.",
    ),
    (
        "reg.pec",
        "Posta elettronica certificata (PEC)",
        "Certified e-mail (PEC)",
    ),
    ("reg.category", "Categoria", "Category"),
    ("reg.category.org_hint", "indica l'ente", "name your body"),
    (
        "reg.category.private_person",
        "Persona fisica",
        "Private person",
    ),
    ("reg.category.company", "Società o ente", "Company or body"),
    (
        "reg.category.professional",
        "Professionista",
        "Professional",
    ),
    (
        "reg.category.court_auxiliary",
        "Ausiliario del giudice (CTU)",
        "Court-appointed expert (CTU)",
    ),
    (
        "reg.category.public_employee",
        "Dipendente pubblico",
        "Public employee",
    ),
    ("reg.organization", "Ente di appartenenza", "Your body"),
    ("reg.organization.none", "Nessuno", "None"),
    (
        "reg.organization.hint",
        "Solo per i dipendenti pubblici: se il tuo ente ha un amministratore locale delle utenze rivolgiti a lui; altrimenti allegherai la documentazione dell'ente, esaminata dall'amministrazione centrale.",
        "Public employees only: if your body has a local user administrator, ask him; otherwise you will attach your body's documentation, reviewed by the central administration.",
    ),
    ("reg.submit", "Invia la richiesta", "Send the request"),
    (
        "reg.sent",
        "Richiesta ricevuta: ti abbiamo scritto alla PEC indicata. Numero di registrazione",
        "Request received: we wrote to the PEC address you gave. Registration number",
    ),
    (
        "reg.sent.next",
        "Apri il collegamento contenuto nel messaggio per scaricare il documento da firmare.",
        "Open the link in that message to download the document to sign.",
    ),
    (
        "reg.closed",
        "La registrazione autonoma non è attiva su questo portale: rivolgiti all'assistenza.",
        "Self-registration is not open on this portal: contact the help desk.",
    ),
    (
        "reg.case.title",
        "La tua registrazione",
        "Your registration",
    ),
    (
        "reg.reference",
        "Numero di registrazione",
        "Registration number",
    ),
    (
        "reg.case.pec_ok",
        "Indirizzo PEC confermato.",
        "PEC address confirmed.",
    ),
    (
        "reg.case.download",
        "Scarica la richiesta e firmala",
        "Download the request and sign it",
    ),
    (
        "reg.case.download.help",
        "Firma il documento così com'è con il tuo dispositivo di firma digitale (formato CAdES, estensione .p7m). Il portale verifica che sia proprio questo documento, firmato da te con un certificato valido.",
        "Sign the document as it is with your digital signature device (CAdES format, .p7m extension). The portal checks that it is this very document, signed by you with a valid certificate.",
    ),
    (
        "reg.case.download.button",
        "Scarica la richiesta (PDF)",
        "Download the request (PDF)",
    ),
    (
        "reg.case.upload",
        "Carica il documento firmato",
        "Upload the signed document",
    ),
    (
        "reg.case.signed",
        "Documento firmato (.p7m)",
        "Signed document (.p7m)",
    ),
    (
        "reg.case.signed.hint",
        "Il file .p7m prodotto dal software di firma; è accettata anche la firma separata (.p7s).",
        "The .p7m file produced by your signing software; a detached signature (.p7s) is accepted too.",
    ),
    (
        "reg.case.support",
        "Documentazione dell'ente",
        "Documentation of your body",
    ),
    (
        "reg.case.support.hint",
        "La lettera dell'ente che attesta il tuo ruolo, in PDF (anche firmata digitalmente).",
        "The letter of your body stating your role, in PDF (digitally signed too).",
    ),
    (
        "reg.case.submit",
        "Invia il documento firmato",
        "Send the signed document",
    ),
    (
        "reg.case.awaiting_approval",
        "Firma verificata. Il tuo ente non ha un amministratore locale: la documentazione è all'esame dell'amministrazione centrale, che ti scriverà l'esito.",
        "Signature verified. Your body has no local administrator: the documentation is being reviewed by the central administration, which will write to you.",
    ),
    (
        "reg.case.active",
        "Registrazione accolta: ti abbiamo inviato per e-mail il collegamento per attivare l'utenza e scegliere la password.",
        "Registration accepted: we e-mailed you the link to activate your account and choose a password.",
    ),
    (
        "reg.case.refused",
        "Registrazione respinta.",
        "Registration refused.",
    ),
    (
        "reg.case.gone",
        "Il collegamento non è valido o è scaduto.",
        "The link is not valid or has expired.",
    ),
    (
        "reg.case.again",
        "Presenta una nuova richiesta",
        "Send a new request",
    ),
    (
        "reg.staff.title",
        "Registrazioni di soggetti privati",
        "Registrations of private subjects",
    ),
    ("reg.staff.filter", "Filtra per stato", "Filter by state"),
    ("reg.staff.all", "Tutte", "All"),
    ("reg.staff.reason", "Motivo", "Reason"),
    ("reg.staff.created", "Richiesta il", "Requested on"),
    (
        "reg.staff.none",
        "Nessuna registrazione.",
        "No registrations.",
    ),
    ("reg.staff.detail", "Registrazione", "Registration"),
    (
        "reg.staff.back",
        "Torna alle registrazioni",
        "Back to the registrations",
    ),
    ("reg.staff.issued", "Documento emesso", "Document issued"),
    ("reg.staff.signer", "Firmatario", "Signer"),
    ("reg.staff.decided", "Decisa il", "Decided on"),
    (
        "reg.staff.attempts",
        "Documenti firmati caricati",
        "Signed documents uploaded",
    ),
    ("reg.staff.when", "Quando", "When"),
    ("reg.staff.outcome", "Verifica", "Verification"),
    (
        "reg.staff.verified",
        "Firma verificata",
        "Signature verified",
    ),
    ("reg.staff.not_verified", "Respinto", "Refused"),
    ("reg.staff.decision", "Decisione", "Decision"),
    (
        "reg.staff.approve",
        "Approva e crea l'utenza",
        "Approve and create the account",
    ),
    ("reg.staff.refuse", "Respingi", "Refuse"),
    (
        "reg.staff.refuse_reason",
        "Motivo del rifiuto (inviato al richiedente)",
        "Reason for refusal (sent to the applicant)",
    ),
    (
        "reg.staff.approved",
        "Registrazione approvata: l'utente ha ricevuto il collegamento di attivazione.",
        "Registration approved: the user received the activation link.",
    ),
    (
        "reg.staff.refused",
        "Registrazione respinta: il richiedente è stato informato.",
        "Registration refused: the applicant was informed.",
    ),
    (
        "reg.login_link",
        "Non hai un'utenza? Registrati",
        "No account? Register",
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
    // Knowledge base (FAQ) of the assistance desk.
    ("kb.nav", "FAQ", "FAQ"),
    ("kb.nav.staff", "Redazione FAQ", "FAQ editing"),
    (
        "kb.title",
        "Domande frequenti",
        "Frequently asked questions",
    ),
    (
        "kb.intro",
        "Cerca la risposta tra le domande più frequenti rivolte all'assistenza: spesso è già qui.",
        "Look for the answer among the questions most often asked to the assistance desk: it is often already here.",
    ),
    ("kb.search.label", "Cerca nelle FAQ", "Search the FAQ"),
    (
        "kb.search.hint",
        "Scrivi alcune parole, per esempio: password scaduta, amministratore locale, Telecontenzioso.",
        "Type a few words, for example: expired password, local administrator, Telecontenzioso.",
    ),
    ("kb.search.submit", "Cerca", "Search"),
    (
        "kb.filter.title",
        "Filtra per applicazione",
        "Filter by application",
    ),
    ("kb.filter.all", "Tutte le applicazioni", "All applications"),
    ("kb.results", "Risultati", "Results"),
    (
        "kb.no_results",
        "Nessuna risposta trovata con queste parole.",
        "No answer found with these words.",
    ),
    (
        "kb.write_to_desk",
        "Scrivi all'assistenza",
        "Write to the assistance desk",
    ),
    (
        "kb.empty",
        "Non ci sono ancora articoli.",
        "There are no articles yet.",
    ),
    ("kb.general", "Argomenti generali", "General topics"),
    (
        "kb.thanks",
        "Grazie: ci fa piacere che la risposta ti sia stata utile. La richiesta di assistenza non è stata inviata.",
        "Thank you: we are glad the answer helped. The assistance request was not sent.",
    ),
    (
        "kb.thanks.back",
        "Scrivi comunque all'assistenza",
        "Write to the assistance desk anyway",
    ),
    (
        "kb.back",
        "Tutte le domande frequenti",
        "All frequently asked questions",
    ),
    (
        "kb.suggest.title",
        "Forse la risposta è già nelle FAQ",
        "The answer may already be in the FAQ",
    ),
    (
        "kb.suggest.intro",
        "Prima di inviare la richiesta, guarda se uno di questi articoli risponde alla tua domanda.",
        "Before sending the request, see whether one of these articles answers your question.",
    ),
    (
        "kb.suggest.none",
        "Nessun articolo delle FAQ corrisponde a quanto scritto.",
        "No FAQ article matches what you wrote.",
    ),
    ("kb.suggest.button", "Cerca nelle FAQ", "Search the FAQ"),
    (
        "kb.helped",
        "La risposta mi ha aiutato",
        "The answer helped me",
    ),
    ("kb.staff.title", "Redazione delle FAQ", "FAQ editing"),
    ("kb.staff.new", "Nuovo articolo", "New article"),
    ("kb.staff.edit", "Modifica articolo", "Edit article"),
    ("kb.staff.public", "Pagina pubblica", "Public page"),
    ("kb.staff.version", "Versione", "Version"),
    ("kb.staff.state", "Stato", "State"),
    ("kb.staff.updated", "Data", "Date"),
    ("kb.staff.published", "Pubblicato", "Published"),
    ("kb.staff.draft", "Non pubblicato", "Not published"),
    (
        "kb.staff.saved",
        "Modifiche registrate.",
        "Changes recorded.",
    ),
    ("kb.staff.last_version", "Ultima versione", "Last version"),
    ("kb.staff.not_published", "non pubblicato", "not published"),
    (
        "kb.staff.publish",
        "Pubblica la versione",
        "Publish version",
    ),
    (
        "kb.staff.publish_this",
        "Pubblica questa versione",
        "Publish this version",
    ),
    (
        "kb.staff.unpublish",
        "Ritira dalla pubblicazione",
        "Withdraw from publication",
    ),
    (
        "kb.staff.publish_reserved",
        "La pubblicazione spetta ai gestori dell'assistenza e all'amministratore centrale.",
        "Publishing is up to the desk's managers and the central administrator.",
    ),
    ("kb.staff.italian", "Testo in italiano", "Italian text"),
    (
        "kb.staff.english",
        "Testo in inglese (facoltativo)",
        "English text (optional)",
    ),
    (
        "kb.staff.grouping",
        "Raggruppamento e indirizzo",
        "Grouping and address",
    ),
    ("kb.staff.preview", "Anteprima", "Preview"),
    (
        "kb.staff.save",
        "Salva una nuova versione",
        "Save a new version",
    ),
    (
        "kb.staff.versions",
        "Storico delle versioni",
        "Version history",
    ),
    ("kb.staff.author", "Autore", "Author"),
    ("kb.field.question_it", "Domanda", "Question"),
    ("kb.field.answer_it", "Risposta", "Answer"),
    (
        "kb.field.question_en",
        "Domanda in inglese",
        "Question in English",
    ),
    (
        "kb.field.answer_en",
        "Risposta in inglese",
        "Answer in English",
    ),
    (
        "kb.field.markdown_hint",
        "Testo in Markdown: **grassetto**, elenchi con «-», collegamenti [testo](https://…). L'HTML non è ammesso e viene mostrato come testo.",
        "Markdown text: **bold**, lists with «-», links [text](https://…). HTML is not allowed and is shown as text.",
    ),
    ("kb.field.application", "Applicazione", "Application"),
    (
        "kb.field.channel",
        "Canale di assistenza",
        "Assistance channel",
    ),
    ("kb.any_channel", "Tutti i canali", "All channels"),
    ("kb.field.slug", "Indirizzo della pagina", "Page address"),
    (
        "kb.field.slug_hint",
        "Lettere minuscole, cifre e trattini; vuoto = ricavato dalla domanda.",
        "Lower-case letters, digits and hyphens; empty = made from the question.",
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

    /// Every file under `dir`, subdirectories included.
    fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn every_key_used_in_templates_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for path in files_under(std::path::Path::new(dir)) {
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

    /// The assistance desk's handlers name their texts as "desk.…" literals.
    #[test]
    fn every_desk_key_used_in_the_handlers_exists() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        for path in files_under(std::path::Path::new(src)) {
            let name = path.to_string_lossy().to_string();
            if !name.contains("desk_pages") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("\"desk.").skip(1) {
                let key = format!("desk.{}", part.split('"').next().unwrap());
                assert!(
                    TEXTS.iter().any(|(k, _, _)| *k == key),
                    "{name}: missing key {key}"
                );
            }
        }
    }
}
