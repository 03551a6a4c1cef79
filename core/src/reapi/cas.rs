//! Blobs in a REAPI server's CAS (Bazel Remote Execution API v2,
//! ContentAddressableStorage and google.bytestream): SHA-256 digests,
//! `FindMissingBlobs` before every upload, small blobs in one
//! `BatchUpdateBlobs`/`BatchReadBlobs` call, bigger ones streamed through
//! ByteStream in chunks. Every blob read back is checked against its
//! digest before it is used.

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    batch_update_blobs_request, BatchReadBlobsRequest, BatchUpdateBlobsRequest, Digest,
    FindMissingBlobsRequest,
};
use bazel_remote_apis::google::bytestream::{ReadRequest, WriteRequest};
use sha2::{Digest as _, Sha256};
use tonic::Code;

use super::client::{from_status, Connection};
use super::ReapiError;

/// Blobs up to this size (bytes) travel in batch calls; bigger ones
/// through ByteStream (REAPI servers accept batches of at least 4 MiB).
const BATCH_LIMIT: usize = 1024 * 1024;
/// ByteStream chunk size for uploads, in bytes.
const CHUNK: usize = 1024 * 1024;
/// The largest blob read, in bytes (a digest from the server naming more is
/// refused before anything is allocated).
const MAX_BLOB: usize = 4 << 30;
/// The most memory reserved up front for a streamed read, in bytes.
const MAX_RESERVE: usize = 64 << 20;

/// The REAPI digest (SHA-256, lower-case hex, size in bytes) of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> Digest {
    Digest {
        hash: hex(&Sha256::digest(bytes)),
        size_bytes: bytes.len() as i64,
    }
}

/// A blob with its digest, ready to upload.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    /// Its digest.
    pub(crate) digest: Digest,
    /// Its bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Blob {
    /// The blob of `bytes`.
    pub(crate) fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            digest: digest_of(&bytes),
            bytes,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One instance of a CAS: the connection and the instance name.
pub(crate) struct Cas<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) instance: &'a str,
}

