//! The client side of the zccache daemon, shared by the lean `zccache`
//! launcher and the full `zccache-daemon` program: the wire messages
//! ([`protocol`]), length-prefixed versioned frames ([`framing`]), one
//! blocking connection ([`connection`]), which mode an argv selects
//! ([`dispatch`]), and where the cache dir, its socket and the real
//! compiler are ([`locate`]). It has no async runtime and no C code, so the
//! launcher built on it starts in a fraction of a millisecond.

pub mod connection;
pub mod dispatch;
pub mod framing;
pub mod locate;
pub mod protocol;
