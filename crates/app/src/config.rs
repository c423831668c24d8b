//! Configuration: built-in defaults, then a TOML file, then `SPORTELLO_*`
//! environment variables, then command-line flags; each later source wins.
//! Every key can be set in each source; an unknown key is an error that names
//! the key and where it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sportello_core::password_policy::PasswordPolicy;
use toml::{Table, Value};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the portal listens on.
    pub listen: String,
    /// Directory for the SQLite database, the local maildir and uploads.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; empty means `sqlite://<data_dir>/sportello.db`.
    pub database_url: String,
    /// The address users reach the portal at (links in e-mails, cookies' Secure flag).
    pub public_base_url: String,
    /// Time zone of business rules (opening hours, yearly protocol reset, expiry).
    pub time_zone: String,
    /// `text` or `json` logs.
    pub log_format: String,
    pub mail: MailConfig,
    pub password: PasswordPolicy,
    pub argon2: Argon2Config,
    pub session: SessionConfig,
    pub outbox: OutboxConfig,
    pub identity: IdentityConfig,
    pub login: LoginConfig,
    pub cns: CnsConfig,
    pub oidc: OidcConfig,
    pub desk: DeskConfig,
    pub filings: FilingsConfig,
    pub registration: RegistrationConfig,
    /// Start the process clock at this instant (RFC 3339) and let it run on:
    /// for demonstrations and tests of opening hours. Empty = the real time.
    pub clock_start: String,
}

/// Self-registration of private subjects with PEC and digital signature.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// PEM bundle of the certification authorities whose signing
    /// certificates are accepted (the qualified trust service providers);
    /// empty = self-registration is closed.
    pub trusted_ca_file: String,
    /// Days the link sent to the applicant's PEC stays valid.
    pub link_days: i64,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            trusted_ca_file: String::new(),
            link_days: 7,
        }
    }
}

/// Integrated filings and their delivery to agencies.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FilingsConfig {
    /// How often deliveries waiting for a protocol number or an outcome are
    /// asked about (the agencies' callbacks usually come first).
    pub poll_seconds: u64,
    /// Deliveries sent at once by each outbox worker.
    pub concurrency: usize,
    /// Serve the simulated INPS, INAIL and Chamber of Commerce under
    /// `/demo-agency` (set by `serve --demo`).
    pub demo_agencies: bool,
}

impl Default for FilingsConfig {
    fn default() -> Self {
        Self {
            poll_seconds: 30,
            concurrency: 32,
            demo_agencies: false,
        }
    }
}

/// The assistance desk.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeskConfig {
    /// Secret that `sportello mailgate` and MTAs present to `/api/v1/mailgate`;
    /// empty = generated once into `<data_dir>/mailgate.token`.
    pub mailgate_token: String,
    /// Largest inbound message accepted (bytes).
    pub max_message_bytes: usize,
    /// File types accepted as attachments (extensions); content is checked too.
    pub attachment_types: Vec<String>,
    /// How often the service-level check runs.
    pub sla_check_seconds: u64,
    /// A mailbox whose unseen messages `serve` reads into the desk:
    /// `imap://USER:PASSWORD@HOST[:PORT]/FOLDER` or `imaps://...`; empty = off.
    pub imap_url: String,
    /// How often that mailbox is read.
    pub imap_poll_seconds: u64,
}

impl Default for DeskConfig {
    fn default() -> Self {
        Self {
            mailgate_token: String::new(),
            max_message_bytes: 30 * 1024 * 1024,
            attachment_types: [
                "pdf", "p7m", "jpg", "jpeg", "png", "tif", "tiff", "txt", "xml", "odt", "ods",
                "docx", "xlsx", "zip", "eml",
            ]
            .into_iter()
            .map(str::to_string)
            .collect(),
            sla_check_seconds: 300,
            imap_url: String::new(),
            imap_poll_seconds: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// How a new user gets in the first time: `activation_link` (a one-time
    /// link to set a password) or `temporary_password` (sent by e-mail, to be
    /// changed at first login).
    pub first_access: String,
    pub activation_link_hours: i64,
    pub reset_link_minutes: i64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            first_access: "activation_link".into(),
            activation_link_hours: 72,
            reset_link_minutes: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Failures in a row before each further attempt waits longer (1 s, 2 s, 4 s...).
    pub free_failures: u32,
    /// Failures in a row that lock the account.
    pub lockout_failures: u32,
    pub lockout_minutes: i64,
    /// Failed logins from one address within the window that block it.
    pub address_failures: u32,
    pub address_window_minutes: i64,
    /// Reset requests accepted from one address within the window.
    pub reset_requests_per_window: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            free_failures: 3,
            lockout_failures: 5,
            lockout_minutes: 15,
            address_failures: 20,
            address_window_minutes: 15,
            reset_requests_per_window: 5,
        }
    }
}

