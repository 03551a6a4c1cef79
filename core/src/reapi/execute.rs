//! Running one action on a REAPI cluster (Bazel Remote Execution API v2,
//! Execution.Execute): upload what the CAS lacks (`FindMissingBlobs`
//! first), call `Execute` (the server answers from its ActionCache when it
//! has the result, unless told to skip it), follow the operation stream to
//! its end, and download stdout, stderr and the output files, each
//! checked against its digest.

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    platform, Action, ActionResult, Command, Digest, ExecuteRequest, ExecuteResponse, Platform,
};
use bazel_remote_apis::google::longrunning::{operation, Operation};
use prost::Message;
use tonic::Code;

use super::cas::{Blob, Cas};
use super::client::{from_status, Connection};
use super::input_root::InputRoot;
use super::ReapiError;

/// One action to run: the command, the input root, and the action's
/// cache-relevant extras.
#[derive(Debug)]
pub(crate) struct ActionSpec {
    /// `argv` (the program first, as the worker resolves it).
    pub(crate) arguments: Vec<String>,
    /// Environment variables, sorted by name (REAPI v2, Command).
    pub(crate) environment: Vec<(String, String)>,
    /// Output file paths, relative to the working directory.
    pub(crate) outputs: Vec<String>,
    /// The working directory, relative to the input root (`""` is the root).
    pub(crate) working_directory: String,
    /// The input root.
    pub(crate) input_root: InputRoot,
    /// Bytes that make the action digest differ without changing the
    /// command (REAPI v2, Action.salt): e.g. the compiler identity.
    pub(crate) salt: Vec<u8>,
    /// Platform properties that select the workers, name and value.
    pub(crate) properties: Vec<(String, String)>,
}

/// What a remote execution produced.
#[derive(Debug, Default)]
pub(crate) struct Executed {
    /// The command's exit code.
    pub(crate) exit_code: i32,
    /// Its stdout.
    pub(crate) stdout: Vec<u8>,
    /// Its stderr.
    pub(crate) stderr: Vec<u8>,
    /// The output files it produced: path (as in [`ActionSpec::outputs`])
    /// and contents.
    pub(crate) outputs: Vec<(String, Vec<u8>)>,
    /// True when the server answered from its ActionCache.
    pub(crate) cached: bool,
    /// Bytes uploaded to the CAS for this action.
    pub(crate) bytes_up: u64,
    /// Bytes downloaded (stdout, stderr, outputs).
    pub(crate) bytes_down: u64,
}

