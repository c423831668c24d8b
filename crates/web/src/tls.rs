//! HTTPS with optional client certificates, for smart-card (CNS) login.
//!
//! The server asks every client for a certificate but lets those without one
//! in. When a client presents one, TLS checks only that the client holds its
//! private key (the handshake signature); the chain, validity period and
//! revocation are checked afterwards by the application with
//! [`sportello_app::cns::CnsVerifier`], so that an expired, revoked or
//! foreign certificate gets a clear page in Italian rather than a TLS alert
//! that browsers show as an obscure network error.
//!
//! Each request of a connection whose client presented a certificate carries
//! [`PeerCertificates`] in its extensions (UNVERIFIED: hand them to
//! `CnsVerifier::verify`), and every request carries
//! `axum::extract::ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The certificates the client presented in the TLS handshake, end entity
/// first. Only proof of possession of the end entity's key has been checked:
/// verify them with `CnsVerifier` before trusting anything in them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificates(pub Vec<CertificateDer<'static>>);

/// How long a client may take to complete the TLS handshake. Generous: with
/// a smart card the browser waits there while the user picks the
/// certificate and types the PIN.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long in-flight connections may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The server configuration: certificate chain and key from PEM files, and a
/// client-certificate request whose acceptable-CA list holds the subjects of
/// `client_ca_bundle_path` (so browsers offer the smart-card certificate).
/// Client certificates are optional and any chain is accepted at this layer
/// (see the module documentation). ALPN: http/1.1.
pub fn server_config(
    cert_pem_path: &Path,
    key_pem_path: &Path,
    client_ca_bundle_path: &Path,
) -> Result<Arc<ServerConfig>, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let certs = sportello_app::cns::certificates_from_pem(&read(cert_pem_path)?)
        .map_err(|e| format!("{}: {e}", cert_pem_path.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_pem_path)?).map_err(|e| {
        format!(
            "{}: chiave privata PEM non trovata o non valida ({e})",
            key_pem_path.display()
        )
    })?;
    let cas = sportello_app::cns::certificates_from_pem(&read(client_ca_bundle_path)?)
        .map_err(|e| format!("{}: {e}", client_ca_bundle_path.display()))?;
    let mut roots = RootCertStore::empty();
    for (i, ca) in cas.into_iter().enumerate() {
        roots.add(ca).map_err(|e| {
            format!(
                "{}: certificato n. {}: {e}",
                client_ca_bundle_path.display(),
                i + 1
            )
        })?;
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyClientCertificate {
        root_hints: roots.subjects(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "{} / {}: {e}",
                cert_pem_path.display(),
                key_pem_path.display()
            )
        })?;
    // hyper's HTTP/2 support is not compiled in: HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks for a client certificate, does not require one, checks the client's
