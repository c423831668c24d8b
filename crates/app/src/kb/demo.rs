//! The demo world's FAQ: the questions the assistance desk answers most
//! often (access of an employee of a local body, the local administrator,
//! profiles of Telecontenzioso, telephone hours, passwords, registration),
//! each published at its first version.

use sportello_store::AnyConnection;
use sportello_store::desk as desk_store;
use sportello_store::kb as store;

use crate::AppError;

/// slug, application, channel, question, answer (Markdown), English question and answer.
type DemoArticle = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

pub const ARTICLES: &[DemoArticle] = &[
    (
        "accesso-dipendente-ente-locale",
        None,
        None,
        "Cosa deve fare un dipendente di un ente locale (Comune, Provincia, Regione) per accedere ai servizi del portale?",
        "Per accedere ai servizi il dipendente deve essere **abilitato in anticipo** dall'amministratore locale delle utenze presente presso il proprio ente.\n\n\
Una volta abilitato, trova i servizi nella sezione **I miei servizi** dell'area riservata e vi accede seguendo il relativo collegamento.",
        "What must an employee of a local body (municipality, province, region) do to use the portal's services?",
        "The employee must first be **enabled** by the local user administrator of his own body. Once enabled, he finds the services under **My services** in the reserved area.",
    ),
    (
        "abilitazione-dipendente-ente-locale",
        None,
        None,
        "Come ottiene un dipendente di un ente locale l'abilitazione alle applicazioni?",
        "Il dipendente si rivolge all'**amministratore locale delle utenze** del proprio ente e chiede di essere abilitato alle applicazioni di sua competenza.\n\n\
Fatta l'abilitazione, riceve una e-mail che la conferma e che contiene la **password provvisoria**, da cambiare al primo accesso seguendo le indicazioni. \
Chi ha già credenziali del portale non riceve una nuova password: entra con quella che usa già.",
        "",
        "",
    ),
    (
        "compiti-amministratore-locale",
        None,
        None,
        "Quali sono i compiti dell'amministratore locale delle utenze di un ente?",
        "L'amministratore locale gestisce gli utenti del proprio ente (e degli enti che ne dipendono) dalla console **Amministrazione utenti** dell'area riservata. In particolare:\n\n\
- crea le utenze dei dipendenti e le abilita alle applicazioni;\n\
- assegna a ciascun utente **un solo profilo** per applicazione, e lo cambia quando serve;\n\
- revoca le abilitazioni, disabilita e riabilita le utenze;\n\
- sblocca le utenze bloccate dopo troppi tentativi di accesso falliti;\n\
- consulta lo storico delle operazioni del proprio ente.\n\n\
Le operazioni restano registrate nel registro delle attività.",
        "What does a body's local user administrator do?",
        "The local administrator manages the users of his body from the **User administration** console: he creates their accounts, enables them to the applications with one profile each, revokes enablements, disables and unlocks accounts, and reads the history of his body's operations.",
    ),
    (
        "nomina-amministratore-locale",
        None,
        None,
        "Cosa deve fare un ente per avere un amministratore locale delle utenze?",
        "Il responsabile dell'ufficio dell'ente chiede la nomina dall'area riservata, alla voce **Richiedi la nomina di un amministratore locale**, indicando:\n\n\
- l'ente e il suo codice fiscale;\n\
- nome, cognome, codice fiscale e indirizzo e-mail della persona da nominare;\n\
- l'atto di nomina firmato dal responsabile, in allegato.\n\n\
L'amministratore centrale esamina la richiesta; una volta approvata, il nuovo amministratore riceve per e-mail le credenziali (o, se è già utente, la notizia della nomina) e può accedere alla console di amministrazione.",
        "How does a public body get a local user administrator?",
        "The head of the body's office asks for the appointment from the reserved area, giving the body, the person to appoint and the signed deed of appointment. Once the central administrator approves it, the new administrator receives his credentials by e-mail.",
    ),
    (
        "profili-telecontenzioso",
        Some("TELECONTENZIOSO"),
        None,
        "Quali profili deve usare l'amministratore locale per abilitare gli utenti del Telecontenzioso?",
        "Dalla console di amministrazione l'amministratore locale sceglie l'applicazione **Telecontenzioso** e assegna il profilo adatto alla persona:\n\n\
- **Ente impositore - gestione**, per chi segue le controversie dell'ente;\n\
- **Ente impositore - sola consultazione**, per chi deve soltanto vederle.\n\n\
Uno stesso utente **non può avere più di un profilo** per la stessa applicazione.\n\n\
Con il solo profilo del Telecontenzioso l'utente vede i dati della vertenza ma **non il fascicolo processuale**: i documenti del fascicolo sono visibili solo a chi ha anche un profilo del Processo Tributario Telematico (PTT).",
        "Which profiles does the local administrator use to enable Telecontenzioso users?",
        "He picks the **Telecontenzioso** application and assigns one profile: management or read-only. A user cannot hold two profiles of the same application; with the Telecontenzioso profile alone the user sees the dispute's data but not the case file, which requires a PTT profile.",
    ),
    (
        "ptt-accesso-telecontenzioso",
        Some("PTT"),
        None,
        "L'abilitazione al Processo Tributario Telematico (PTT) dà accesso anche al Telecontenzioso?",
        "Sì. L'abilitazione al **PTT** permette di accedere anche al Telecontenzioso con le stesse credenziali, senza altre autorizzazioni, e di vedere i documenti del fascicolo processuale.",
        "",
        "",
    ),
    (
        "orari-assistenza-telefonica",
        None,
        None,
        "Quali sono gli orari dell'assistenza telefonica?",
        "Per assistenza sulla procedura di abilitazione è disponibile il numero verde **800 123 456**:\n\n\
- dal lunedì al venerdì, dalle 8:00 alle 18:00;\n\
- il sabato, dalle 8:00 alle 14:00.\n\n\
Se necessario, l'operatore può chiederti il permesso di collegarsi al tuo computer con uno strumento di assistenza remota, nel rispetto della normativa sulla privacy: il collegamento avviene solo con il tuo consenso e lo puoi interrompere in ogni momento.",
        "When is telephone assistance available?",
        "Call the toll-free number **800 123 456** Monday to Friday from 8:00 to 18:00 and on Saturday from 8:00 to 14:00. With your consent, the operator may connect to your computer with a remote support tool.",
    ),
    (
        "password-scaduta",
        None,
        None,
        "Perché la mia password è scaduta e come la cambio?",
        "Per sicurezza la password **scade dopo 90 giorni**. Al primo accesso dopo la scadenza il portale ti chiede di sceglierne una nuova prima di proseguire: inserisci la password attuale e poi la nuova due volte.\n\n\
La nuova password deve essere lunga almeno 12 caratteri, non contenere il tuo codice fiscale né il tuo nome e non essere uguale alle ultime password usate.",
        "Why has my password expired and how do I change it?",
        "For security a password **expires after 90 days**. At the first login after that the portal asks you for a new one before going on.",
    ),
    (
        "password-dimenticata",
        None,
        None,
        "Ho dimenticato la password: come la reimposto?",
        "Dalla pagina **Accedi** scegli *Password dimenticata?* e indica il tuo codice fiscale. Se l'utenza è attiva, ricevi all'indirizzo e-mail registrato un collegamento valido una sola volta e per un tempo limitato, con cui scegli una nuova password.\n\n\
Se l'utenza è **bloccata** per troppi tentativi falliti, attendi lo sblocco automatico oppure chiedi all'amministratore locale del tuo ente di sbloccarla.",
        "I forgot my password: how do I reset it?",
        "On the **Log in** page choose *Forgot password?* and give your fiscal code: a single-use link reaches your registered e-mail address.",
    ),
    (
        "password-provvisoria",
        None,
        None,
        "Non è arrivata la password provvisoria: cosa faccio?",
        "Controlla la cartella della posta indesiderata. La e-mail non contiene una password se hai già credenziali del portale: in quel caso accedi con quelle.\n\n\
Se non la trovi, chiedi all'amministratore locale del tuo ente di **inviarla di nuovo** dalla console di amministrazione.",
        "",
        "",
    ),
    (
        "registrazione-pec-firma-digitale",
        Some("PTT"),
        None,
        "Come mi registro al portale come professionista o privato? Servono PEC e firma digitale?",
        "Privati, società, professionisti e consulenti tecnici d'ufficio si registrano da sé dalla pagina di registrazione. Servono:\n\n\
- una casella di **posta elettronica certificata (PEC)**, dove ricevi le comunicazioni;\n\
- una **firma digitale** valida, con cui firmi il modulo di registrazione scaricato dal portale.\n\n\
La firma digitale è necessaria anche se hai già SPID. Verificata la firma, l'utenza viene attivata e ricevi le istruzioni alla PEC indicata.",
        "How do I register as a professional or private person? Do I need a certified e-mail and a digital signature?",
        "Private persons, companies and professionals register themselves. You need a **certified e-mail address (PEC)** and a valid **digital signature** to sign the registration form, even if you already have SPID.",
    ),
    (
        "dipendente-ente-senza-amministratore",
        None,
        None,
        "Sono dipendente di un ente pubblico che non ha un amministratore locale: come ottengo l'accesso?",
        "Se il tuo ente non ha un amministratore locale puoi registrarti da te, come dipendente di ente pubblico, con PEC e firma digitale. La registrazione viene **approvata dall'amministratore centrale** prima di essere attivata.\n\n\
In alternativa il tuo ente può chiedere la nomina di un amministratore locale, che poi abiliterà tutti i dipendenti.",
        "",
        "",
    ),
    (
        "civis-comunicazione-irregolarita",
        Some("CIVIS"),
        Some("CIVIS"),
        "Come chiedo assistenza su una comunicazione di irregolarità o un avviso telematico (CIVIS)?",
        "Dalla pagina **Assistenza** scegli il canale CIVIS, indica il numero della comunicazione e il codice fiscale del contribuente e premi *Cerca la comunicazione*: i dati vengono compilati da soli.\n\n\
Descrivi poi il problema e allega i documenti utili (per esempio le ricevute dei versamenti). La richiesta riceve subito un **numero di protocollo** con cui puoi seguirla.",
        "",
        "",
    ),
    (
        "bdna-richiesta-assistenza",
        Some("BDNA"),
        Some("BDNA"),
        "Come chiedo assistenza sulla Banca Dati Nazionale Antimafia (BDNA)?",
        "Dalla pagina **Assistenza** scegli il canale BDNA e compila il modulo; puoi anche scrivere alla casella del servizio indicando «BDNA» nell'oggetto. \
La richiesta viene protocollata e assegnata alla prefettura competente o al service desk centrale.",
        "",
        "",
    ),
    (
        "un-solo-profilo-per-applicazione",
        None,
        None,
        "Perché non posso avere due profili per la stessa applicazione?",
        "Ogni utente può avere **un solo profilo per applicazione**: con due profili l'applicazione non saprebbe quali funzioni concedere. \
Per cambiare profilo chiedi all'amministratore locale del tuo ente di sostituire quello attuale.",
        "",
        "",
    ),
];

