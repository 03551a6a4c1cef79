//! The action that stands for one cache object in a REAPI ActionCache:
//! Command `zccache-object <key>` with the single output path
//! [`OUTPUT`], an empty input root and the tier's platform properties.
//! Nothing ever executes it; its digest is the object's address in the
//! ActionCache (REAPI v2, Action; `do_not_cache` is false so the result
//! may be stored).

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    Action, ActionResult, Command, Digest, Directory, OutputFile,
};
use prost::Message;

use crate::reapi::cas::digest_of;
use crate::reapi::execute::platform_of;

/// The output path holding the object's bytes.
pub(super) const OUTPUT: &str = "object";
/// The first argument of every object action's Command.
const PROGRAM: &str = "zccache-object";

/// One object action, serialised, with its digest.
pub(super) struct ObjectAction {
    /// The serialised Command.
    pub(super) command: Vec<u8>,
    /// The serialised Action.
    pub(super) action: Vec<u8>,
    /// The serialised empty Directory (the input root).
    pub(super) input_root: Vec<u8>,
    /// The Action's digest: the ActionCache key.
    pub(super) digest: Digest,
}

impl ObjectAction {
    /// The action of the object under `key`, with the platform
    /// `properties` (REAPI wants them sorted by name).
    pub(super) fn new(key: &str, properties: &[(String, String)]) -> ObjectAction {
        let platform = platform_of(properties);
        let command = Command {
            arguments: vec![PROGRAM.to_string(), key.to_string()],
            output_paths: vec![OUTPUT.to_string()],
            ..Default::default()
        }
        .encode_to_vec();
        let input_root = Directory::default().encode_to_vec();
        let action = Action {
            command_digest: Some(digest_of(&command)),
            input_root_digest: Some(digest_of(&input_root)),
            platform,
            ..Default::default()
        }
        .encode_to_vec();
        let digest = digest_of(&action);
        ObjectAction {
            command,
            action,
            input_root,
            digest,
        }
    }
}

/// The object's output file of `result`, if it names one.
pub(super) fn output_of(result: ActionResult) -> Option<OutputFile> {
    result.output_files.into_iter().find(|f| f.path == OUTPUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_digest_per_key_and_platform() {
        let a = ObjectAction::new("e/00", &[]);
        assert_eq!(a.digest, ObjectAction::new("e/00", &[]).digest);
        assert_ne!(a.digest, ObjectAction::new("e/01", &[]).digest);
        let p1 = [("b".to_string(), "1".to_string()), ("a".into(), "2".into())];
        let p2 = [("a".to_string(), "2".to_string()), ("b".into(), "1".into())];
        let with = ObjectAction::new("e/00", &p1);
        assert_ne!(a.digest, with.digest);
        assert_eq!(with.digest, ObjectAction::new("e/00", &p2).digest);
        assert_eq!(a.digest.hash.len(), 64);
    }
}