/// handshake signature (proof of possession of the key) and accepts any chain:
/// the application verifies the chain with `CnsVerifier` and explains a
/// refusal on a page.
#[derive(Debug)]
struct AnyClientCertificate {
    root_hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.root_hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Deliberately accepted here: see the type's documentation.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves. Every
/// request carries `ConnectInfo<SocketAddr>` and, if the client presented a
/// certificate, [`PeerCertificates`]. A failed handshake drops only that
/// connection. On shutdown it stops accepting, abandons handshakes in
/// progress, lets in-flight requests finish (at most 10 s, then the remaining
/// connections are closed) and returns.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    let (stop_handshakes, handshakes_stopped) = watch::channel(());
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Usually per-connection (reset before accept) or
                        // out of descriptors: back off a little, keep going.
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                connections.spawn(connection(
                    tcp,
                    remote,
                    acceptor.clone(),
                    router.clone(),
                    graceful.watcher(),
                    handshakes_stopped.clone(),
                ));
            }
        }
    }
    drop(listener);
    tracing::info!("TLS server: stopped accepting, finishing in-flight requests");
    let _ = stop_handshakes.send(());
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            "TLS server: connections still open after the grace period, closing them"
        );
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    tcp: TcpStream,
    remote: SocketAddr,
    acceptor: TlsAcceptor,
    router: Router,
    watcher: Watcher,
    mut stop: watch::Receiver<()>,
) {
    let tls = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%remote, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake timed out");
                return;
            }
        },
        _ = stop.changed() => return,
    };
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .filter(|certs| !certs.is_empty())
        .map(|certs| PeerCertificates(certs.iter().map(|c| c.clone().into_owned()).collect()));
    let service = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        if let Some(peer) = &peer {
            req.extensions_mut().insert(peer.clone());
        }
        req
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // The timer enables hyper's header read timeout (slow clients).
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::SystemTime;

    use axum::Extension;
    use axum::routing::get;
    use sportello_app::cns::CnsVerifier;
    use sportello_app::cns::testing::TestPki;
    use tokio::process::Command;

    use super::*;

    const CNS_CN: &str = "RSSMRA80A01H501U/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8=";

    struct Server {
        port: u16,
        dir: tempfile::TempDir,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        fn file(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        async fn stop(mut self) {
            let _ = self.stop.take().unwrap().send(());
            tokio::time::timeout(Duration::from_secs(15), self.task)
                .await
                .expect("serve_tls returns after shutdown")
                .unwrap()
                .unwrap();
        }
    }

    /// What the handler reports: how many certificates it saw, and what the
    /// application's verifier says about them.
    async fn whoami(
        ConnectInfo(addr): ConnectInfo<SocketAddr>,
        peer: Option<Extension<PeerCertificates>>,
        Extension(verifier): Extension<CnsVerifier>,
    ) -> String {
        let Some(Extension(PeerCertificates(chain))) = peer else {
            return format!("certs=0 from={}", addr.ip());
        };
        let n = chain.len();
        match verifier.verify(&chain, UnixTime::now()) {
            Ok(id) => format!("certs={n} cf={}", id.fiscal_code),
            Err(e) => format!("certs={n} refused={e}"),
        }
    }

    async fn start(pki: &TestPki) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let (server_cert, server_key) = pki.server_cert(&["localhost", "127.0.0.1"]);
        write("server.pem", &server_cert);
        write("server.key", &server_key);
        write("ca.pem", &pki.ca_pem());
        let config = server_config(
            &dir.path().join("server.pem"),
            &dir.path().join("server.key"),
            &dir.path().join("ca.pem"),
        )
        .unwrap();
        let verifier = CnsVerifier::from_pem(pki.ca_pem().as_bytes(), &[]).unwrap();
        let router = Router::new()
            .route("/", get(whoami))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    "slow done"
                }),
            )
            .layer(Extension(verifier));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_tls(listener, config, router, async {
            let _ = stopped.await;
        }));
        Server {
            port,
            dir,
            stop: Some(stop),
            task,
        }
    }

    /// `curl` against the server; returns (exit success, stdout, stderr).
    async fn curl(server: &Server, path: &str, extra: &[&str]) -> (bool, String, String) {
        let url = format!("https://localhost:{}{path}", server.port);
        let resolve = format!("localhost:{}:127.0.0.1", server.port);
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "--resolve", &resolve, "--cacert"])
            .arg(server.file("ca.pem"))
            .args(extra)
            .arg(&url)
            .output()
            .await
            .expect("the curl command-line tool is needed by this test");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// curl (OpenSSL) sends the client certificate, plus the chain up to the
    /// root when it can build one from `--cacert`: one or two certificates.
    fn assert_saw_certificate(body: &str, outcome: &str) {
        assert!(
            body == format!("certs=1 {outcome}") || body == format!("certs=2 {outcome}"),
            "{body}"
        );
    }

    fn write_client(server: &Server, name: &str, (cert, key): (String, String)) -> [String; 4] {
        let cert_path = server.file(&format!("{name}.pem"));
        let key_path = server.file(&format!("{name}.key"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        [
            "--cert".into(),
            cert_path.display().to_string(),
            "--key".into(),
            key_path.display().to_string(),
        ]
    }

    #[tokio::test]
    async fn tls_client_certificates_reach_the_handler_and_the_app_decides() {
        let pki = TestPki::new();
        let server = start(&pki).await;

        // A card from the trusted CA, over TLS 1.3 and TLS 1.2.
        let args = write_client(&server, "card", pki.valid_client_cert(CNS_CN));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, body, err) = curl(&server, "/", &args).await;
        assert!(ok, "curl failed: {err}");
        assert_saw_certificate(&body, "cf=RSSMRA80A01H501U");
        let mut tls12 = args.clone();
        tls12.extend(["--tlsv1.2", "--tls-max", "1.2"]);
        let (ok, body, err) = curl(&server, "/", &tls12).await;
        assert!(ok, "curl (TLS 1.2) failed: {err}");
        assert_saw_certificate(&body, "cf=RSSMRA80A01H501U");

        // No certificate: the connection is still accepted.
        let (ok, body, err) = curl(&server, "/", &[]).await;
        assert!(ok, "curl failed: {err}");
        assert_eq!(body, "certs=0 from=127.0.0.1");

        // A certificate from an unknown CA completes the handshake too: the
        // application refuses it with a message of its own.
        let other = TestPki::named("Other CA");
        let args = write_client(&server, "foreign", other.valid_client_cert(CNS_CN));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, body, err) = curl(&server, "/", &args).await;
        assert!(ok, "curl failed: {err}");
        assert_eq!(
            body,
            "certs=1 refused=certificato non rilasciato da un'autorità di certificazione riconosciuta"
        );

        // So does an expired one.
        let now = SystemTime::now();
        let expired = pki.client_cert(
            Some(CNS_CN),
            None,
            now - Duration::from_secs(30 * 86_400),
            now - Duration::from_secs(86_400),
        );
        let args = write_client(&server, "expired", expired);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, body, err) = curl(&server, "/", &args).await;
        assert!(ok, "curl failed: {err}");
        assert_saw_certificate(&body, "refused=certificato scaduto");

        // A client that is not speaking TLS only loses its own connection.
        let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut plain, b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut buf).await;
        let (ok, body, err) = curl(&server, "/", &[]).await;
        assert!(ok, "curl failed after a bad handshake: {err}");
        assert_eq!(body, "certs=0 from=127.0.0.1");

        server.stop().await;
    }

    #[tokio::test]
    async fn tls_shutdown_lets_in_flight_requests_finish() {
        let pki = TestPki::new();
        let server = start(&pki).await;
        let port = server.port;
        let (ok, _, err) = curl(&server, "/", &[]).await;
        assert!(ok, "{err}");
        let slow = {
            let url = format!("https://localhost:{port}/slow");
            let resolve = format!("localhost:{port}:127.0.0.1");
            Command::new("curl")
                .args(["-sS", "--max-time", "20", "--resolve", &resolve, "--cacert"])
                .arg(server.file("ca.pem"))
                .arg(&url)
                .output()
        };
        let slow = tokio::spawn(slow);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        server.stop().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let out = slow.await.unwrap().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "slow done");
        // No longer accepting.
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
        );
    }

    #[test]
    fn tls_server_config_errors_name_the_file() {
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pki.server_cert(&["localhost"]);
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("server.pem"), &cert).unwrap();
        std::fs::write(p("server.key"), &key).unwrap();
        std::fs::write(p("ca.pem"), pki.ca_pem()).unwrap();
        std::fs::write(p("junk"), "junk").unwrap();
        assert!(server_config(&p("server.pem"), &p("server.key"), &p("ca.pem")).is_ok());
        let err = server_config(&p("missing.pem"), &p("server.key"), &p("ca.pem")).unwrap_err();
        assert!(err.contains("missing.pem"), "{err}");
        let err = server_config(&p("server.pem"), &p("junk"), &p("ca.pem")).unwrap_err();
        assert!(err.contains("junk"), "{err}");
        let err = server_config(&p("server.pem"), &p("server.key"), &p("junk")).unwrap_err();
        assert!(err.contains("junk"), "{err}");
        // A key that does not match the certificate.
        let (_, other_key) = pki.server_cert(&["localhost"]);
        std::fs::write(p("other.key"), other_key).unwrap();
        assert!(server_config(&p("server.pem"), &p("other.key"), &p("ca.pem")).is_err());
    }
}
