//! Telling a service manager (systemd's `Type=notify`) where the process is in its life:
//! `READY=1` once it serves, `RELOADING=1` … `READY=1` around a SIGHUP reload, `STOPPING=1` when
//! it starts to drain. Without it, `systemctl start` would return as soon as the process
//! exists, and a deploy script would send traffic to a server still rebuilding its books.
//!
//! The protocol is one datagram per message to the Unix socket named by `NOTIFY_SOCKET` (a
//! path, or an abstract name when it starts with `@`). No manager, no variable: nothing is sent
//! and nothing fails. A manager that is there but cannot be told is logged, not fatal: the
//! process serves either way, and the unit's start timeout reports it.

use std::io;
use std::os::unix::net::UnixDatagram;

/// A state change the manager is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ready,
    Reloading,
    Stopping,
}

impl State {
    /// The message as the protocol spells it. (A reload sends no `MONOTONIC_USEC`: only
    /// `Type=notify-reload`, systemd 253+, needs it, and the units use `Type=notify`.)
    fn message(self) -> &'static str {
        match self {
            State::Ready => "READY=1",
            State::Reloading => "RELOADING=1",
            State::Stopping => "STOPPING=1",
        }
    }
}

/// Tells the manager named by `NOTIFY_SOCKET`, if any; a failure is logged.
pub fn notify(state: State) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let socket = socket.to_string_lossy().into_owned();
    if let Err(e) = notify_to(&socket, state) {
        tracing::warn!(socket = %socket, error = %e, state = ?state, "cannot notify the service manager");
    }
}

/// Sends `state` to the socket `socket` (a path, or `@name` for an abstract one).
pub fn notify_to(socket: &str, state: State) -> io::Result<()> {
    let sender = UnixDatagram::unbound()?;
    let message = state.message();
    match socket.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sender.send_to_addr(message.as_bytes(), &address)?;
        }
        #[cfg(not(target_os = "linux"))]
        Some(_) => return Err(io::Error::new(io::ErrorKind::Unsupported, "abstract sockets are Linux only")),
        None => {
            sender.send_to(message.as_bytes(), socket)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a datagram");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn each_state_reaches_a_path_socket_as_the_protocol_spells_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let manager = UnixDatagram::bind(&path).expect("bind");
        let path = path.to_string_lossy().into_owned();
        notify_to(&path, State::Ready).expect("ready");
        assert_eq!(received(&manager), "READY=1");
        notify_to(&path, State::Reloading).expect("reloading");
        assert_eq!(received(&manager), "RELOADING=1");
        notify_to(&path, State::Stopping).expect("stopping");
        assert_eq!(received(&manager), "STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_abstract_socket_is_reached_by_its_at_name() {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("kairos-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
        let manager = UnixDatagram::bind_addr(&address).expect("bind");
        notify_to(&format!("@{name}"), State::Ready).expect("ready");
        assert_eq!(received(&manager), "READY=1");
    }

    #[test]
    fn a_socket_nobody_listens_on_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(notify_to(&dir.path().join("absent").to_string_lossy(), State::Ready).is_err());
    }
}
