//! Systems without an account switch (Windows): the capture runs as whoever started it, and the
//! line on stderr says so. Npcap decides who may capture.

use super::DropOutcome;
use crate::capture::CaptureError;

pub fn drop_privileges(_user: Option<&str>) -> Result<DropOutcome, CaptureError> {
    Ok(DropOutcome::NotAvailable)
}

pub fn refuse_dangerous_syscalls() -> Result<(), String> {
    Err("no system-call filter on this system".into())
}