impl Cas<'_> {
    /// The digests among `digests` the server does not hold.
    ///
    /// Errors: [`ReapiError`] from the call.
    pub(crate) async fn find_missing(&self, digests: &[Digest]) -> Result<Vec<Digest>, ReapiError> {
        let request = FindMissingBlobsRequest {
            instance_name: self.instance.to_string(),
            blob_digests: digests.to_vec(),
            ..Default::default()
        };
        let reply = self.conn.cas().find_missing_blobs(request).await;
        Ok(reply
            .map_err(|s| from_status(&s))?
            .into_inner()
            .missing_blob_digests)
    }

    /// Upload the blobs of `blobs` the server does not hold yet; returns
    /// the bytes sent.
    ///
    /// Errors: [`ReapiError`] from a call, or a blob the server refused.
    pub(crate) async fn upload_missing(&self, blobs: &[Blob]) -> Result<u64, ReapiError> {
        let digests: Vec<Digest> = blobs.iter().map(|b| b.digest.clone()).collect();
        let missing: std::collections::HashSet<Digest> =
            self.find_missing(&digests).await?.into_iter().collect();
        let mut batch: Vec<(Digest, &[u8])> = Vec::new();
        let mut sent = std::collections::HashSet::new();
        let mut bytes_sent = 0u64;
        for blob in blobs {
            if !missing.contains(&blob.digest) || !sent.insert(blob.digest.clone()) {
                continue;
            }
            bytes_sent += blob.bytes.len() as u64;
            if blob.bytes.len() > BATCH_LIMIT {
                self.write_stream(&blob.digest, &blob.bytes).await?;
            } else {
                batch.push((blob.digest.clone(), &blob.bytes));
            }
        }
        self.write_batches(&batch).await?;
        Ok(bytes_sent)
    }

    /// `BatchUpdateBlobs` calls of at most [`BATCH_LIMIT`] bytes each.
    async fn write_batches(&self, blobs: &[(Digest, &[u8])]) -> Result<(), ReapiError> {
        let mut start = 0;
        while start < blobs.len() {
            let mut end = start;
            let mut size = 0;
            while end < blobs.len() && (end == start || size + blobs[end].1.len() <= BATCH_LIMIT) {
                size += blobs[end].1.len();
                end += 1;
            }
            self.write_batch(&blobs[start..end]).await?;
            start = end;
        }
        Ok(())
    }

    async fn write_batch(&self, blobs: &[(Digest, &[u8])]) -> Result<(), ReapiError> {
        let requests = blobs
            .iter()
            .map(|(digest, bytes)| batch_update_blobs_request::Request {
                digest: Some(digest.clone()),
                data: bytes.to_vec(),
                ..Default::default()
            })
            .collect();
        let request = BatchUpdateBlobsRequest {
            instance_name: self.instance.to_string(),
            requests,
            ..Default::default()
        };
        let reply = self.conn.cas().batch_update_blobs(request).await;
        for response in reply.map_err(|s| from_status(&s))?.into_inner().responses {
            let status = response.status.unwrap_or_default();
            if status.code != 0 {
                return Err(ReapiError::Other(format!(
                    "upload refused: code {} {}",
                    status.code, status.message
                )));
            }
        }
        Ok(())
    }

    /// Stream one blob through ByteStream `Write`.
    async fn write_stream(&self, digest: &Digest, bytes: &[u8]) -> Result<(), ReapiError> {
        let resource = format!(
            "{}uploads/{}/blobs/{}/{}",
            prefix(self.instance),
            uuid::Uuid::new_v4(),
            digest.hash,
            digest.size_bytes
        );
        let chunks: Vec<WriteRequest> = bytes
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| WriteRequest {
                resource_name: if i == 0 {
                    resource.clone()
                } else {
                    String::new()
                },
                write_offset: (i * CHUNK) as i64,
                finish_write: (i + 1) * CHUNK >= bytes.len(),
                data: chunk.to_vec(),
            })
            .collect();
        let reply = self
            .conn
            .byte_stream()
            .write(tokio_stream::iter(chunks))
            .await
            .map_err(|s| from_status(&s))?;
        match reply.into_inner().committed_size {
            n if n == digest.size_bytes => Ok(()),
            n => Err(ReapiError::Other(format!(
                "upload of {} bytes committed {n}",
                digest.size_bytes
            ))),
        }
    }

    /// The blob of `digest`, checked against it; `None` when the server
    /// does not hold it.
    ///
    /// Errors: [`ReapiError`] from a call; [`ReapiError::Other`] when the
    /// bytes do not match the digest.
    pub(crate) async fn read(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ReapiError> {
        let size = usize::try_from(digest.size_bytes)
            .ok()
            .filter(|&n| n <= MAX_BLOB)
            .ok_or_else(|| ReapiError::Other(format!("bad blob size {}", digest.size_bytes)))?;
        let bytes = if size > BATCH_LIMIT {
            self.read_stream(digest, size).await?
        } else {
            self.read_batch(digest).await?
        };
        match bytes {
            Some(b) if digest_of(&b) != *digest => Err(ReapiError::Other(format!(
                "blob {} does not match its digest",
                digest.hash
            ))),
            other => Ok(other),
        }
    }

    async fn read_batch(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ReapiError> {
        let request = BatchReadBlobsRequest {
            instance_name: self.instance.to_string(),
            digests: vec![digest.clone()],
            ..Default::default()
        };
        let reply = self.conn.cas().batch_read_blobs(request).await;
        let responses = reply.map_err(|s| from_status(&s))?.into_inner().responses;
        let Some(response) = responses
            .into_iter()
            .find(|r| r.digest.as_ref() == Some(digest))
        else {
            return Err(ReapiError::Other("batch read answered another blob".into()));
        };
        let status = response.status.unwrap_or_default();
        match Code::from_i32(status.code) {
            Code::Ok => Ok(Some(response.data)),
            Code::NotFound => Ok(None),
            _ => Err(from_status(&tonic::Status::new(
                Code::from_i32(status.code),
                status.message,
            ))),
        }
    }

    /// Read one blob through ByteStream `Read`, refusing more than `size`
    /// bytes.
    async fn read_stream(
        &self,
        digest: &Digest,
        size: usize,
    ) -> Result<Option<Vec<u8>>, ReapiError> {
        let request = ReadRequest {
            resource_name: format!(
                "{}blobs/{}/{}",
                prefix(self.instance),
                digest.hash,
                digest.size_bytes
            ),
            read_offset: 0,
            read_limit: 0,
        };
        let mut stream = match self.conn.byte_stream().read(request).await {
            Ok(reply) => reply.into_inner(),
            Err(s) if s.code() == Code::NotFound => return Ok(None),
            Err(s) => return Err(from_status(&s)),
        };
        let mut bytes = Vec::with_capacity(size.min(MAX_RESERVE));
        loop {
            match stream.message().await {
                Ok(Some(chunk)) if bytes.len() + chunk.data.len() <= size => {
                    bytes.extend_from_slice(&chunk.data)
                }
                Ok(Some(_)) => return Err(ReapiError::Other("blob longer than its digest".into())),
                Ok(None) => return Ok(Some(bytes)),
                Err(s) if s.code() == Code::NotFound => return Ok(None),
                Err(s) => return Err(from_status(&s)),
            }
        }
    }
}

/// The resource-name prefix of an instance (`NAME/`, or nothing for the
/// default instance).
fn prefix(instance: &str) -> String {
    if instance.is_empty() {
        String::new()
    } else {
        format!("{instance}/")
    }
}
