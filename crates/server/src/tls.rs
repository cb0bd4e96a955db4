//! TLS configuration: certificate files, or a self-signed certificate kept in the data dir.

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use std::path::Path;

pub async fn from_files(cert: &Path, key: &Path) -> anyhow::Result<RustlsConfig> {
    RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| {
            format!(
                "cannot load TLS certificate {} / key {}",
                cert.display(),
                key.display()
            )
        })
}

/// Makes `tls/self-signed.crt` and `.key` on first use and reuses them afterwards, so
/// browsers that accepted the certificate keep accepting it.
pub async fn self_signed(data_dir: &Path) -> anyhow::Result<RustlsConfig> {
    let dir = data_dir.join("tls");
    let cert = dir.join("self-signed.crt");
    let key = dir.join("self-signed.key");
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(&dir)?;
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let made = rcgen::generate_simple_self_signed(names)
            .context("generating a self-signed certificate")?;
        std::fs::write(&cert, made.cert.pem())?;
        write_private(&key, made.key_pair.serialize_pem().as_bytes())?;
        tracing::info!(cert = %cert.display(), "created a self-signed certificate");
    }
    from_files(&cert, &key).await
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}
