//! Verification of digitally signed documents: CAdES envelopes (`.p7m`, the
//! document inside) and detached signatures (`.p7s`, the document beside).
//!
//! What is checked, for each signer: the message digest signed in the
//! signed attributes matches the document, the signature over those
//! attributes verifies with the signer's certificate, and that certificate
//! chains to a trusted certification authority and was valid at the signing
//! time the signer declared (now, when none is declared; a time in the future
//! is refused). The codice fiscale is read from the certificate as for smart
//! cards (`serialNumber=TINIT-<CF>`, or a CN starting with it).
//!
//! Parsing is the RustCrypto `cms` crate's; chain building and every
//! signature check are webpki's and ring's. Revocation of signing
//! certificates is not checked (no OCSP, no CRL download).

use std::time::Duration;

use cms::cert::CertificateChoices;
use cms::cert::x509::time::Time;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use sha2::Digest;
use sportello_core::FiscalCode;
use webpki::{EndEntityCert, KeyPurposeIdIter};

use crate::cns::{self, CnsError};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// A declared signing time may be this far ahead of our clock.
const CLOCK_SKEW_MICROS: i64 = 5 * 60 * 1_000_000;

/// Why a signed document is refused. `Display` is the Italian message meant
/// for the person who uploaded it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("il file non è un documento firmato digitalmente in formato CAdES (.p7m o .p7s)")]
    NotSigned,
    #[error("la firma è separata dal documento (.p7s) ma il documento non è disponibile")]
    DetachedWithoutDocument,
    #[error("il file firmato non contiene alcuna firma")]
    NoSigner,
    #[error("il certificato del firmatario non è incluso nel file firmato")]
    SignerCertificateMissing,
    #[error("il documento è stato modificato dopo la firma")]
    Altered,
    #[error("la firma non è valida per questo documento")]
    BadSignature,
    #[error("algoritmo di firma non supportato: {0}")]
    UnsupportedAlgorithm(String),
    #[error("il certificato del firmatario non è rilasciato da un certificatore accreditato")]
    UntrustedIssuer,
    #[error("il certificato del firmatario era scaduto al momento della firma")]
    Expired,
    #[error("il certificato del firmatario non era ancora valido al momento della firma")]
    NotYetValid,
    #[error("la data di firma dichiarata è nel futuro")]
    SigningTimeInFuture,
    #[error("il certificato del firmatario non riporta un codice fiscale")]
    NoFiscalCode,
    #[error("certificato del firmatario non valido: {0}")]
    BadCertificate(String),
}

/// One verified signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    pub fiscal_code: FiscalCode,
    /// Subject distinguished name of the certificate.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// SHA-256 of the certificate's DER, lowercase hex.
    pub fingerprint: String,
    /// When the document was signed (declared, or the time of verification),
    /// microseconds since the epoch.
    pub signing_time: i64,
}

/// A document whose every signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDocument {
    /// The document that was signed.
    pub content: Vec<u8>,
    /// Whether the signature came apart from the document (`.p7s`).
    pub detached: bool,
    pub signers: Vec<Signer>,
}

/// The certification authorities whose signing certificates are accepted.
#[derive(Clone, Debug, Default)]
pub struct TrustedAuthorities {
    certificates: Vec<CertificateDer<'static>>,
}

