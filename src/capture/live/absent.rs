//! A build without libpcap: every way into live capture says it needs libpcap.

use std::ops::ControlFlow;
use std::time::Instant;

use super::{InterfaceInfo, LiveOptions, LiveStats};
use crate::capture::{CaptureError, SourceItem};
use crate::platform::DropOutcome;

fn absent(what: &str) -> CaptureError {
    CaptureError::NoLibpcap {
        what: what.to_string(),
    }
}

/// Never opened in this build: it cannot be made.
pub struct LiveSource {
    never: std::convert::Infallible,
}

impl LiveSource {
    pub fn check(iface: &str) -> Result<(), CaptureError> {
        Err(absent(&format!("capturing on {iface}")))
    }

    pub fn open(opts: &LiveOptions) -> Result<LiveSource, CaptureError> {
        Err(absent(&format!("capturing on {}", opts.iface)))
    }

    pub fn iface(&self) -> &str {
        match self.never {}
    }

    pub fn privileges(&self) -> &DropOutcome {
        match self.never {}
    }

    pub fn syscall_filter(&self) -> &Result<(), String> {
        match self.never {}
    }

    pub fn stats(&mut self) -> Option<LiveStats> {
        match self.never {}
    }

    pub fn run(
        &mut self,
        _deadline: Option<Instant>,
        _should_stop: &dyn Fn() -> bool,
        _stats: &mut dyn FnMut(LiveStats),
        _f: impl FnMut(SourceItem<'_>) -> ControlFlow<()>,
    ) -> Result<(), CaptureError> {
        match self.never {}
    }
}

pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    Err(absent("listing the interfaces"))
}
