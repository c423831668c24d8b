//! Smart-card (CNS) login building blocks: verifying a client certificate
//! chain against the configured certification authorities and revocation
//! lists, and reading the holder's codice fiscale from it.
//!
//! The TLS layer (see `sportello_web::tls`) only checks that the client holds
//! the private key of the certificate it presents; everything else (issuer,
//! validity period, revocation, codice fiscale) is decided here, so that a
//! refused certificate gets a clear page instead of a TLS alert.
//!
//! A CNS subject CN reads `CODICEFISCALE/CARDSERIAL.BASE64HASH` (split on the
//! first `/` only: the hash may contain `/`); newer qualified certificates
//! carry the subject attribute `serialNumber=TINIT-<CF>` instead. Both are
//! accepted, as is a CN that is just the codice fiscale.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{CertificateError, RootCertStore};
use sha2::{Digest, Sha256};
use sportello_core::FiscalCode;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_SERIALNUMBER};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// Why a presented certificate is refused. `Display` is the Italian message
/// meant for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CnsError {
    #[error("certificato non rilasciato da un'autorità di certificazione riconosciuta")]
    UnknownIssuer,
    #[error("certificato scaduto")]
    Expired,
    #[error("certificato non ancora valido")]
    NotYetValid,
    #[error("certificato revocato")]
    Revoked,
    #[error("certificato non valido: {0}")]
    BadCertificate(String),
    #[error("il certificato non contiene un codice fiscale")]
    NoFiscalCode,
    #[error("codice fiscale del certificato non valido: {0}")]
    InvalidFiscalCode(String),
}

/// The holder of a verified CNS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CnsIdentity {
    pub fiscal_code: FiscalCode,
    /// SHA-256 of the certificate's DER, lowercase hex: what to bind to a user.
    pub fingerprint: String,
    /// Subject distinguished name, RFC 4514 style (`C=IT, O=..., CN=...`).
    pub subject: String,
    /// Issuer distinguished name, same format.
    pub issuer: String,
    /// Serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// End of validity, microseconds since the epoch (UTC).
    pub not_after: i64,
}

/// Verifies client certificate chains against a CA bundle and CRLs.
///
/// Cheap to clone. To pick up new CRLs, build a new one and swap it in.
#[derive(Clone)]
pub struct CnsVerifier {
    verifier: Arc<dyn ClientCertVerifier>,
    authorities: usize,
    crls: usize,
}

impl fmt::Debug for CnsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CnsVerifier")
            .field("authorities", &self.authorities)
            .field("crls", &self.crls)
            .finish()
    }
}

impl CnsVerifier {
    /// Reads the trusted CAs (a PEM bundle; intermediates may be listed too)
    /// and the CRL files (PEM or DER, one or more CRLs each). Errors name the
    /// file and the problem.
    pub fn from_pem_files(ca_bundle: &Path, crl_files: &[PathBuf]) -> Result<CnsVerifier, String> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let ca = read(ca_bundle)?;
        let mut crls = Vec::with_capacity(crl_files.len());
        for path in crl_files {
            crls.push((path.display().to_string(), read(path)?));
        }
        Self::build(&ca_bundle.display().to_string(), &ca, &crls)
    }

    /// Same as [`CnsVerifier::from_pem_files`] from memory: `crls_pem` holds
    /// the contents of each CRL file (PEM, or DER).
    pub fn from_pem(ca_pem: &[u8], crls_pem: &[Vec<u8>]) -> Result<CnsVerifier, String> {
        let crls: Vec<(String, Vec<u8>)> = crls_pem
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("CRL n. {}", i + 1), c.clone()))
            .collect();
        Self::build("elenco delle autorità di certificazione", ca_pem, &crls)
    }

    fn build(
        ca_label: &str,
        ca: &[u8],
        crl_files: &[(String, Vec<u8>)],
    ) -> Result<CnsVerifier, String> {
        let cas = if looks_like_pem(ca) {
            certificates_from_pem(ca)
        } else {
            certificate_from_der(ca.to_vec()).map(|c| vec![c])
        }
        .map_err(|e| format!("{ca_label}: {e}"))?;
        let mut roots = RootCertStore::empty();
        for (i, der) in cas.iter().enumerate() {
            roots.add(der.clone()).map_err(|e| {
                format!(
                    "{ca_label}: certificato n. {} ({}) non utilizzabile come autorità: {e}",
                    i + 1,
                    subject_of(der)
                )
            })?;
        }
        let mut crls = Vec::new();
        for (label, bytes) in crl_files {
            let found = crls_from_bytes(bytes).map_err(|e| format!("{label}: {e}"))?;
            crls.extend(found);
        }
        let count = crls.len();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Revocation: every certificate of the chain is checked against the
        // CRLs of its issuer (the end entity above all; intermediates too, if
        // their issuer's CRL is configured). A certificate whose issuer has no
        // CRL here has an unknown status, which is allowed. Expired CRLs are
        // still used (a warning is logged when loading): refusing every card
        // because a CRL download failed would lock everybody out.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            .allow_unknown_revocation_status()
            .build()
            .map_err(|e| format!("verificatore dei certificati: {e}"))?;
        Ok(CnsVerifier {
            verifier,
            authorities: cas.len(),
            crls: count,
        })
    }

    /// Number of trusted certification authorities.
    pub fn authorities(&self) -> usize {
        self.authorities
    }

    /// Number of revocation lists loaded.
    pub fn crls(&self) -> usize {
        self.crls
    }

    /// Verifies `chain` (end entity first, then intermediates) at `now` and
    /// returns the holder's identity.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'static>],
        now: UnixTime,
    ) -> Result<CnsIdentity, CnsError> {
        let (end_entity, intermediates) = chain
            .split_first()
            .ok_or_else(|| CnsError::BadCertificate("nessun certificato presentato".into()))?;
        self.verifier
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(map_rustls_error)?;
        identity_of(end_entity)
    }
}

