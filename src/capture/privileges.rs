//! Dropping privileges right after the capture handle is open.
//!
//! The capture handle is the only thing that needs root (or CAP_NET_RAW); everything after it
//! parses hostile bytes, so it runs as an unprivileged account.

use nix::unistd::{setgid, setgroups, setuid, Uid, User};

use super::CaptureError;

/// What the drop did, for a line on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropOutcome {
    /// Switched from root to this account.
    Switched { user: String, uid: u32 },
    /// `--user root`: root kept, on request.
    KeptRoot,
    /// Not root to begin with: capabilities (from setcap) cleared.
    CapabilitiesCleared,
}

/// Switches to `user` (default `nobody`) when running as root; otherwise clears every capability
/// this process holds. Fails rather than carrying on privileged.
pub fn drop_privileges(user: Option<&str>) -> Result<DropOutcome, CaptureError> {
    if !Uid::effective().is_root() {
        clear_capabilities()?;
        return Ok(DropOutcome::CapabilitiesCleared);
    }
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
    setgroups(&[account.gid]).map_err(|e| err("setgroups", e))?;
    setgid(account.gid).map_err(|e| err("setgid", e))?;
    setuid(account.uid).map_err(|e| err("setuid", e))?;
    if Uid::effective().is_root() || Uid::current().is_root() {
        return Err(CaptureError::Privileges(
            "still root after setuid; refusing to parse packets as root".into(),
        ));
    }
    clear_capabilities()?;
    Ok(DropOutcome::Switched {
        user: name.to_string(),
        uid: account.uid.as_raw(),
    })
}

fn clear_capabilities() -> Result<(), CaptureError> {
    use caps::CapSet;
    for set in [CapSet::Effective, CapSet::Permitted, CapSet::Inheritable] {
        caps::clear(None, set).map_err(|e| {
            CaptureError::Privileges(format!(
                "cannot clear capabilities after opening the capture: {e}"
            ))
        })?;
    }
    Ok(())
}