impl TrustedAuthorities {
    /// From a PEM bundle; errors name the certificate and the problem.
    pub fn from_pem(pem: &[u8]) -> Result<TrustedAuthorities, String> {
        let certificates = cns::certificates_from_pem(pem)?;
        for (i, c) in certificates.iter().enumerate() {
            webpki::anchor_from_trusted_cert(c)
                .map_err(|e| format!("certificato n. {}: non è un'autorità ({e:?})", i + 1))?;
        }
        Ok(TrustedAuthorities { certificates })
    }

    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

/// Verifies a signed file: an envelope holding the document, or a detached
/// signature over `detached` (the document the verifier already has). A PEM
/// (`-----BEGIN PKCS7-----`, `CMS`) or base64 file is accepted as well as DER.
/// Every signature in the file must verify.
pub fn verify(
    signed: &[u8],
    detached: Option<&[u8]>,
    trusted: &TrustedAuthorities,
    now_micros: i64,
) -> Result<SignedDocument, SignatureError> {
    let der = unarmor(signed).ok_or(SignatureError::NotSigned)?;
    let info = ContentInfo::from_der(&der).map_err(|_| SignatureError::NotSigned)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(SignatureError::NotSigned);
    }
    let data: SignedData = decode(&info.content).ok_or(SignatureError::NotSigned)?;
    let (content, was_detached) = match &data.encap_content_info.econtent {
        Some(inner) => (
            decode::<OctetString>(inner)
                .ok_or(SignatureError::NotSigned)?
                .into_bytes(),
            false,
        ),
        None => (
            detached
                .ok_or(SignatureError::DetachedWithoutDocument)?
                .to_vec(),
            true,
        ),
    };
    let certificates: Vec<CertificateDer<'static>> = data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().ok().map(CertificateDer::from),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    if data.signer_infos.0.is_empty() {
        return Err(SignatureError::NoSigner);
    }
    let mut signers = Vec::new();
    for info in data.signer_infos.0.iter() {
        signers.push(verify_signer(
            info,
            &data,
            &content,
            &certificates,
            trusted,
            now_micros,
        )?);
    }
    Ok(SignedDocument {
        content,
        detached: was_detached,
        signers,
    })
}

fn verify_signer(
    info: &SignerInfo,
    data: &SignedData,
    content: &[u8],
    certificates: &[CertificateDer<'static>],
    trusted: &TrustedAuthorities,
    now_micros: i64,
) -> Result<Signer, SignatureError> {
    let cert_der = certificates
        .iter()
        .find(|c| identifies(&info.sid, c))
        .ok_or(SignatureError::SignerCertificateMissing)?;
    // CAdES signs attributes (content type, digest, time), never the bare
    // content: an unsigned-attributes signature is not CAdES.
    let attrs = info.signed_attrs.as_ref().ok_or_else(|| {
        SignatureError::UnsupportedAlgorithm("firma senza attributi firmati".into())
    })?;
    let attribute = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let digest = digest(&info.digest_alg.oid, content)?;
    let declared = attribute(ID_MESSAGE_DIGEST)
        .and_then(decode::<OctetString>)
        .ok_or(SignatureError::Altered)?;
    if declared.as_bytes() != digest.as_slice() {
        return Err(SignatureError::Altered);
    }
    let content_type = attribute(ID_CONTENT_TYPE).and_then(decode::<ObjectIdentifier>);
    if content_type != Some(data.encap_content_info.econtent_type) {
        return Err(SignatureError::BadSignature);
    }
    let signed_bytes = attrs.to_der().map_err(|_| SignatureError::BadSignature)?;
    let cert = EndEntityCert::try_from(cert_der)
        .map_err(|e| SignatureError::BadCertificate(format!("{e:?}")))?;
    let algorithms = algorithms_for(&info.signature_algorithm.oid, &info.digest_alg.oid)?;
    let signature = info.signature.as_bytes();
    let verified = algorithms.iter().any(|alg| {
        cert.verify_signature(*alg, &signed_bytes, signature)
            .is_ok()
    });
    if !verified {
        return Err(SignatureError::BadSignature);
    }

    let signing_time = attribute(ID_SIGNING_TIME)
        .and_then(decode::<Time>)
        .map(|t| t.to_unix_duration().as_micros() as i64)
        .unwrap_or(now_micros);
    if signing_time > now_micros + CLOCK_SKEW_MICROS {
        return Err(SignatureError::SigningTimeInFuture);
    }
    let anchors: Vec<_> = trusted
        .certificates
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = certificates
        .iter()
        .filter(|c| *c != cert_der)
        .cloned()
        .collect();
    let at = UnixTime::since_unix_epoch(Duration::from_micros(signing_time.max(0) as u64));
    cert.verify_for_usage(
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all,
        &anchors,
        &intermediates,
        at,
        AnyPurpose,
        None,
        None,
    )
    .map_err(chain_error)?;
    let identity = cns::identity_of(cert_der).map_err(|e| match e {
        CnsError::NoFiscalCode | CnsError::InvalidFiscalCode(_) => SignatureError::NoFiscalCode,
        other => SignatureError::BadCertificate(other.to_string()),
    })?;
    Ok(Signer {
        fiscal_code: identity.fiscal_code,
        subject: identity.subject,
        issuer: identity.issuer,
        fingerprint: identity.fingerprint,
        signing_time,
    })
}

/// Signing certificates carry whatever extended key usage their authority
/// gives them (often none, sometimes e-mail protection): the chain matters,
/// not the purpose.
struct AnyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, _: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn chain_error(e: webpki::Error) -> SignatureError {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => SignatureError::Expired,
        E::CertNotValidYet { .. } => SignatureError::NotYetValid,
        E::UnknownIssuer | E::InvalidSignatureForPublicKey | E::CaUsedAsEndEntity => {
            SignatureError::UntrustedIssuer
        }
        other => SignatureError::BadCertificate(format!("{other:?}")),
    }
}