fn map_rustls_error(e: rustls::Error) -> CnsError {
    let rustls::Error::InvalidCertificate(c) = e else {
        return CnsError::BadCertificate(e.to_string());
    };
    match c {
        CertificateError::UnknownIssuer => CnsError::UnknownIssuer,
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => CnsError::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CnsError::NotYetValid
        }
        CertificateError::Revoked => CnsError::Revoked,
        // A certificate naming a trusted issuer but not signed by its key:
        // forged, or issued under a renewed CA certificate missing from the
        // bundle. Either way, not from an authority we recognize.
        CertificateError::BadSignature => CnsError::UnknownIssuer,
        CertificateError::BadEncoding => {
            CnsError::BadCertificate("il certificato non è leggibile".into())
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            CnsError::BadCertificate(
                "il certificato non è utilizzabile per l'autenticazione del titolare".into(),
            )
        }
        CertificateError::UnhandledCriticalExtension => {
            CnsError::BadCertificate("il certificato ha un'estensione critica non gestita".into())
        }
        CertificateError::UnknownRevocationStatus => {
            CnsError::BadCertificate("stato di revoca del certificato non determinabile".into())
        }
        other => CnsError::BadCertificate(format!("{other:?}")),
    }
}

/// Reads the identity of an (already verified) end-entity certificate.
pub(crate) fn identity_of(der: &CertificateDer<'_>) -> Result<CnsIdentity, CnsError> {
    let cert = parse_x509(der).map_err(CnsError::BadCertificate)?;
    let fiscal_code = fiscal_code_of(&cert)?;
    Ok(CnsIdentity {
        fiscal_code,
        fingerprint: hex::encode(Sha256::digest(der.as_ref())),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: serial_hex(cert.raw_serial()),
        not_after: cert
            .validity()
            .not_after
            .timestamp()
            .saturating_mul(1_000_000),
    })
}

/// The codice fiscale from the subject: the CNS-style CN, a CN that is just
/// the code, or `serialNumber=TINIT-<CF>`. If both carry a valid code they
/// must agree; if one is valid and the other malformed, the valid one is
/// used; if none is valid, the first problem is reported.
fn fiscal_code_of(cert: &X509Certificate<'_>) -> Result<FiscalCode, CnsError> {
    let parse = |code: &str| {
        FiscalCode::parse(code).map_err(|e| CnsError::InvalidFiscalCode(e.to_string()))
    };
    let from_cn = cert
        .subject()
        .iter_by_oid(&OID_X509_COMMON_NAME)
        .filter_map(|attr| attr.as_str().ok().map(str::trim))
        .find_map(|cn| match cn.split_once('/') {
            // CNS form: split on the first '/' only, the hash may hold more.
            Some((code, _card)) => Some(parse(code)),
            None if cn.len() == 16 && cn.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(parse(cn))
            }
            None => None,
        });
    let from_serial = cert
        .subject()
        .iter_by_oid(&OID_X509_SERIALNUMBER)
        .filter_map(|attr| attr.as_str().ok().map(str::trim))
        .find_map(|value| {
            let prefix = value.get(..6)?;
            prefix
                .eq_ignore_ascii_case("TINIT-")
                .then(|| parse(&value[6..]))
        });
    match (from_cn, from_serial) {
        (Some(Ok(a)), Some(Ok(b))) if a != b => Err(CnsError::InvalidFiscalCode(format!(
            "il nome comune ({a}) e il serialNumber ({b}) indicano codici diversi"
        ))),
        (Some(Ok(code)), _) | (_, Some(Ok(code))) => Ok(code),
        (Some(Err(e)), _) | (None, Some(Err(e))) => Err(e),
        (None, None) => Err(CnsError::NoFiscalCode),
    }
}

