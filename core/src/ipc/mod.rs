//! The client/daemon protocol: message types ([`protocol`]), length-prefixed
//! versioned frames ([`framing`]) and the blocking client ([`client`]).

pub mod client;
pub mod framing;
pub mod protocol;

pub use protocol::{
    AdminRequest, CompileRequest, ErrorKind, ExecReport, ExecRequest, FingerprintRequest, FpOp,
    Request, Response, RustWarmRequest, SessionRequest, SessionStats, StatusReport, TierReport,
    WarmFile, WarmGroup, WarmGroupListing, WarmListing, WarmRestoreReport, WarmSaveReport,
    PROTOCOL_VERSION,
};