impl LoginConfig {
    pub fn policy(&self) -> sportello_core::identity::ThrottlePolicy {
        sportello_core::identity::ThrottlePolicy {
            free_failures: self.free_failures,
            lockout_failures: self.lockout_failures,
            lockout_minutes: self.lockout_minutes,
            address_failures: self.address_failures,
            address_window_minutes: self.address_window_minutes,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CnsConfig {
    /// Address of the TLS listener that asks for a smart-card certificate; empty = off.
    pub listen: String,
    /// The https address users reach that listener at (for the login page link).
    pub public_url: String,
    /// PEM files of the TLS listener's own certificate chain and key.
    pub certificate: String,
    pub private_key: String,
    /// PEM bundle of the certification authorities whose smart cards are accepted.
    pub client_ca_bundle: String,
    /// PEM or DER certificate revocation lists of those authorities.
    pub crl_files: Vec<String>,
    /// Addresses of TLS terminators allowed to forward a verified client
    /// certificate in `forwarded_header` (exact IP addresses).
    pub trusted_proxies: Vec<String>,
    pub forwarded_header: String,
}

/// The OpenID Connect provider (`/oidc/...`); the issuer is `public_base_url`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Lifetime of an authorization code.
    pub code_seconds: i64,
    /// Lifetime of access tokens and ID tokens.
    pub access_token_seconds: i64,
    /// Lifetime of a refresh token (each use rotates it).
    pub refresh_token_days: i64,
    /// How long a retired signing key stays in the JWKS (longer than any token it signed).
    pub retired_key_hours: i64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            code_seconds: 60,
            access_token_seconds: 600,
            refresh_token_days: 30,
            retired_key_hours: 24,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://[user:pass@]host:port` (plain), `smtp://...?tls=required`
    /// (STARTTLS) or `smtps://...` (implicit TLS); empty writes to `<data_dir>/maildir`.
    pub smtp_url: String,
    /// The From of every message.
    pub sender: String,
    pub timeout_seconds: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_hours: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    pub workers: u32,
    pub poll_interval_ms: u64,
    pub base_delay_ms: u64,
    pub max_delay_seconds: u64,
    pub max_attempts: u32,
    pub lease_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            public_base_url: "http://localhost:8080".into(),
            time_zone: "Europe/Rome".into(),
            log_format: "text".into(),
            mail: MailConfig::default(),
            password: PasswordPolicy::default(),
            argon2: Argon2Config::default(),
            session: SessionConfig::default(),
            outbox: OutboxConfig::default(),
            identity: IdentityConfig::default(),
            login: LoginConfig::default(),
            cns: CnsConfig {
                forwarded_header: "x-ssl-client-cert".into(),
                ..Default::default()
            },
            oidc: OidcConfig::default(),
            desk: DeskConfig::default(),
            filings: FilingsConfig::default(),
            registration: RegistrationConfig::default(),
            clock_start: String::new(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: String::new(),
            sender: "Sportello <noreply@sportello.localhost>".into(),
            timeout_seconds: 20,
        }
    }
}

impl Default for Argon2Config {
    /// OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval_ms: 500,
            base_delay_ms: 5000,
            max_delay_seconds: 3600,
            max_attempts: 10,
            lease_seconds: 120,
        }
    }
}

/// One clear line: what is wrong and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Environment variables that are not configuration keys.
// Environment variables of commands, not configuration keys.
const RESERVED_ENV: &[&str] = &[
    "SPORTELLO_CONFIG",
    "SPORTELLO_LOG",
    "SPORTELLO_DEMO_AGENCY_TOKEN",
];

/// A value given on the command line for a top-level key.
pub type Flag<'a> = (&'a str, Option<String>);