/// Inserts the demo articles that do not exist yet (by slug), each at its
/// first version and published. Returns how many were added.
pub async fn seed_in(tx: &mut AnyConnection, now: i64) -> Result<usize, AppError> {
    let mut added = 0;
    for (slug, app, channel, q_it, a_it, q_en, a_en) in ARTICLES {
        if store::slug_taken_in(tx, slug, None).await? {
            continue;
        }
        let application_id = match app {
            Some(code) => desk_store::id_by_code_in(tx, "applications", code).await?,
            None => None,
        };
        let channel_id = match channel {
            Some(code) => desk_store::channel_by_code_in(tx, code)
                .await?
                .map(|c| c.id),
            None => None,
        };
        let id = store::insert_article_in(tx, slug, application_id, channel_id, now).await?;
        store::add_version_in(
            tx,
            id,
            1,
            q_it,
            a_it,
            q_en,
            a_en,
            None,
            "Redazione FAQ",
            now,
        )
        .await?;
        store::update_article_in(tx, id, slug, application_id, channel_id, 1, now).await?;
        store::set_published_in(tx, id, Some(1), now).await?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_core::kb::ArticleText;

    #[test]
    fn demo_articles_are_valid() {
        assert!(ARTICLES.len() >= 12);
        for (slug, _, _, q_it, a_it, q_en, a_en) in ARTICLES {
            let v = ArticleText {
                slug: slug.to_string(),
                question_it: q_it.to_string(),
                answer_it: a_it.to_string(),
                question_en: q_en.to_string(),
                answer_en: a_en.to_string(),
            }
            .validate()
            .unwrap_or_else(|e| panic!("{slug}: {e:?}"));
            assert_eq!(v.slug, *slug);
        }
    }
}
