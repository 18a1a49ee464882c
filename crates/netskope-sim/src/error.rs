//! Errors of the simulator library (startup, configuration, snapshots).

use std::path::PathBuf;

/// What can go wrong outside of request handling. Request errors are HTTP answers, not `SimError`s.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The snapshot file could not be read or written.
    #[error("snapshot {path}: {source}")]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The snapshot file is not valid JSON of the expected shape.
    #[error("snapshot {path}: {source}")]
    SnapshotFormat {
        /// The snapshot file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The self-signed certificate could not be generated or loaded.
    #[error("tls: {0}")]
    Tls(String),
}

impl From<SimError> for std::io::Error {
    fn from(err: SimError) -> Self {
        match err {
            SimError::Snapshot { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        }
    }
}