/// The serialised Command and Action of `spec`, and the action's digest.
fn encode(spec: &ActionSpec) -> (Blob, Blob) {
    let mut environment: Vec<_> = spec
        .environment
        .iter()
        .map(|(name, value)| {
            bazel_remote_apis::build::bazel::remote::execution::v2::command::EnvironmentVariable {
                name: name.clone(),
                value: value.clone(),
            }
        })
        .collect();
    environment.sort_by(|a, b| a.name.cmp(&b.name));
    let mut outputs = spec.outputs.clone();
    outputs.sort();
    let command = Blob::new(
        Command {
            arguments: spec.arguments.clone(),
            environment_variables: environment,
            output_paths: outputs,
            working_directory: spec.working_directory.clone(),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    let action = Blob::new(
        Action {
            command_digest: Some(command.digest.clone()),
            input_root_digest: Some(spec.input_root.digest.clone()),
            salt: spec.salt.clone(),
            platform: platform_of(&spec.properties),
            ..Default::default()
        }
        .encode_to_vec(),
    );
    (command, action)
}

/// The Platform of `properties`, sorted by name then value (REAPI v2,
/// Platform); `None` when there are none.
pub(crate) fn platform_of(properties: &[(String, String)]) -> Option<Platform> {
    if properties.is_empty() {
        return None;
    }
    let mut properties: Vec<platform::Property> = properties
        .iter()
        .map(|(name, value)| platform::Property {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    properties.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
    Some(Platform { properties })
}

/// Run `spec` on the cluster behind `conn` (instance `instance`).
///
/// Errors: [`ReapiError`] for any failure of the service (transfer,
/// `Execute` refused, the operation failing with a status, a malformed
/// reply); a command that ran and exited non-zero is not an error.
pub(crate) async fn execute(
    conn: &Connection,
    instance: &str,
    spec: ActionSpec,
) -> Result<Executed, ReapiError> {
    let (command, action) = encode(&spec);
    let action_digest = action.digest.clone();
    let cas = Cas { conn, instance };
    let mut blobs = spec.input_root.blobs;
    blobs.push(command);
    blobs.push(action);
    let bytes_up = cas.upload_missing(&blobs).await?;
    let request = ExecuteRequest {
        instance_name: instance.to_string(),
        action_digest: Some(action_digest),
        skip_cache_lookup: false,
        ..Default::default()
    };
    let mut stream = conn
        .execution()
        .execute(request)
        .await
        .map_err(|s| from_status(&s))?
        .into_inner();
    let mut last: Option<Operation> = None;
    while let Some(op) = stream.message().await.map_err(|s| from_status(&s))? {
        let done = op.done;
        last = Some(op);
        if done {
            break;
        }
    }
    let response = finished_response(last)?;
    let mut executed = collect(&cas, response, &spec.outputs).await?;
    executed.bytes_up = bytes_up;
    Ok(executed)
}

/// The ExecuteResponse of the final operation.
///
/// Errors: [`ReapiError`] when the stream ended before the operation was
/// done, the operation failed, or the response carries a non-OK status.
fn finished_response(op: Option<Operation>) -> Result<ExecuteResponse, ReapiError> {
    let op =
        op.ok_or_else(|| ReapiError::Other("execute stream ended with no operation".into()))?;
    if !op.done {
        return Err(ReapiError::Other(format!(
            "execute stream ended before operation {} was done",
            op.name
        )));
    }
    let any = match op.result {
        Some(operation::Result::Response(any)) => any,
        Some(operation::Result::Error(status)) => return Err(status_error(status)),
        None => return Err(ReapiError::Other("operation done without a result".into())),
    };
    let response = ExecuteResponse::decode(any.value.as_slice())
        .map_err(|e| ReapiError::Other(format!("bad ExecuteResponse: {e}")))?;
    match &response.status {
        Some(status) if status.code != 0 => Err(status_error(status.clone())),
        _ => Ok(response),
    }
}

/// The error of a `google.rpc.Status` carried in a reply.
fn status_error(status: bazel_remote_apis::google::rpc::Status) -> ReapiError {
    from_status(&tonic::Status::new(
        Code::from_i32(status.code),
        status.message,
    ))
}

/// Download what `response` names: stdout, stderr and every output of
/// `wanted` it produced.
///
/// Errors: [`ReapiError`] from the CAS, or an output the CAS no longer
/// holds.
async fn collect(
    cas: &Cas<'_>,
    response: ExecuteResponse,
    wanted: &[String],
) -> Result<Executed, ReapiError> {
    let result: ActionResult = response
        .result
        .ok_or_else(|| ReapiError::Other("execute response without a result".into()))?;
    let mut executed = Executed {
        exit_code: result.exit_code,
        cached: response.cached_result,
        ..Default::default()
    };
    executed.stdout = stream_bytes(cas, result.stdout_raw, result.stdout_digest).await?;
    executed.stderr = stream_bytes(cas, result.stderr_raw, result.stderr_digest).await?;
    for file in result.output_files {
        if !wanted.contains(&file.path) {
            continue;
        }
        let digest = file
            .digest
            .ok_or_else(|| ReapiError::Other(format!("output {} without a digest", file.path)))?;
        let bytes = fetch(cas, file.contents, &digest).await?;
        executed.outputs.push((file.path, bytes));
    }
    executed.bytes_down = (executed.stdout.len() + executed.stderr.len()) as u64
        + executed
            .outputs
            .iter()
            .map(|(_, b)| b.len() as u64)
            .sum::<u64>();
    Ok(executed)
}

/// stdout or stderr: inline bytes, else the blob of `digest`, else empty.
async fn stream_bytes(
    cas: &Cas<'_>,
    raw: Vec<u8>,
    digest: Option<Digest>,
) -> Result<Vec<u8>, ReapiError> {
    match digest {
        Some(d) if raw.is_empty() && d.size_bytes > 0 => fetch(cas, raw, &d).await,
        _ => Ok(raw),
    }
}

/// The blob of `digest`: `inline` when it matches, else read from the CAS.
///
/// Errors: [`ReapiError::Other`] when the CAS does not hold it.
async fn fetch(cas: &Cas<'_>, inline: Vec<u8>, digest: &Digest) -> Result<Vec<u8>, ReapiError> {
    if !inline.is_empty() && super::cas::digest_of(&inline) == *digest {
        return Ok(inline);
    }
    cas.read(digest)
        .await?
        .ok_or_else(|| ReapiError::Other(format!("output blob {} is not in the CAS", digest.hash)))
}
