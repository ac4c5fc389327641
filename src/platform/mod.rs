//! What differs between operating systems, behind one small interface: giving up privileges once
//! the capture handle is open, and refusing dangerous system calls after it. One module per kind
//! of system: `linux` (account switch, capabilities cleared, a seccomp filter), `unix` (macOS and
//! the BSDs: the account switch), `none` (Windows: nothing to drop, and the capture says so).
//! Nothing else in plainsight asks which system it runs on, except libpcap's way of waiting for
//! packets (`capture/live`).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(not(unix))]
mod none;
#[cfg(unix)]
mod unix;

#[cfg(target_os = "linux")]
pub use linux::{drop_privileges, refuse_dangerous_syscalls};
#[cfg(not(unix))]
pub use none::{drop_privileges, refuse_dangerous_syscalls};
#[cfg(all(unix, not(target_os = "linux")))]
pub use unix::other::{drop_privileges, refuse_dangerous_syscalls};

/// What the drop did, for a line on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropOutcome {
    /// Switched from root to this account.
    Switched { user: String, uid: u32 },
    /// `--user root`: root kept, on request.
    KeptRoot,
    /// Linux, not root to begin with: capabilities (from setcap) cleared.
    CapabilitiesCleared,
    /// Another Unix, not root to begin with: nothing to drop.
    NotRoot,
    /// No account switch on this system (Windows).
    NotAvailable,
}
