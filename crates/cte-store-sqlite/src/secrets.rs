//! Encryption of tenant tokens at rest: XChaCha20-Poly1305 with a 256-bit key kept in a file beside
//! the database (`<db>.key`, created on first use with mode 0600), so that a copy of `cte.db` alone
//! does not reveal the tokens. Each value is bound to its row and column as associated data.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::SqliteError;

const NONCE_LEN: usize = 24;

/// The key file that belongs to a database file.
pub(crate) fn key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Seals and opens token values.
pub(crate) struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// Loads the key beside `db`, creating it (mode 0600) if it does not exist.
    pub(crate) fn open_or_create(db: &Path) -> Result<SecretBox, SqliteError> {
        let path = key_path(db);
        let key = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(bytes) => {
                return Err(SqliteError::Key(format!(
                    "{} holds {} bytes; a key is 32",
                    path.display(),
                    bytes.len()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key(&path)?,
            Err(e) => {
                return Err(SqliteError::Key(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let cipher =
            XChaCha20Poly1305::new_from_slice(&key).map_err(|e| SqliteError::Key(e.to_string()))?;
        Ok(SecretBox { cipher })
    }

    pub(crate) fn seal(&self, plain: &str, context: &str) -> Result<Vec<u8>, SqliteError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SqliteError::Key("encryption failed".into()))?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(crate) fn open(&self, sealed: &[u8], context: &str) -> Result<String, SqliteError> {
        if sealed.len() < NONCE_LEN {
            return Err(SqliteError::Key(format!(
                "sealed value for {context} is truncated"
            )));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                SqliteError::Key(format!(
                    "cannot decrypt {context}: the key file does not match this database"
                ))
            })?;
        String::from_utf8(plain).map_err(|_| SqliteError::Key(format!("{context} is not UTF-8")))
    }
}

fn create_key(path: &Path) -> Result<Vec<u8>, SqliteError> {
    let key = XChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
    write_private(path, &key).map_err(SqliteError::Key)?;
    Ok(key)
}

/// Writes `bytes` to the new file `path`, readable by its owner only (mode 0600), and syncs it;
/// the error says which step failed on which file.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