/// Lowercase hex of a DER integer's bytes, without leading zero bytes.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode(&raw[start..])
}

fn parse_x509<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, String> {
    match X509Certificate::from_der(der.as_ref()) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("dati in eccesso dopo il certificato".into()),
        Err(e) => Err(format!("certificato X.509 non leggibile ({e})")),
    }
}

fn subject_of(der: &CertificateDer<'_>) -> String {
    parse_x509(der)
        .map(|c| c.subject().to_string())
        .unwrap_or_else(|e| e)
}

fn certificate_from_der(der: Vec<u8>) -> Result<CertificateDer<'static>, String> {
    let cert = CertificateDer::from(der);
    parse_x509(&cert)?;
    Ok(cert)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// CRLs from a file's contents: PEM (`-----BEGIN X509 CRL-----`, one or more)
/// or a single DER CRL. Each must parse; an expired one is logged.
fn crls_from_bytes(bytes: &[u8]) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let crls: Vec<CertificateRevocationListDer<'static>> = if looks_like_pem(bytes) {
        CertificateRevocationListDer::pem_slice_iter(bytes)
            .enumerate()
            .map(|(i, c)| c.map_err(|e| format!("CRL n. {}: PEM non valido ({e})", i + 1)))
            .collect::<Result<_, _>>()?
    } else {
        vec![CertificateRevocationListDer::from(bytes.to_vec())]
    };
    if crls.is_empty() {
        return Err("nessuna CRL (-----BEGIN X509 CRL-----) trovata".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    for (i, der) in crls.iter().enumerate() {
        let crl = match CertificateRevocationList::from_der(der.as_ref()) {
            Ok(([], crl)) => crl,
            Ok(_) => return Err(format!("CRL n. {}: dati in eccesso", i + 1)),
            Err(e) => return Err(format!("CRL n. {}: non leggibile ({e})", i + 1)),
        };
        if let Some(next) = crl.next_update()
            && next.timestamp() < now
        {
            tracing::warn!(
                issuer = %crl.issuer(),
                next_update = %next,
                "CRL past its next update: download a fresh one"
            );
        }
    }
    Ok(crls)
}

/// All certificates of a PEM text (other PEM sections, such as keys, are
/// skipped). Fails if one is malformed or none is found.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut out = Vec::new();
    for (i, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = item.map_err(|e| format!("certificato n. {}: PEM non valido ({e})", i + 1))?;
        parse_x509(&der).map_err(|e| format!("certificato n. {}: {e}", i + 1))?;
        out.push(der);
    }
    if out.is_empty() {
        return Err("nessun certificato PEM (-----BEGIN CERTIFICATE-----) trovato".into());
    }
    Ok(out)
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Certificates from a header set by a TLS-terminating proxy. Accepted forms:
/// URL-encoded PEM (nginx `$ssl_client_escaped_cert`), PEM whose newlines
/// became spaces (Apache `%{SSL_CLIENT_CERT}` in a header), plain PEM, and
/// bare base64 DER (several separated by commas). Lenient in format, strict
/// in content: every certificate must be well-formed X.509.
///
/// Trust this header only when it is set by your own proxy (which must drop
/// any value sent by the client).
pub fn certificates_from_forwarded_header(
    value: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut text = value.trim().trim_matches('"').trim().to_string();
    if text.is_empty() {
        return Err("intestazione del certificato vuota".into());
    }
    if text.contains('%') {
        text = percent_decode(&text)?;
    }
    // Form-style encoding turns spaces into '+': only the markers have spaces.
    let text = text
        .replace("-----BEGIN+CERTIFICATE-----", BEGIN)
        .replace("-----END+CERTIFICATE-----", END);
    let bodies: Vec<String> = if text.contains("-----BEGIN") {
        pem_bodies(&text)?
    } else {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    if bodies.is_empty() {
        return Err("nessun certificato nell'intestazione".into());
    }
    let mut out = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.iter().enumerate() {
        let n = i + 1;
        if body.is_empty()
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return Err(format!(
                "certificato n. {n}: caratteri non ammessi in base64"
            ));
        }
        let mut pem = String::with_capacity(body.len() + body.len() / 64 + 60);
        pem.push_str(BEGIN);
        pem.push('\n');
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str(END);
        pem.push('\n');
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| format!("certificato n. {n}: base64 non valido ({e})"))?;
        parse_x509(&der).map_err(|e| format!("certificato n. {n}: {e}"))?;
        out.push(der);
    }
    Ok(out)
}

