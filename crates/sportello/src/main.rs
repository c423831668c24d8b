//! `sportello`: one binary for the portal, its workers and its maintenance.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sportello_app::{App, Config, demo};
use sportello_store::audit::{self, Verification};
use sportello_store::{Db, redact_url};

#[derive(Parser)]
#[command(
    name = "sportello",
    version,
    about = "Sportello: delegated access management, assistance desk and integrated filings for public administrations",
    long_about = "Sportello: delegated access management, assistance desk and integrated filings for public administrations.\n\n\
Configuration comes from built-in defaults, then the TOML file (--config or SPORTELLO_CONFIG), then SPORTELLO_* environment \
variables (SPORTELLO_MAIL__SMTP_URL sets mail.smtp_url), then these flags; each later source wins. `sportello config` prints every key with its default."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalOpts {
    /// TOML configuration file.
    #[arg(long, global = true, env = "SPORTELLO_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default: <data-dir>/sportello.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Directory for the SQLite database, the local maildir and uploads (default: data).
    #[arg(long, global = true)]
    data_dir: Option<String>,
    /// Log format: text or json (default: text). Log level via SPORTELLO_LOG (default: info).
    #[arg(long, global = true)]
    log_format: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal with its outbox workers, service-level checks and, if
    /// configured, the IMAP poller (migrates the database first).
    Serve {
        /// Address to listen on (default: 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Public base URL, used in e-mail links and for Secure cookies (default: http://localhost:8080).
        #[arg(long)]
        public_base_url: Option<String>,
        /// Load the demo world (idempotent) and print the demo credentials.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo world (idempotent) and print the demo credentials.
    Demo,
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print every configuration key with its default value, as TOML.
    Config,
    /// Issue a SCIM provisioning token for an organization (audited as the
    /// system); prints only the token, which is shown this once.
    ScimToken {
        /// Code of the organization (e.g. C-D548).
        #[arg(long)]
        org: String,
        /// What the token is for (e.g. the HR system's name).
        #[arg(long)]
        label: String,
    },
    /// Bulk operations on the directory.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// OpenID Connect provider tools.
    Oidc {
        #[command(subcommand)]
        command: OidcCommand,
    },
    /// Knowledge base (FAQ) tools.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Read one e-mail message (RFC 5322) on standard input and hand it to the
    /// assistance desk, for an MTA pipe (e.g. Postfix `mailbox_command` or an
    /// aliases entry). Exit codes follow sysexits: 0 accepted, 65 malformed
    /// message, 75 temporary failure (the MTA retries), 77 refused token.
    Mailgate {
        /// The portal's address (default: http://<listen>).
        #[arg(long)]
        url: Option<String>,
    },
    /// Run the demo agencies (simulated INPS, INAIL and Chamber of Commerce)
    /// that take the portal's integrated filings, as docs/AGENCY-CONNECTOR.md
    /// describes: /inps/pratiche, /inail/pratiche, /cciaa/pratiche,
    /// POST /{agency}/control to change how each behaves, GET /stats.
    DemoAgency {
        /// Address to listen on (default: 127.0.0.1:9100).
        #[arg(long)]
        listen: Option<String>,
        /// The portal's public URL: the issuer of the signatures, with the JWKS at <URL>/oidc/jwks.
        #[arg(long)]
        portal_url: String,
        /// The agencies' public URL, the audience of the signatures (default: http://<listen>).
        #[arg(long)]
        public_url: Option<String>,
        /// Bearer token the agencies send with their callbacks to the portal.
        #[arg(long, env = "SPORTELLO_DEMO_AGENCY_TOKEN", hide_env_values = true)]
        callback_token: String,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Rebuild the search index (`<data_dir>/kb-index`) from the published
    /// articles; prints how many are indexed. `serve` also does it at start-up.
    Reindex,
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Retire the signing keys and make new ones; the old ones stay in the
    /// JWKS for `oidc.retired_key_hours`, so tokens they signed still verify.
    RotateKeys,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Create and enable the users listed in a CSV or XLSX file (columns: codice fiscale,
    /// nome, cognome, email, and optionally pec, telefono, categoria, applicazione, profilo).
    Users {
        /// The file (CSV with ; , or TAB, UTF-8 or Windows-1252; or XLSX).
        file: PathBuf,
        /// Code of the organization the users belong to (e.g. C-D548).
        #[arg(long)]
        org: String,
        /// Report row by row what would happen, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the whole audit trail; names the first broken event.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Config = cli.command {
        print!("{}", Config::defaults_toml());
        return ExitCode::SUCCESS;
    }
    let (listen, public_base_url) = match &cli.command {
        Command::Serve {
            listen,
            public_base_url,
            ..
        } => (listen.clone(), public_base_url.clone()),
        _ => (None, None),
    };
    let flags = [
        ("listen", listen),
        ("public_base_url", public_base_url),
        ("database_url", cli.global.database_url.clone()),
        ("data_dir", cli.global.data_dir.clone()),
        ("log_format", cli.global.log_format.clone()),
    ];
    let config = match Config::load(cli.global.config.as_deref(), std::env::vars(), &flags) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    init_tracing(&config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("runtime: {e}")),
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sportello: errore: {message}");
    ExitCode::from(2)
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPORTELLO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(config: &Config) -> Result<Db, String> {
    let url = config.effective_database_url();
    let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    tracing::info!(database = %redact_url(&url), backend = db.backend().name(), "database ready");
    Ok(db)
}

async fn run(command: Command, config: Config) -> Result<ExitCode, String> {
    match command {
        Command::Mailgate { url } => mailgate(&config, url).await,
        Command::DemoAgency {
            listen,
            portal_url,
            public_url,
            callback_token,
        } => demo_agency(listen, portal_url, public_url, callback_token).await,
        Command::Migrate => {
            open(&config).await?;
            println!("migrazioni applicate");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            seed_demo(&app).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let db = open(&config).await?;
            match audit::verify(&db).await.map_err(|e| e.to_string())? {
                Verification::Intact { events } => {
                    println!("registro di audit integro: {events} eventi verificati");
                    Ok(ExitCode::SUCCESS)
                }
                Verification::Broken(e) => {
                    println!("registro di audit NON integro: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Serve { demo, .. } => {
            let mut config = config;
            // The demo's integrated service delivers to the simulated agencies.
            config.filings.demo_agencies |= demo;
            let listen = config.listen.clone();
            let base = config.public_base_url.clone();
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            if demo {
                seed_demo(&app).await?;
            }
            app.oidc_ensure_keys()
                .await
                .map_err(|e| format!("oidc: {e}"))?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| format!("impossibile ascoltare su {listen}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            let tls = if app.config.cns.listen.is_empty() {
                None
            } else {
                let cns = &app.config.cns;
                let config = sportello_web::tls::server_config(
                    std::path::Path::new(&cns.certificate),
                    std::path::Path::new(&cns.private_key),
                    std::path::Path::new(&cns.client_ca_bundle),
                )
                .map_err(|e| format!("cns: {e}"))?;
                let l = tokio::net::TcpListener::bind(&cns.listen)
                    .await
                    .map_err(|e| {
                        format!("impossibile ascoltare su {} (cns.listen): {e}", cns.listen)
                    })?;
                println!(
                    "Accesso con smart card (TLS) su https://{}",
                    l.local_addr().map_err(|e| e.to_string())?
                );
                Some((l, config))
            };
            tracing::info!(address = %bound, public_base_url = %base, mail = %app.mailer.describe(), "Sportello is listening");
            println!("Sportello in ascolto su http://{bound} (indirizzo pubblico {base})");
            sportello_web::run_with_tls(app, listener, tls, shutdown_signal())
                .await
                .map_err(|e| format!("server: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ScimToken { org, label } => {
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            let token = app
                .issue_scim_token_as_system(&org, &label, &sportello_app::Origin::default())
                .await
                .map_err(|e| format!("token SCIM: {e}"))?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Config => unreachable!("handled before start-up"),
        Command::Import {
            command: ImportCommand::Users { file, org, dry_run },
        } => {
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            import_users(&app, &file, &org, dry_run).await
        }
        Command::Oidc {
            command: OidcCommand::RotateKeys,
        } => {
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            let kids = app
                .oidc_rotate_keys(&sportello_app::Origin::default())
                .await
                .map_err(|e| format!("oidc: {e}"))?;
            println!("{}", kids.join("\n"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Kb {
            command: KbCommand::Reindex,
        } => {
            let db = open(&config).await?;
            let app = App::new(config, db).await?;
            let n = app
                .kb_rebuild_index()
                .await
                .map_err(|e| format!("kb: {e}"))?;
            println!("{n}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import_users(
    app: &App,
    file: &std::path::Path,
    org: &str,
    dry_run: bool,
) -> Result<ExitCode, String> {
    use sportello_app::bulk::Outcome;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let parsed = sportello_app::import::parse_users(&bytes, &name)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let organization = sportello_store::directory::organization_by_code(&app.db, org)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--org: ente «{org}» sconosciuto"))?;
    let bar = indicatif::ProgressBar::new(parsed.rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} righe {elapsed}")
            .map_err(|e| e.to_string())?,
    );
    let progress = {
        let bar = bar.clone();
        move |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    // The import acts as the system: it is audited with actor `system`.
    let report = app
        .import_users_as_system(organization.id, parsed, dry_run, &progress)
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    for (line, column, message) in &report.errors {
        match column {
            Some(c) => println!("riga {line}, colonna «{c}»: {message}"),
            None => println!("riga {line}: {message}"),
        }
    }
    for r in &report.rows {
        let what = match &r.outcome {
            Outcome::Create { profile: Some(p) } => format!("nuovo utente, abilitato a {p}"),
            Outcome::Create { profile: None } => "nuovo utente".to_string(),
            Outcome::Enable { profile } => format!("abilitato a {profile}"),
            Outcome::Unchanged => "nessuna modifica".to_string(),
            Outcome::Refused(why) => format!("RIFIUTATA: {why}"),
        };
        println!("riga {} {} {}: {what}", r.line, r.fiscal_code, r.name);
    }
    let rejected = report.errors.iter().filter(|e| e.0 > 1).count();
    println!(
        "{} ({}): {} nuovi, {} abilitati, {} invariati, {} rifiutati, {} righe non valide",
        if dry_run {
            "Prova senza modifiche"
        } else {
            "Importazione completata"
        },
        report.format,
        report.created,
        report.enabled,
        report.unchanged,
        report.refused,
        rejected
    );
    Ok(if report.refused + rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn seed_demo(app: &App) -> Result<(), String> {
    let report = demo::seed(app)
        .await
        .map_err(|e| format!("dati dimostrativi: {e}"))?;
    println!(
        "Dati dimostrativi pronti ({} utenti nuovi). Password di tutti gli account: {}",
        report.created_users,
        demo::DEMO_PASSWORD
    );
    println!(
        "{:<18} {:<18} {:<45} ENTE",
        "CODICE FISCALE", "NOME", "RUOLO"
    );
    for u in &report.users {
        println!(
            "{:<18} {:<18} {:<45} {}",
            u.fiscal_code, u.name, u.role, u.organization
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `sportello demo-agency`: the simulated agencies, until Ctrl-C or SIGTERM.
async fn demo_agency(
    listen: Option<String>,
    portal_url: String,
    public_url: Option<String>,
    callback_token: String,
) -> Result<ExitCode, String> {
    let listen = listen.unwrap_or_else(|| "127.0.0.1:9100".to_string());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("impossibile ascoltare su {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = public_url
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_string();
    let portal_url = portal_url.trim_end_matches('/').to_string();
    tracing::info!(address = %bound, public_url = %base_url, portal_url = %portal_url, "demo agencies are listening");
    println!(
        "demo agencies listening on http://{bound} (public URL {base_url}, portal {portal_url})"
    );
    let cfg = sportello_web::demo_agency::AgencyConfig {
        base_url,
        portal_url,
        callback_token,
    };
    sportello_web::demo_agency::serve(cfg, listener, shutdown_signal())
        .await
        .map_err(|e| format!("server: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `sportello mailgate`: posts stdin to `/api/v1/mailgate`.
async fn mailgate(config: &Config, url: Option<String>) -> Result<ExitCode, String> {
    use std::io::Read;
    const EX_DATAERR: u8 = 65;
    const EX_TEMPFAIL: u8 = 75;
    const EX_NOPERM: u8 = 77;
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
        eprintln!("sportello mailgate: lettura del messaggio: {e}");
        return Ok(ExitCode::from(EX_TEMPFAIL));
    }
    let token = match sportello_app::desk::mailgate::mailgate_token(config, false) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sportello mailgate: token: {e}");
            return Ok(ExitCode::from(EX_TEMPFAIL));
        }
    };
    let base = url.unwrap_or_else(|| format!("http://{}", config.listen));
    let endpoint = format!("{}/api/v1/mailgate", base.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(&endpoint)
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sportello mailgate: {endpoint} non raggiungibile: {e}");
            return Ok(ExitCode::from(EX_TEMPFAIL));
        }
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        println!("{body}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("sportello mailgate: {status}: {body}");
        Ok(ExitCode::from(match status.as_u16() {
            400 | 413 => EX_DATAERR,
            401 | 403 => EX_NOPERM,
            _ => EX_TEMPFAIL,
        }))
    }
}
