//! The blocking client: one Unix-socket connection, one request, one reply.
//! No async runtime, so a launcher starts in well under a millisecond.

use super::framing::{read_frame, write_frame, FrameError};
use super::protocol::{Request, Response};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Longest wait for any single frame, including between the daemon's
/// one-per-second `Working` heartbeats. A daemon silent this long is wedged.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the daemon.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connect to the daemon's socket.
    ///
    /// Errors: the connect error (NotFound / ConnectionRefused when no
    /// daemon listens).
    pub fn connect(socket: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(FRAME_TIMEOUT))?;
        stream.set_write_timeout(Some(FRAME_TIMEOUT))?;
        Ok(Client { stream })
    }

    /// Send `req` and return the first reply that is not a `Working`
    /// heartbeat.
    ///
    /// Errors: [`FrameError`]: I/O (daemon died or timed out), version
    /// mismatch, or an undecodable reply.
    pub fn call(&mut self, req: &Request) -> Result<Response, FrameError> {
        write_frame(&mut self.stream, req)?;
        loop {
            match read_frame::<_, Response>(&mut self.stream)? {
                Response::Working => continue,
                other => return Ok(other),
            }
        }
    }
}
