//! Where backups live: `file:///dir` (a local directory, for dev and single hosts) or
//! `s3://bucket/prefix` on any S3-compatible store, both through object_store so the code
//! that writes, lists and deletes is the same.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;

use super::BackupError;

/// An opened backup location.
#[derive(Debug, Clone)]
pub struct Location {
    pub store: Arc<dyn ObjectStore>,
    /// Every object's key starts with this (empty for a directory's root).
    pub prefix: Path,
    /// The URL as configured, without a trailing slash.
    pub url: String,
}

impl Location {
    /// Opens `url`. S3 reads its credentials, region and endpoint from the usual `AWS_*`
    /// variables (`AWS_ENDPOINT_URL` for MinIO, moto or another S3-compatible store; plain
    /// http is allowed only for such an explicit endpoint).
    pub fn open(url: &str) -> Result<Location, BackupError> {
        let url = url.trim_end_matches('/').to_string();
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir).map_err(|e| BackupError::Location(format!("{dir}: {e}")))?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| BackupError::Location(format!("{dir}: {e}")))?;
            return Ok(Location { store: Arc::new(store), prefix: Path::default(), url });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT")).ok();
            if let Some(endpoint) = endpoint {
                builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
            }
            let store = builder.build().map_err(|e| BackupError::Location(format!("{url}: {e}")))?;
            return Ok(Location { store: Arc::new(store), prefix: Path::from(prefix), url });
        }
        Err(BackupError::Location(format!("{url}: must be file:///dir or s3://bucket/prefix")))
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> Path {
        self.prefix.child(name)
    }

    /// The URL an object is found at, as printed to operators.
    pub fn url_of(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }
}
