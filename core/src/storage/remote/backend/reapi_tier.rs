//! A REAPI tier (`grpc://`, `grpcs://`; Bazel Remote Execution API v2): the
//! cache objects of the remote chain (entry records, manifests, blobs)
//! kept in a REAPI server's ActionCache and CAS, so the clusters teams
//! already run (Buildbarn, BuildBuddy, NativeLink, BuildGrid, EngFlow,
//! buildbox-casd) serve as a shared tier.
//!
//! Each object under key `k` is the single output file of an
//! [object action](super::reapi_object): the Command `zccache-object <k>` with an empty input root,
//! whose ActionResult names the object's bytes in the CAS by their SHA-256
//! digest (ccache's `layout=bazel` keeps its objects in bazel-remote's
//! action cache the same way). `get` is `GetActionResult` plus a CAS read
//! checked against the digest; `put` uploads what `FindMissingBlobs` says
//! is missing (the object, the Command, the Action, the empty Directory),
//! then `UpdateActionResult`; `exists` also checks the CAS still holds
//! the object, since a CAS may evict it before the AC entry.

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    ActionResult, GetActionResultRequest, OutputFile, UpdateActionResultRequest,
};
use std::time::Duration;
use tonic::Code;

use super::super::spec::TierSpec;
use super::reapi_object::{self as object, ObjectAction};
use super::{Backend, RemoteError};
use crate::net_runtime as runtime;
use crate::reapi::cas::{digest_of, Blob, Cas};
use crate::reapi::client::{from_status, Connection, Settings};
use crate::reapi::ReapiError;

/// The client of one REAPI server and instance.
pub(super) struct ReapiTier {
    conn: Connection,
    instance: String,
    /// Platform properties of the object actions.
    properties: Vec<(String, String)>,
    timeout: Duration,
}

impl ReapiTier {
    /// The client of the server at `url` with the settings of `spec`.
    ///
    /// Errors: [`RemoteError::Other`] for an endpoint or header tonic
    /// rejects.
    pub(super) fn open(url: &str, spec: &TierSpec) -> Result<ReapiTier, RemoteError> {
        let settings = Settings {
            connect_timeout: spec.connect_timeout,
            headers: spec.reapi.headers.clone(),
        };
        Ok(ReapiTier {
            conn: Connection::open(url, &settings).map_err(RemoteError::from)?,
            instance: spec.reapi.instance.clone(),
            properties: spec.reapi.properties.clone(),
            timeout: spec.timeout + spec.connect_timeout,
        })
    }

    fn cas(&self) -> Cas<'_> {
        Cas {
            conn: &self.conn,
            instance: &self.instance,
        }
    }

    /// The ActionResult of `action`, or `None` when the server has none.
    async fn action_result(
        &self,
        action: &ObjectAction,
    ) -> Result<Option<ActionResult>, ReapiError> {
        let request = GetActionResultRequest {
            instance_name: self.instance.clone(),
            action_digest: Some(action.digest.clone()),
            inline_output_files: vec![object::OUTPUT.to_string()],
            ..Default::default()
        };
        match self.conn.action_cache().get_action_result(request).await {
            Ok(reply) => Ok(Some(reply.into_inner())),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(from_status(&s)),
        }
    }

    /// The object's bytes named by `result`: inline when the server sent
    /// them (checked against the digest), else read from the CAS; `None`
    /// when the CAS no longer holds them.
    async fn object_bytes(&self, result: ActionResult) -> Result<Option<Vec<u8>>, ReapiError> {
        let Some(file) = object::output_of(result) else {
            return Err(ReapiError::Other("action result names no object".into()));
        };
        let Some(digest) = file.digest else {
            return Err(ReapiError::Other("object output without a digest".into()));
        };
        if !file.contents.is_empty() && digest_of(&file.contents) == digest {
            return Ok(Some(file.contents));
        }
        self.cas().read(&digest).await
    }
}

impl Backend for ReapiTier {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let action = ObjectAction::new(key, &self.properties);
        let got = runtime::run::<_, ReapiError, _>(self.timeout, async {
            match self.action_result(&action).await? {
                Some(result) => self.object_bytes(result).await,
                None => Ok(None),
            }
        });
        got.map_err(RemoteError::from)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        let action = ObjectAction::new(key, &self.properties);
        let put = runtime::run::<_, ReapiError, _>(self.timeout, async {
            let blobs = [
                Blob::new(bytes.to_vec()),
                Blob::new(action.command.clone()),
                Blob::new(action.action.clone()),
                Blob::new(action.input_root.clone()),
            ];
            self.cas().upload_missing(&blobs).await?;
            let result = ActionResult {
                output_files: vec![OutputFile {
                    path: object::OUTPUT.to_string(),
                    digest: Some(blobs[0].digest.clone()),
                    ..Default::default()
                }],
                exit_code: 0,
                ..Default::default()
            };
            let request = UpdateActionResultRequest {
                instance_name: self.instance.clone(),
                action_digest: Some(action.digest.clone()),
                action_result: Some(result),
                ..Default::default()
            };
            let reply = self.conn.action_cache().update_action_result(request).await;
            reply.map(|_| ()).map_err(|s| from_status(&s))
        });
        put.map_err(RemoteError::from)
    }

    fn exists(&self, key: &str) -> Result<bool, RemoteError> {
        let action = ObjectAction::new(key, &self.properties);
        runtime::run::<_, ReapiError, _>(self.timeout, async {
            let Some(result) = self.action_result(&action).await? else {
                return Ok(false);
            };
            let Some(digest) = object::output_of(result).and_then(|f| f.digest) else {
                return Ok(false);
            };
            Ok(self.cas().find_missing(&[digest]).await?.is_empty())
        })
        .map_err(RemoteError::from)
    }
}

impl From<ReapiError> for RemoteError {
    fn from(err: ReapiError) -> RemoteError {
        match err {
            ReapiError::Timeout => RemoteError::Timeout,
            ReapiError::Connect(m) => RemoteError::Connect(m),
            ReapiError::Denied(m) => RemoteError::Denied(m),
            ReapiError::Other(m) => RemoteError::Other(m),
        }
    }
}