impl Config {
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[Flag<'_>],
    ) -> Result<Config, ConfigError> {
        let defaults = Table::try_from(Config::default())
            .map_err(|e| ConfigError(format!("configurazione predefinita: {e}")))?;
        let mut merged = defaults.clone();

        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("file di configurazione {}: {e}", path.display()))
            })?;
            let table: Table =
                toml::from_str(&text).map_err(|e| ConfigError(toml_error(path, &text, &e)))?;
            check_keys(&table, &defaults, "", &|key| {
                format!("{}: chiave sconosciuta «{key}»", path.display())
            })?;
            merge(&mut merged, table);
        }

        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| {
                k.starts_with("SPORTELLO_")
                    && !RESERVED_ENV.contains(&k.as_str())
                    && !k.starts_with("SPORTELLO_TEST_")
            })
            .collect();
        env.sort();
        for (name, raw) in env {
            let path: Vec<String> = name["SPORTELLO_".len()..]
                .to_ascii_lowercase()
                .split("__")
                .map(str::to_string)
                .collect();
            let default = lookup(&defaults, &path).ok_or_else(|| {
                ConfigError(format!(
                    "variabile d'ambiente {name}: chiave sconosciuta «{}»",
                    path.join(".")
                ))
            })?;
            let value = typed_value(default, &raw).ok_or_else(|| {
                ConfigError(format!(
                    "variabile d'ambiente {name}: valore non valido «{raw}» ({})",
                    expected(default)
                ))
            })?;
            set(&mut merged, &path, value);
        }

        for (key, value) in flags {
            if let Some(v) = value {
                merged.insert((*key).to_string(), Value::String(v.clone()));
            }
        }

        let config: Config = merged.try_into().map_err(|e: toml::de::Error| {
            ConfigError(format!("configurazione: {}", e.message()))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| {
            Err(ConfigError(format!(
                "configurazione, chiave «{key}»: {why}"
            )))
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "listen",
                format!("«{}» non è un indirizzo IP:porta", self.listen),
            );
        }
        match url::Url::parse(&self.public_base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(_) => {
                return bad(
                    "public_base_url",
                    format!(
                        "«{}» deve essere un URL http:// o https://",
                        self.public_base_url
                    ),
                );
            }
            Err(e) => {
                return bad(
                    "public_base_url",
                    format!("«{}» non è un URL valido: {e}", self.public_base_url),
                );
            }
        }
        if !self.database_url.is_empty() {
            let ok = ["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| self.database_url.starts_with(p));
            if !ok
                || url::Url::parse(&self.database_url).is_err()
                    && !self.database_url.starts_with("sqlite:")
            {
                return bad(
                    "database_url",
                    format!(
                        "«{}» non è un URL sqlite://PERCORSO o postgres://…",
                        sportello_store::redact_url(&self.database_url)
                    ),
                );
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return bad(
                "time_zone",
                format!("fuso orario sconosciuto «{}»", self.time_zone),
            );
        }
        if !self.clock_start.is_empty() && self.clock_start.parse::<jiff::Timestamp>().is_err() {
            return bad(
                "clock_start",
                format!(
                    "«{}» non è un istante RFC 3339 (es. 2026-11-25T10:00:00+01:00)",
                    self.clock_start
                ),
            );
        }
        if self.desk.sla_check_seconds == 0 || self.desk.max_message_bytes < 1024 {
            return bad(
                "desk",
                "sla_check_seconds ≥ 1 e max_message_bytes ≥ 1024".into(),
            );
        }
        if !self.desk.imap_url.is_empty()
            && let Err(why) = crate::desk::imap::check_url(&self.desk.imap_url)
        {
            return bad("desk.imap_url", why);
        }
        if self.desk.imap_poll_seconds == 0 {
            return bad("desk.imap_poll_seconds", "deve essere almeno 1".into());
        }
        if self.filings.poll_seconds == 0 || !(1..=256).contains(&self.filings.concurrency) {
            return bad(
                "filings",
                "poll_seconds ≥ 1 e concurrency tra 1 e 256".into(),
            );
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format", "valori ammessi: text, json".into());
        }
        if !self.mail.smtp_url.is_empty() {
            match url::Url::parse(&self.mail.smtp_url) {
                Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some() => {}
                _ => {
                    return bad(
                        "mail.smtp_url",
                        format!("«{}» non è un URL smtp:// o smtps://", self.mail.smtp_url),
                    );
                }
            }
        }
        if self
            .mail
            .sender
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return bad(
                "mail.sender",
                format!("«{}» non è un indirizzo valido", self.mail.sender),
            );
        }
        if self.password.min_length < 8 {
            return bad("password.min_length", "deve essere almeno 8".into());
        }
        if self.password.min_classes > 4 {
            return bad("password.min_classes", "al massimo 4".into());
        }
        if self.argon2.memory_kib < 8 * self.argon2.parallelism.max(1)
            || self.argon2.iterations == 0
            || self.argon2.parallelism == 0
        {
            return bad(
                "argon2",
                "parametri non validi (memoria ≥ 8 KiB per corsia, iterazioni e corsie ≥ 1)".into(),
            );
        }
        if self.outbox.workers == 0 || self.outbox.max_attempts == 0 {
            return bad(
                "outbox",
                "workers e max_attempts devono essere almeno 1".into(),
            );
        }
        if !matches!(
            self.identity.first_access.as_str(),
            "activation_link" | "temporary_password"
        ) {
            return bad(
                "identity.first_access",
                "valori ammessi: activation_link, temporary_password".into(),
            );
        }
        if self.login.lockout_failures == 0
            || self.login.address_failures == 0
            || self.login.lockout_minutes <= 0
        {
            return bad("login", "soglie e durate devono essere positive".into());
        }
        if self.registration.link_days <= 0 {
            return bad("registration.link_days", "deve essere positivo".into());
        }
        if !self.registration.trusted_ca_file.is_empty()
            && !Path::new(&self.registration.trusted_ca_file).is_file()
        {
            return bad(
                "registration.trusted_ca_file",
                format!("file «{}» non trovato", self.registration.trusted_ca_file),
            );
        }
        if !self.cns.listen.is_empty() {
            if self.cns.listen.parse::<SocketAddr>().is_err() {
                return bad(
                    "cns.listen",
                    format!("«{}» non è un indirizzo IP:porta", self.cns.listen),
                );
            }
            for (key, path) in [
                ("cns.certificate", &self.cns.certificate),
                ("cns.private_key", &self.cns.private_key),
                ("cns.client_ca_bundle", &self.cns.client_ca_bundle),
            ] {
                if path.is_empty() || !Path::new(path).is_file() {
                    return bad(key, format!("file «{path}» non trovato"));
                }
            }
        }
        if !self.cns.client_ca_bundle.is_empty() && !Path::new(&self.cns.client_ca_bundle).is_file()
        {
            return bad(
                "cns.client_ca_bundle",
                format!("file «{}» non trovato", self.cns.client_ca_bundle),
            );
        }
        for crl in &self.cns.crl_files {
            if !Path::new(crl).is_file() {
                return bad("cns.crl_files", format!("file «{crl}» non trovato"));
            }
        }
        for proxy in &self.cns.trusted_proxies {
            if proxy.parse::<std::net::IpAddr>().is_err() {
                return bad(
                    "cns.trusted_proxies",
                    format!("«{proxy}» non è un indirizzo IP"),
                );
            }
        }
        if self.session.idle_timeout_minutes <= 0 || self.session.absolute_timeout_hours <= 0 {
            return bad("session", "le scadenze devono essere positive".into());
        }
        Ok(())
    }

    /// The database URL in effect (the SQLite default under the data dir).
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("sportello.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn cookies_secure(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }

    /// Every key with its default, as TOML: the reference printed by `sportello config`.
    pub fn defaults_toml() -> String {
        toml::to_string(&Config::default()).unwrap_or_default()
    }
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
        .unwrap_or(1);
    format!("{}:{line}: {}", path.display(), e.message().trim())
}

fn check_keys(
    given: &Table,
    known: &Table,
    prefix: &str,
    err: &dyn Fn(&str) -> String,
) -> Result<(), ConfigError> {
    for (k, v) in given {
        let full = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match known.get(k) {
            None => return Err(ConfigError(err(&full))),
            Some(Value::Table(known_sub)) => match v {
                Value::Table(sub) => check_keys(sub, known_sub, &full, err)?,
                _ => {
                    return Err(ConfigError(format!(
                        "{}: atteso un gruppo [{full}]",
                        err(&full)
                    )));
                }
            },
            Some(_) => {}
        }
    }
    Ok(())
}

fn merge(into: &mut Table, from: Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Table(a)), Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn lookup<'a>(t: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = t.get(first)?;
    if rest.is_empty() {
        (!v.is_table()).then_some(v)
    } else {
        lookup(v.as_table()?, rest)
    }
}

