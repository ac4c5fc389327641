//! Every Unix (Linux, macOS, the BSDs): switching from root to an unprivileged account. On the
//! Unixes other than Linux this is the whole drop: they have no capabilities to clear and no
//! seccomp.

use nix::unistd::{setgid, setuid, Uid, User};

use super::DropOutcome;
use crate::capture::CaptureError;

/// Switches from root to `user` (default `nobody`): supplementary groups, group, then user.
/// `--user root` keeps root. Fails rather than carrying on as root.
pub fn switch_user(user: Option<&str>) -> Result<DropOutcome, CaptureError> {
    let name = user.unwrap_or("nobody");
    if name == "root" {
        return Ok(DropOutcome::KeptRoot);
    }
    let err = |what: &str, e: nix::Error| {
        CaptureError::Privileges(format!(
            "cannot switch to user {name:?} after opening the capture: {what}: {e}. \
             Pick another account with --user NAME"
        ))
    };
    let account = User::from_name(name)
        .map_err(|e| err("looking up the account", e))?
        .ok_or_else(|| {
            CaptureError::Privileges(format!(
                "no account named {name:?} to switch to after opening the capture. \
                 Pick an existing account with --user NAME"
            ))
        })?;
    set_groups(account.gid).map_err(|e| err("setgroups", e))?;
    setgid(account.gid).map_err(|e| err("setgid", e))?;
    setuid(account.uid).map_err(|e| err("setuid", e))?;
    if Uid::effective().is_root() || Uid::current().is_root() {
        return Err(CaptureError::Privileges(
            "still root after setuid; refusing to parse packets as root".into(),
        ));
    }
    Ok(DropOutcome::Switched {
        user: name.to_string(),
        uid: account.uid.as_raw(),
    })
}

/// Leaves the account's group as the only supplementary group (root's, such as `wheel`, go).
#[cfg(not(target_vendor = "apple"))]
fn set_groups(gid: nix::unistd::Gid) -> nix::Result<()> {
    nix::unistd::setgroups(&[gid])
}

/// Apple's libc has setgroups(2), but nix leaves it out (its group list semantics differ for
/// more than 16 groups, which does not matter for one).
#[cfg(target_vendor = "apple")]
#[allow(unsafe_code)] // setgroups(2) with a one-element array that outlives the call.
fn set_groups(gid: nix::unistd::Gid) -> nix::Result<()> {
    let groups = [gid.as_raw()];
    // SAFETY: `groups` is a valid array of one gid_t for the duration of the call.
    let ret = unsafe { libc::setgroups(1, groups.as_ptr()) };
    nix::errno::Errno::result(ret).map(drop)
}

/// Unix without Linux: no capabilities, no seccomp.
#[cfg(not(target_os = "linux"))]
pub mod other {
    use super::super::DropOutcome;
    use crate::capture::CaptureError;

    /// Switches to `user` when running as root; nothing to drop otherwise (libpcap was opened
    /// through the permissions of /dev/bpf*).
    pub fn drop_privileges(user: Option<&str>) -> Result<DropOutcome, CaptureError> {
        if !nix::unistd::Uid::effective().is_root() {
            return Ok(DropOutcome::NotRoot);
        }
        super::switch_user(user)
    }

    /// No system-call filter outside Linux.
    pub fn refuse_dangerous_syscalls() -> Result<(), String> {
        Err("no system-call filter on this system (seccomp is Linux's)".into())
    }
}
