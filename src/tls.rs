//! TLS for the listener (rustls with the ring provider).
//!
//! With `tls_cert`/`tls_key` configured, those PEM files are used. With neither,
//! a self-signed certificate for `localhost`, `127.0.0.1` and `::1` is generated
//! into `generated_cert_dir` on first start and reused afterwards, so a fresh
//! checkout serves HTTPS with no setup (`certs/README.md` says how to use a real one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

use crate::config::ServerConfig as ServerSection;

pub const GENERATED_CERT: &str = "server.crt";
pub const GENERATED_KEY: &str = "server.key";

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("cannot write the generated certificate into {dir}: {source}")]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("certificate and key do not form a usable TLS config: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Which certificate the server ended up with (logged at start-up).
#[derive(Debug, Clone)]
pub enum CertOrigin {
    Configured { cert: PathBuf },
    Generated { cert: PathBuf },
    Reused { cert: PathBuf },
}

/// Builds the rustls server config for the `[server]` section.
pub fn server_config(server: &ServerSection) -> Result<(ServerConfig, CertOrigin), TlsError> {
    let (cert_path, key_path, origin) = match (&server.tls_cert, &server.tls_key) {
        (Some(c), Some(k)) => (
            c.clone(),
            k.clone(),
            CertOrigin::Configured { cert: c.clone() },
        ),
        _ => ensure_self_signed(&server.generated_cert_dir)?,
    };
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Read {
            what: "certificate",
            path: cert_path.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_path });
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|source| TlsError::Read {
        what: "private key",
        path: key_path.clone(),
        source,
    })?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    Ok((config, origin))
}

/// Returns the generated certificate, creating it if either file is missing.
fn ensure_self_signed(dir: &Path) -> Result<(PathBuf, PathBuf, CertOrigin), TlsError> {
    let cert = dir.join(GENERATED_CERT);
    let key = dir.join(GENERATED_KEY);
    if cert.exists() && key.exists() {
        return Ok((cert.clone(), key, CertOrigin::Reused { cert }));
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let generated = rcgen::generate_simple_self_signed(names)?;
    let write_err = |source| TlsError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes()).map_err(write_err)?;
    std::fs::write(&cert, generated.cert.pem()).map_err(write_err)?;
    Ok((cert.clone(), key, CertOrigin::Generated { cert }))
}

/// Writes the private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