fn set(t: &mut Table, path: &[String], value: Value) {
    if let Some((first, rest)) = path.split_first() {
        if rest.is_empty() {
            t.insert(first.clone(), value);
        } else if let Some(Value::Table(sub)) = t.get_mut(first) {
            set(sub, rest, value);
        }
    }
}

fn typed_value(default: &Value, raw: &str) -> Option<Value> {
    Some(match default {
        Value::Integer(_) => Value::Integer(raw.trim().parse().ok()?),
        Value::Boolean(_) => Value::Boolean(raw.trim().parse().ok()?),
        Value::Float(_) => Value::Float(raw.trim().parse().ok()?),
        // Lists from the environment are comma-separated.
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        _ => Value::String(raw.to_string()),
    })
}

fn expected(default: &Value) -> &'static str {
    match default {
        Value::Integer(_) => "atteso un numero intero",
        Value::Boolean(_) => "atteso true o false",
        Value::Float(_) => "atteso un numero",
        _ => "attesa una stringa",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn precedence_is_file_then_env_then_flags() {
        let dir = std::env::temp_dir().join(format!("sportello-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1111\"\n[password]\nmin_length = 14\n[outbox]\nworkers = 3\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("SPORTELLO_OUTBOX__WORKERS", "5"),
                ("SPORTELLO_LISTEN", "127.0.0.1:2222"),
            ]),
            &[("listen", Some("127.0.0.1:3333".into()))],
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:3333");
        assert_eq!(c.outbox.workers, 5);
        assert_eq!(c.password.min_length, 14);
        assert_eq!(c.time_zone, "Europe/Rome");
    }

    #[test]
    fn unknown_keys_are_named_with_their_source() {
        let dir = std::env::temp_dir().join(format!("sportello-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("b.toml");
        std::fs::write(&file, "[mail]\nsmtp_host = \"x\"\n").unwrap();
        let e = Config::load(Some(&file), env(&[]), &[]).unwrap_err().0;
        assert!(e.contains("mail.smtp_host") && e.contains("b.toml"), "{e}");
        let e = Config::load(None, env(&[("SPORTELLO_LISTN", "x")]), &[])
            .unwrap_err()
            .0;
        assert!(e.contains("SPORTELLO_LISTN") && e.contains("listn"), "{e}");
        let e = Config::load(None, env(&[("SPORTELLO_OUTBOX__WORKERS", "many")]), &[])
            .unwrap_err()
            .0;
        assert!(e.contains("intero"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load(
            None,
            env(&[("SPORTELLO_PUBLIC_BASE_URL", "ftp//nowhere")]),
            &[],
        )
        .unwrap_err()
        .0;
        assert!(e.contains("public_base_url"), "{e}");
        let e = Config::load(
            None,
            env(&[("SPORTELLO_TIME_ZONE", "Europe/Atlantis")]),
            &[],
        )
        .unwrap_err()
        .0;
        assert!(e.contains("time_zone"), "{e}");
        let e = Config::load(
            None,
            env(&[]),
            &[("database_url", Some("mysql://x".into()))],
        )
        .unwrap_err()
        .0;
        assert!(e.contains("database_url"), "{e}");
        assert!(
            Config::load(
                None,
                env(&[("SPORTELLO_TEST_DATABASE_URL", "whatever")]),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn the_desk_mailbox_is_checked_at_load_without_showing_its_password() {
        let c = Config::load(None, env(&[]), &[]).unwrap();
        assert_eq!(
            (c.desk.imap_url.as_str(), c.desk.imap_poll_seconds),
            ("", 60)
        );
        let c = Config::load(
            None,
            env(&[
                (
                    "SPORTELLO_DESK__IMAP_URL",
                    "imaps://assistenza:segreta@mail.ente.it/INBOX",
                ),
                ("SPORTELLO_DESK__IMAP_POLL_SECONDS", "30"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(c.desk.imap_poll_seconds, 30);
        for (key, value) in [
            (
                "SPORTELLO_DESK__IMAP_URL",
                "pop3://assistenza:segreta@mail.ente.it",
            ),
            ("SPORTELLO_DESK__IMAP_URL", "imap://:segreta@mail.ente.it"),
            ("SPORTELLO_DESK__IMAP_URL", "imap:///INBOX"),
        ] {
            let e = Config::load(None, env(&[(key, value)]), &[]).unwrap_err().0;
            assert!(e.contains("desk.imap_url"), "{e}");
            assert!(!e.contains("segreta"), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let e = Config::load(
            None,
            env(&[("SPORTELLO_DESK__IMAP_POLL_SECONDS", "0")]),
            &[],
        )
        .unwrap_err()
        .0;
        assert!(e.contains("desk.imap_poll_seconds"), "{e}");
    }
}