/// Whether the signer identifier names this certificate.
fn identifies(sid: &SignerIdentifier, cert: &CertificateDer<'_>) -> bool {
    let Ok(c) = cms::cert::x509::Certificate::from_der(cert) else {
        return false;
    };
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .get::<cms::cert::x509::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, own)| own == *ski),
    }
}

fn digest(alg: &ObjectIdentifier, content: &[u8]) -> Result<Vec<u8>, SignatureError> {
    Ok(match *alg {
        SHA256 => sha2::Sha256::digest(content).to_vec(),
        SHA384 => sha2::Sha384::digest(content).to_vec(),
        SHA512 => sha2::Sha512::digest(content).to_vec(),
        other => {
            return Err(SignatureError::UnsupportedAlgorithm(format!(
                "impronta {other} (sono accettate SHA-256, SHA-384, SHA-512)"
            )));
        }
    })
}

/// The verification algorithms that may match a signer's declared signature
/// algorithm and digest (the key's curve picks among the ECDSA ones).
fn algorithms_for(
    signature: &ObjectIdentifier,
    digest: &ObjectIdentifier,
) -> Result<Vec<&'static dyn SignatureVerificationAlgorithm>, SignatureError> {
    use webpki::ring as alg;
    let rsa = |d: &ObjectIdentifier| match *d {
        SHA256 => Some(alg::RSA_PKCS1_2048_8192_SHA256),
        SHA384 => Some(alg::RSA_PKCS1_2048_8192_SHA384),
        SHA512 => Some(alg::RSA_PKCS1_2048_8192_SHA512),
        _ => None,
    };
    let found = match *signature {
        RSA_ENCRYPTION => rsa(digest).map(|a| vec![a]),
        SHA256_WITH_RSA => rsa(&SHA256).map(|a| vec![a]),
        SHA384_WITH_RSA => rsa(&SHA384).map(|a| vec![a]),
        SHA512_WITH_RSA => rsa(&SHA512).map(|a| vec![a]),
        ECDSA_WITH_SHA256 => Some(vec![alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256]),
        ECDSA_WITH_SHA384 => Some(vec![alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384]),
        EC_PUBLIC_KEY => match *digest {
            SHA256 => Some(vec![alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256]),
            SHA384 => Some(vec![alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384]),
            _ => None,
        },
        _ => None,
    };
    found.ok_or_else(|| SignatureError::UnsupportedAlgorithm(signature.to_string()))
}

/// DER from DER, PEM or bare base64.
fn unarmor(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let starts_der = bytes.first() == Some(&0x30);
    if starts_der {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let body: String = if text.contains("-----BEGIN") {
        text.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat()
    } else {
        text.split_whitespace().collect()
    };
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
        .filter(|d| d.first() == Some(&0x30))
}

/// A value of an ASN.1 `ANY` as `T`, or `None`.
fn decode<T: for<'a> Decode<'a>>(any: &der::Any) -> Option<T> {
    T::from_der(&any.to_der().ok()?).ok()
}
