//! The client/daemon protocol, from the `zccache-client` crate (shared with
//! the lean launcher): message types ([`protocol`]), length-prefixed
//! versioned frames ([`framing`]) and the blocking connection ([`client`]).

pub use zccache_client::connection as client;
pub use zccache_client::framing;
pub use zccache_client::protocol;

pub use protocol::{
    AdminRequest, CompileRequest, ErrorKind, ExecReport, ExecRequest, FingerprintRequest, FpOp,
    Request, Response, RustWarmRequest, SessionRequest, SessionStats, StatusReport, TierReport,
    WarmFile, WarmGroup, WarmGroupListing, WarmListing, WarmRestoreReport, WarmSaveReport,
    PROTOCOL_VERSION,
};
