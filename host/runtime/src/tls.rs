//! TLS for plugins that speak raw TCP (FTP's AUTH TLS, implicit FTPS):
//! the plugin hands its socket's streams to the host through `wasi:tls`
//! and gets plaintext streams back. The host does the handshake and the
//! certificate checks, so a plugin never holds keys and cannot weaken
//! verification; what it trusts is the remote's configuration:
//!
//! - the public web PKI (Mozilla's roots, as for HTTPS), plus
//! - `tls_ca_file`: a PEM file of further CA certificates (a NAS's or a
//!   company's own CA), and
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
            for file in &self.ca_files {
                for cert in read_certificates(file)? {
                    roots.add(cert).map_err(|e| {
                        invalid(format!(
                            "tls_ca_file {}: a certificate in it is not a usable CA: {e}",
                            file.display()
                        ))
                    })?;
                }
            }
            builder.with_root_certificates(roots).with_no_client_auth()
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