/// The base64 bodies (whitespace removed) of the CERTIFICATE blocks of `text`.
fn pem_bodies(text: &str) -> Result<Vec<String>, String> {
    let mut bodies = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN") {
        let Some(after) = rest[start..].strip_prefix(BEGIN) else {
            return Err("blocco PEM diverso da un certificato".into());
        };
        let Some(end) = after.find(END) else {
            return Err("blocco PEM senza riga finale (-----END CERTIFICATE-----)".into());
        };
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        bodies.push(body);
        rest = &after[end + END.len()..];
    }
    Ok(bodies)
}

/// Decodes `%XX` escapes (a '+' stays a '+': it is a base64 character).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("codifica URL non valida in posizione {}", i + 1))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "codifica URL non valida: testo non UTF-8".to_string())
}

/// A throw-away PKI for tests: a CA, client and server certificates, CRLs.
/// Enabled in this crate's tests and, for other crates, by the `test-pki`
/// feature.
#[cfg(any(test, feature = "test-pki"))]
pub mod testing {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
        DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
    };

    /// `SystemTime` to rcgen's date type (without naming the `time` crate).
    macro_rules! at {
        ($t:expr) => {
            rcgen::date_time_ymd(1970, 1, 1)
                + $t.duration_since(UNIX_EPOCH).expect("time after 1970")
        };
    }

    const DAY: Duration = Duration::from_secs(86_400);

    /// A certification authority (root, or intermediate from
    /// [`TestPki::intermediate`]) with an ECDSA P-256 key.
    pub struct TestPki {
        issuer: CertifiedIssuer<'static, KeyPair>,
        /// PEM of this CA (if intermediate) and the intermediates above it.
        chain_pem: String,
        next_serial: AtomicU64,
    }

    impl Default for TestPki {
        fn default() -> Self {
            Self::new()
        }
    }

    impl TestPki {
        /// A root CA named "Sportello Test CA".
        pub fn new() -> TestPki {
            Self::named("Sportello Test CA")
        }

        /// A root CA with the given common name.
        pub fn named(common_name: &str) -> TestPki {
            let issuer = CertifiedIssuer::self_signed(ca_params(common_name), key())
                .expect("self-signed test CA");
            TestPki {
                issuer,
                chain_pem: String::new(),
                next_serial: AtomicU64::new(0x1000),
            }
        }

        /// An intermediate CA signed by this one.
        pub fn intermediate(&self, common_name: &str) -> TestPki {
            let mut params = ca_params(common_name);
            params.serial_number = Some(self.serial());
            let issuer = CertifiedIssuer::signed_by(params, key(), &*self.issuer)
                .expect("test intermediate CA");
            let chain_pem = format!("{}{}", issuer.pem(), self.chain_pem);
            TestPki {
                issuer,
                chain_pem,
                next_serial: AtomicU64::new(0x1000),
            }
        }

        /// This CA's certificate (PEM).
        pub fn ca_pem(&self) -> String {
            self.issuer.pem()
        }

        /// The intermediates from this CA up to (excluding) the root, PEM;
        /// empty for a root. Append to a client certificate to send a chain.
        pub fn chain_pem(&self) -> String {
            self.chain_pem.clone()
        }

        /// A client certificate (clientAuth) with the given subject CN and
        /// `serialNumber` attribute, valid between the two instants. Returns
        /// (certificate PEM, PKCS#8 key PEM).
        pub fn client_cert(
            &self,
            subject_cn: Option<&str>,
            serial_number: Option<&str>,
            not_before: SystemTime,
            not_after: SystemTime,
        ) -> (String, String) {
            let mut params = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CountryName, "IT");
            dn.push(DnType::OrganizationName, "Sportello test");
            if let Some(sn) = serial_number {
                let value = match sn.to_string().try_into() {
                    Ok(printable) => DnValue::PrintableString(printable),
                    Err(_) => DnValue::Utf8String(sn.to_string()),
                };
                dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), value);
            }
            if let Some(cn) = subject_cn {
                dn.push(DnType::CommonName, cn);
            }
            params.distinguished_name = dn;
            params.not_before = at!(not_before);
            params.not_after = at!(not_after);
            params.serial_number = Some(self.serial());
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params.use_authority_key_identifier_extension = true;
            let key = key();
            let cert = params.signed_by(&key, &*self.issuer).expect("client cert");
            (cert.pem(), key.serialize_pem())
        }

        /// A client certificate valid from an hour ago for a year.
        pub fn valid_client_cert(&self, subject_cn: &str) -> (String, String) {
            let now = SystemTime::now();
            self.client_cert(
                Some(subject_cn),
                None,
                now - Duration::from_secs(3600),
                now + 365 * DAY,
            )
        }

        /// A CRL signed by this CA revoking the given serials (hex, as in
        /// `CnsIdentity::serial` or [`serial_hex`]). Valid from an hour ago
        /// for a day.
        pub fn crl_pem(&self, revoked_serials: &[&str]) -> String {
            let now = SystemTime::now();
            let hour_ago = now - Duration::from_secs(3600);
            let revoked_certs = revoked_serials
                .iter()
                .map(|s| {
                    let padded = if s.len() % 2 == 1 {
                        format!("0{s}")
                    } else {
                        s.to_string()
                    };
                    RevokedCertParams {
                        serial_number: SerialNumber::from_slice(
                            &hex::decode(padded).expect("hex serial"),
                        ),
                        revocation_time: at!(hour_ago),
                        reason_code: Some(RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    }
                })
                .collect();
            let params = CertificateRevocationListParams {
                this_update: at!(hour_ago),
                next_update: at!(now + DAY),
                crl_number: self.serial(),
                issuing_distribution_point: None,
                revoked_certs,
                key_identifier_method: rcgen::KeyIdMethod::Sha256,
            };
            params
                .signed_by(&*self.issuer)
                .expect("test CRL")
                .pem()
                .expect("CRL PEM")
        }

        /// A server certificate (serverAuth) for the given DNS names and IP
        /// addresses. Returns (certificate PEM, PKCS#8 key PEM).
        pub fn server_cert(&self, names: &[&str]) -> (String, String) {
            let mut params =
                CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .expect("server names");
            let mut dn = DistinguishedName::new();
            dn.push(
                DnType::CommonName,
                names.first().copied().unwrap_or("localhost"),
            );
            params.distinguished_name = dn;
            let now = SystemTime::now();
            params.not_before = at!(now - DAY);
            params.not_after = at!(now + 365 * DAY);
            params.serial_number = Some(self.serial());
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let key = key();
            let cert = params.signed_by(&key, &*self.issuer).expect("server cert");
            (cert.pem(), key.serialize_pem())
        }

        fn serial(&self) -> SerialNumber {
            SerialNumber::from(self.next_serial.fetch_add(1, Ordering::Relaxed))
        }
    }

    /// The serial number of the first certificate of `cert_pem`, in the
    /// format of `CnsIdentity::serial`.
    pub fn serial_hex(cert_pem: &str) -> String {
        let certs = super::certificates_from_pem(cert_pem.as_bytes()).expect("certificate PEM");
        let cert = super::parse_x509(&certs[0]).expect("X.509");
        super::serial_hex(cert.raw_serial())
    }

    fn key() -> KeyPair {
        KeyPair::generate().expect("ECDSA key")
    }

    fn ca_params(common_name: &str) -> CertificateParams {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "IT");
        dn.push(DnType::OrganizationName, "Sportello test");
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        let now = SystemTime::now();
        params.not_before = at!(now - DAY);
        params.not_after = at!(now + 3650 * DAY);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.use_authority_key_identifier_extension = true;
        params
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::testing::{TestPki, serial_hex};
    use super::*;

    const CNS_CN: &str = "RSSMRA80A01H501U/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8=";
    const CF: &str = "RSSMRA80A01H501U";
    const DAY: Duration = Duration::from_secs(86_400);

    fn chain(pem: &str) -> Vec<CertificateDer<'static>> {
        certificates_from_pem(pem.as_bytes()).unwrap()
    }

    fn verifier(pki: &TestPki, crls: &[String]) -> CnsVerifier {
        let crls: Vec<Vec<u8>> = crls.iter().map(|c| c.clone().into_bytes()).collect();
        CnsVerifier::from_pem(pki.ca_pem().as_bytes(), &crls).unwrap()
    }

    fn verify(v: &CnsVerifier, pem: &str) -> Result<CnsIdentity, CnsError> {
        v.verify(&chain(pem), UnixTime::now())
    }

    #[test]
    fn cns_common_name_yields_the_fiscal_code_and_certificate_details() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let (cert, _key) = pki.valid_client_cert(CNS_CN);
        let id = verify(&v, &cert).unwrap();
        assert_eq!(id.fiscal_code.as_str(), CF);
        let der = chain(&cert).remove(0);
        assert_eq!(id.fingerprint, hex::encode(Sha256::digest(der.as_ref())));
        assert_eq!(id.fingerprint.len(), 64);
        assert!(id.subject.contains(CNS_CN), "{}", id.subject);
        assert!(id.issuer.contains("Sportello Test CA"), "{}", id.issuer);
        assert_eq!(id.serial, serial_hex(&cert));
        assert_eq!(id.serial, "1000");
        let year = 365 * 86_400 * 1_000_000_i64;
        let now = crate::now_micros();
        assert!(id.not_after > now + year - 86_400_000_000 && id.not_after <= now + year);
    }

    #[test]
    fn serial_number_attribute_tinit_yields_the_fiscal_code() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let now = SystemTime::now();
        let (cert, _) = pki.client_cert(
            Some("ROSSI MARIO"),
            Some("TINIT-RSSMRA80A01H501U"),
            now - DAY,
            now + DAY,
        );
        assert_eq!(verify(&v, &cert).unwrap().fiscal_code.as_str(), CF);
        // Without a CN at all.
        let (cert, _) = pki.client_cert(None, Some("TINIT-RSSMRA80A01H501U"), now - DAY, now + DAY);
        assert_eq!(verify(&v, &cert).unwrap().fiscal_code.as_str(), CF);
        // Both forms, agreeing.
        let (cert, _) = pki.client_cert(
            Some(CNS_CN),
            Some("TINIT-RSSMRA80A01H501U"),
            now - DAY,
            now + DAY,
        );
        assert_eq!(verify(&v, &cert).unwrap().fiscal_code.as_str(), CF);
    }

    #[test]
    fn a_common_name_that_is_just_the_fiscal_code_is_accepted() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let (cert, _) = pki.valid_client_cert("rssmra80a01h501u");
        assert_eq!(verify(&v, &cert).unwrap().fiscal_code.as_str(), CF);
    }

    #[test]
    fn certificates_without_a_fiscal_code_or_with_a_wrong_one_are_refused() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let now = SystemTime::now();
        let (cert, _) = pki.valid_client_cert("Mario Rossi");
        assert_eq!(verify(&v, &cert), Err(CnsError::NoFiscalCode));
        let (cert, _) = pki.client_cert(Some("Mario Rossi"), Some("12345"), now - DAY, now + DAY);
        assert_eq!(verify(&v, &cert), Err(CnsError::NoFiscalCode));
        // Wrong check character.
        let (cert, _) = pki.valid_client_cert("RSSMRA80A01H501X/6120016461039008.abc=");
        let err = verify(&v, &cert).unwrap_err();
        assert!(
            matches!(&err, CnsError::InvalidFiscalCode(m) if m.contains("controllo")),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("codice fiscale del certificato non valido")
        );
        let (cert, _) = pki.client_cert(None, Some("TINIT-RSSMRA80A01"), now - DAY, now + DAY);
        assert!(matches!(
            verify(&v, &cert),
            Err(CnsError::InvalidFiscalCode(_))
        ));
        // A malformed CN next to a valid serialNumber: the valid one counts.
        let (cert, _) = pki.client_cert(
            Some("RSSMRA80A01H501X/6120016461039008.abc="),
            Some("TINIT-RSSMRA80A01H501U"),
            now - DAY,
            now + DAY,
        );
        assert_eq!(verify(&v, &cert).unwrap().fiscal_code.as_str(), CF);
        // CN and serialNumber naming different people.
        let (cert, _) = pki.client_cert(
            Some(CNS_CN),
            Some("TINIT-MSRNTN77H15C351X"),
            now - DAY,
            now + DAY,
        );
        assert!(matches!(
            verify(&v, &cert),
            Err(CnsError::InvalidFiscalCode(_))
        ));
    }

    #[test]
    fn expired_and_not_yet_valid_certificates_are_refused() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let now = SystemTime::now();
        let (cert, _) = pki.client_cert(Some(CNS_CN), None, now - 30 * DAY, now - DAY);
        assert_eq!(verify(&v, &cert), Err(CnsError::Expired));
        assert_eq!(CnsError::Expired.to_string(), "certificato scaduto");
        let (cert, _) = pki.client_cert(Some(CNS_CN), None, now + DAY, now + 30 * DAY);
        assert_eq!(verify(&v, &cert), Err(CnsError::NotYetValid));
        // The verification instant is the caller's.
        let (cert, _) = pki.client_cert(Some(CNS_CN), None, now - 30 * DAY, now - DAY);
        let then = UnixTime::since_unix_epoch(
            (now - 2 * DAY)
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap(),
        );
        assert!(v.verify(&chain(&cert), then).is_ok());
    }

    #[test]
    fn certificates_from_another_authority_are_refused() {
        let pki = TestPki::new();
        let v = verifier(&pki, &[]);
        let other = TestPki::named("Other CA");
        let (cert, _) = other.valid_client_cert(CNS_CN);
        assert_eq!(verify(&v, &cert), Err(CnsError::UnknownIssuer));
        assert_eq!(
            CnsError::UnknownIssuer.to_string(),
            "certificato non rilasciato da un'autorità di certificazione riconosciuta"
        );
        // Same name as the trusted CA, different key: still refused.
        let impostor = TestPki::new();
        let (cert, _) = impostor.valid_client_cert(CNS_CN);
        assert_eq!(verify(&v, &cert), Err(CnsError::UnknownIssuer));
    }

    #[test]
    fn revoked_certificates_are_refused_through_the_crl() {
        let pki = TestPki::new();
        let (revoked, _) = pki.valid_client_cert(CNS_CN);
        let (good, _) = pki.valid_client_cert(CNS_CN);
        let crl = pki.crl_pem(&[&serial_hex(&revoked)]);
        let v = verifier(&pki, &[crl]);
        assert_eq!(v.crls(), 1);
        assert_eq!(verify(&v, &revoked), Err(CnsError::Revoked));
        assert_eq!(CnsError::Revoked.to_string(), "certificato revocato");
        assert_eq!(verify(&v, &good).unwrap().fiscal_code.as_str(), CF);
        // The same CRL given as DER works too.
        let der = CertificateRevocationListDer::from_pem_slice(
            pki.crl_pem(&[&serial_hex(&revoked)]).as_bytes(),
        )
        .unwrap();
        let v = CnsVerifier::from_pem(pki.ca_pem().as_bytes(), &[der.to_vec()]).unwrap();
        assert_eq!(verify(&v, &revoked), Err(CnsError::Revoked));
    }

    #[test]
    fn a_crl_of_another_authority_leaves_the_status_unknown_which_is_allowed() {
        let pki = TestPki::new();
        let other = TestPki::named("Other CA");
        let (cert, _) = pki.valid_client_cert(CNS_CN);
        // A CRL from another CA that lists the same serial number.
        let crl = other.crl_pem(&[&serial_hex(&cert)]);
        let both = format!("{}{}", pki.ca_pem(), other.ca_pem());
        let v = CnsVerifier::from_pem(both.as_bytes(), &[crl.into_bytes()]).unwrap();
        assert_eq!(v.authorities(), 2);
        assert!(verify(&v, &cert).is_ok());
    }

    #[test]
    fn chains_through_an_intermediate_and_its_revocation() {
        let root = TestPki::new();
        let sub = root.intermediate("Sportello Test CNS CA");
        let (cert, _) = sub.valid_client_cert(CNS_CN);
        let full = format!("{cert}{}", sub.chain_pem());
        let v = verifier(&root, &[]);
        assert_eq!(verify(&v, &full).unwrap().fiscal_code.as_str(), CF);
        assert!(
            verify(&v, &full)
                .unwrap()
                .issuer
                .contains("Sportello Test CNS CA")
        );
        // Without the intermediate the chain cannot be built.
        assert_eq!(verify(&v, &cert), Err(CnsError::UnknownIssuer));
        // Revoked by the intermediate's own CRL.
        let v = verifier(&root, &[sub.crl_pem(&[&serial_hex(&cert)])]);
        assert_eq!(verify(&v, &full), Err(CnsError::Revoked));
        // The intermediate revoked by the root.
        let v = verifier(&root, &[root.crl_pem(&[&serial_hex(&sub.ca_pem())])]);
        assert_eq!(verify(&v, &full), Err(CnsError::Revoked));
    }

    #[test]
    fn an_empty_chain_is_a_bad_certificate() {
        let v = verifier(&TestPki::new(), &[]);
        assert!(matches!(
            v.verify(&[], UnixTime::now()),
            Err(CnsError::BadCertificate(_))
        ));
    }

    #[test]
    fn loading_errors_name_the_file_and_the_problem() {
        let dir = std::env::temp_dir().join(format!("sportello-cns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pki = TestPki::new();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, pki.ca_pem()).unwrap();
        let crl = dir.join("ca.crl");
        std::fs::write(&crl, pki.crl_pem(&[])).unwrap();
        let v = CnsVerifier::from_pem_files(&ca, std::slice::from_ref(&crl)).unwrap();
        assert_eq!((v.authorities(), v.crls()), (1, 1));

        let missing = dir.join("missing.pem");
        let err = CnsVerifier::from_pem_files(&missing, &[]).unwrap_err();
        assert!(err.contains("missing.pem"), "{err}");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let err = CnsVerifier::from_pem_files(&junk, &[]).unwrap_err();
        assert!(
            err.contains("junk.pem") && err.contains("certificat"),
            "{err}"
        );
        let err = CnsVerifier::from_pem_files(&ca, std::slice::from_ref(&junk)).unwrap_err();
        assert!(err.contains("junk.pem") && err.contains("CRL"), "{err}");
        let bad_pem = dir.join("bad.pem");
        std::fs::write(
            &bad_pem,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = CnsVerifier::from_pem_files(&bad_pem, &[]).unwrap_err();
        assert!(err.contains("bad.pem") && err.contains("n. 1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn certificates_from_pem_reads_bundles_and_refuses_junk() {
        let pki = TestPki::new();
        let (cert, key) = pki.valid_client_cert(CNS_CN);
        let bundle = format!("{cert}{key}{}", pki.ca_pem());
        assert_eq!(certificates_from_pem(bundle.as_bytes()).unwrap().len(), 2);
        assert!(certificates_from_pem(key.as_bytes()).is_err());
        assert!(certificates_from_pem(b"").is_err());
    }

    /// What nginx's `$ssl_client_escaped_cert` does: URL-encode everything
    /// but unreserved characters.
    fn url_encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[test]
    fn forwarded_header_forms_round_trip() {
        let pki = TestPki::new();
        let (cert, _) = pki.valid_client_cert(CNS_CN);
        let expected = chain(&cert);
        let v = verifier(&pki, &[]);

        let nginx = url_encode(&cert);
        assert!(nginx.contains("%0A") && (nginx.contains("%2B") || nginx.contains("%2F")));
        let parsed = certificates_from_forwarded_header(&nginx).unwrap();
        assert_eq!(parsed, expected);
        assert_eq!(
            v.verify(&parsed, UnixTime::now())
                .unwrap()
                .fiscal_code
                .as_str(),
            CF
        );

        let apache = cert.trim().replace('\n', " ");
        assert_eq!(
            certificates_from_forwarded_header(&apache).unwrap(),
            expected
        );
        let tabs = format!("\t\"{}\"  ", cert.replace('\n', "\t"));
        assert_eq!(certificates_from_forwarded_header(&tabs).unwrap(), expected);
        assert_eq!(certificates_from_forwarded_header(&cert).unwrap(), expected);
        let plus = cert
            .trim()
            .replace('\n', " ")
            .replace("BEGIN CERT", "BEGIN+CERT")
            .replace("END CERT", "END+CERT");
        assert_eq!(certificates_from_forwarded_header(&plus).unwrap(), expected);

        // Bare base64 DER, and a chain as two PEM blocks.
        let bare = cert
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        assert_eq!(certificates_from_forwarded_header(&bare).unwrap(), expected);
        let two = format!("{cert}{}", pki.ca_pem()).replace('\n', " ");
        assert_eq!(certificates_from_forwarded_header(&two).unwrap().len(), 2);
        let two_bare = format!("{bare},{bare}");
        assert_eq!(
            certificates_from_forwarded_header(&two_bare).unwrap().len(),
            2
        );
    }

    #[test]
    fn forwarded_header_content_is_checked_strictly() {
        let pki = TestPki::new();
        let (cert, key) = pki.valid_client_cert(CNS_CN);
        for bad in [
            "".to_string(),
            "  ".to_string(),
            "(null)".to_string(),
            "%ZZ".to_string(),
            key.clone(),
            // Truncated body.
            cert[..cert.len() - 80].to_string(),
            // A flipped character in the base64 body no longer parses as X.509,
            // or (if it does) is not this certificate: either way not accepted as-is.
            cert.replacen("MII", "MIJ", 1),
            format!("{}!{}", &cert[..40], &cert[40..]),
            "-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----".to_string(),
        ] {
            let r = certificates_from_forwarded_header(&bad);
            assert!(r.is_err(), "accepted {bad:?}");
        }
    }
}
