//! TLS for plugins that speak raw TCP (FTP's AUTH TLS, implicit FTPS):
//! the plugin hands its socket's streams to the host through `wasi:tls`
//! and gets plaintext streams back. The host does the handshake and the
//! certificate checks, so a plugin never holds keys and cannot weaken
//! verification; what it trusts is the remote's configuration:
//!
//! - the public web PKI (Mozilla's roots, as for HTTPS), plus
//! - `tls_ca_file`: a PEM file of further CA certificates (a NAS's or a
//!   company's own CA), or of a server's own self-signed certificate,
//!   trusted exactly as it is (pinned, still for the right name), and
//! - `tls_insecure_skip_verify = true`: no certificate check at all, for
//!   testing only; the CLI warns on every use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use wasmtime_wasi_tls::{TlsProvider, TlsStream, TlsTransport};

use crate::{Error, ErrorKind, Result};

/// What a remote's TLS connections trust, beyond the web PKI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// PEM files of further CA certificates (`tls_ca_file`).
    pub ca_files: Vec<PathBuf>,
    /// Accept any certificate (`tls_insecure_skip_verify`).
    pub skip_verify: bool,
}

impl TlsTrust {
    /// The client configuration for this trust: one per plugin instance, so
    /// that a control connection's session can be resumed by its data
    /// connections (which servers such as vsftpd require).
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Other, format!("cannot set up TLS: {e}")))?;
        let config = if self.skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let mut pinned = Vec::new();
            for file in &self.ca_files {
                for cert in read_certificates(file)? {
                    // A server's own self-signed certificate is no CA: it
                    // is trusted as itself (pinned) rather than as a root.
                    let _ = roots.add(cert.clone());
                    pinned.push(cert);
                }
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| Error::new(ErrorKind::Other, format!("cannot set up TLS: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { pinned, webpki }))
                .with_no_client_auth()
        };
        Ok(Arc::new(config))
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, message)
}

fn read_certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(file)
        .map_err(|e| {
            invalid(format!(
                "tls_ca_file {}: cannot read it: {e}; give a PEM file of CA certificates",
                file.display()
            ))
        })?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            invalid(format!(
                "tls_ca_file {}: not valid PEM: {e}",
                file.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "tls_ca_file {}: no certificate in it (expected PEM blocks: -----BEGIN CERTIFICATE-----)",
            file.display()
        )));
    }
    Ok(certs)
}

/// The `wasi:tls` provider of one plugin instance.
pub(crate) struct Provider {
    config: Arc<ClientConfig>,
}

impl Provider {
    pub fn new(config: Arc<ClientConfig>) -> Self {
        Provider { config }
    }
}

impl TlsProvider for Provider {
    fn connect(
        &self,
        server_name: String,
        transport: Box<dyn TlsTransport>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<Box<dyn TlsStream>, wasmtime_wasi_tls::Error>,
                > + Send,
        >,
    > {
        let config = self.config.clone();
        Box::pin(async move {
            let name = ServerName::try_from(server_name.clone()).map_err(|_| {
                wasmtime_wasi_tls::Error::msg(format!("{server_name:?} is not a valid server name"))
            })?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, transport)
                .await
                .map_err(|e| match e.downcast::<rustls::Error>() {
                    Ok(e) => wasmtime_wasi_tls::Error::msg(e),
                    Err(e) => wasmtime_wasi_tls::Error::msg(e),
                })?;
            Ok(Box::new(stream) as Box<dyn TlsStream>)
        })
    }
}

/// The web PKI and the CAs of `tls_ca_file`, and, as curl and rclone do
/// with a self-signed certificate given as a CA, any certificate of
/// `tls_ca_file` presented exactly as it is (still for the right name):
/// NAS boxes and self-hosted MinIO servers often have nothing else.
#[derive(Debug)]
struct PinnedOrWebPki {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `tls_insecure_skip_verify`: signatures are still checked (the handshake
/// needs them), the certificate chain and name are not.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What a failed TLS check means for the user of a remote, and what to do
/// about it; `advice` says how that remote is given a CA certificate.
pub(crate) fn explain(problem: &rustls::Error, advice: &str) -> String {
    use rustls::CertificateError as C;
    let fix = |advice: &str| format!("the server's TLS certificate {advice}");
    match problem {
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => fix(&format!(
            "is not for this name ({problem}); reach the server by a name its certificate \
                 lists, or have a certificate made for the name you use"
        )),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => fix(&format!(
            "has expired ({problem}); the server needs a new certificate"
        )),
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => fix(
            &format!("is not valid yet ({problem}); check this machine's clock and the server's"),
        ),
        rustls::Error::InvalidCertificate(_) => fix(&format!(
            "is not trusted ({problem}); if you trust this server, put its certificate (a \
             self-signed one) or the CA certificate that signed it in a PEM file and {advice}"
        )),
        other => format!("the TLS handshake failed ({other})"),
    }
}
