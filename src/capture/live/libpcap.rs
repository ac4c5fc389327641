//! Live capture through libpcap (Npcap on Windows), and the list of interfaces it can open.

use std::ops::ControlFlow;
use std::time::Instant;

use pcap::{Active, Capture, Device, Savefile};

use super::{InterfaceInfo, LiveOptions, LiveStats};
use crate::base::Timestamp;
use crate::capture::{CaptureError, LinkType, Packet, SourceItem};
use crate::platform::{drop_privileges, refuse_dangerous_syscalls, DropOutcome};

/// How long the loop waits for packets before it checks for Ctrl-C and the deadline.
const READ_TIMEOUT_MS: i32 = 100;

/// An open live capture, already running without privileges.
pub struct LiveSource {
    iface: String,
    cap: Capture<Active>,
    savefile: Option<Savefile>,
    link: LinkType,
    privileges: DropOutcome,
    syscall_filter: Result<(), String>,
}

impl LiveSource {
    /// Checks that the interface can be opened for capture (permissions, name), without keeping
    /// it: the UI asks before it takes over the terminal, so the message is readable.
    pub fn check(iface: &str) -> Result<(), CaptureError> {
        let live_err = |e: pcap::Error| classify_open_error(iface, e);
        Capture::from_device(iface)
            .map_err(live_err)?
            .open()
            .map_err(live_err)?;
        Ok(())
    }

    /// Opens the interface, applies the filter, opens the save file, then drops privileges.
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, CaptureError> {
        let iface = opts.iface.clone();
        let live_err = |e: pcap::Error| classify_open_error(&iface, e);
        let mut cap = Capture::from_device(iface.as_str())
            .map_err(live_err)?
            .promisc(false)
            .immediate_mode(true)
            // Immediate mode shrinks libpcap's ring to a few slots unless the buffer is set:
            // bursts (a page load) would then be dropped by the kernel.
            .buffer_size(32 << 20)
            .snaplen(262_144)
            .timeout(READ_TIMEOUT_MS)
            .open()
            .map_err(live_err)
            .and_then(|cap| waiting::prepare(cap).map_err(live_err))?;
        if let Some(expr) = &opts.filter {
            cap.filter(expr, true).map_err(|e| CaptureError::Filter {
                filter: expr.clone(),
                detail: e.to_string(),
            })?;
        }
        // The save file is created before the drop, so it can be written where root may write.
        let savefile = match &opts.write {
            Some(path) => Some(cap.savefile(path).map_err(|e| CaptureError::Write {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?),
            None => None,
        };
        let link = LinkType(cap.get_datalink().0 as u32);
        let privileges = drop_privileges(opts.user.as_deref())?;
        let syscall_filter = refuse_dangerous_syscalls();
        Ok(LiveSource {
            iface,
            cap,
            savefile,
            link,
            privileges,
            syscall_filter,
        })
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    pub fn privileges(&self) -> &DropOutcome {
        &self.privileges
    }

    /// Whether the seccomp filter refusing exec, ptrace, setuid and the like is on, or why not.
    pub fn syscall_filter(&self) -> &Result<(), String> {
        &self.syscall_filter
    }

    pub fn stats(&mut self) -> Option<LiveStats> {
        self.cap.stats().ok().map(|s| LiveStats {
            received: s.received,
            dropped: s.dropped,
            if_dropped: s.if_dropped,
        })
    }

    /// Feeds packets to `f` until `should_stop` says so, `deadline` passes, or `f` breaks.
    /// `stats` receives libpcap's counters about once a second (the UI shows the drops).
    pub fn run(
        &mut self,
        deadline: Option<Instant>,
        should_stop: &dyn Fn() -> bool,
        stats: &mut dyn FnMut(LiveStats),
        mut f: impl FnMut(SourceItem<'_>) -> ControlFlow<()>,
    ) -> Result<(), CaptureError> {
        let mut last_stats = Instant::now();
        let mut frame = 0u64;
        loop {
            if last_stats.elapsed().as_secs() >= 1 {
                last_stats = Instant::now();
                if let Some(s) = self.stats() {
                    stats(s);
                }
            }
            if should_stop() || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            match self.cap.next_packet() {
                Ok(packet) => {
                    if let Some(save) = self.savefile.as_mut() {
                        save.write(&packet);
                    }
                    let tv = packet.header.ts;
                    let ts = Timestamp::from_secs_micros(
                        u64::try_from(tv.tv_sec).unwrap_or(0),
                        u64::try_from(tv.tv_usec).unwrap_or(0),
                    );
                    frame += 1;
                    let item = SourceItem::Packet(Packet {
                        ts,
                        frame,
                        link: self.link,
                        data: packet.data,
                        orig_len: packet.header.len,
                    });
                    if f(item).is_break() {
                        break;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => waiting::wait(&self.cap, READ_TIMEOUT_MS),
                Err(e) => {
                    return Err(CaptureError::Live {
                        iface: self.iface.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
        if let Some(save) = self.savefile.as_mut() {
            let _ = save.flush();
        }
        Ok(())
    }
}

/// How the loop waits for packets: the one thing libpcap does differently per system.
#[cfg(unix)]
mod waiting {
    use std::os::fd::AsRawFd;

    use pcap::{Active, Capture};

    /// Non-blocking, with our own poll(2): libpcap's read timeout does not fire on an idle
    /// interface in immediate mode, and Ctrl-C and --duration must work on a quiet link.
    pub fn prepare(cap: Capture<Active>) -> Result<Capture<Active>, pcap::Error> {
        cap.setnonblock()
    }

    /// Waits until the capture descriptor has packets, or `timeout_ms` passes.
    #[allow(unsafe_code)] // poll(2) on libpcap's own descriptor: no safe wrapper takes a raw fd.
    pub fn wait(cap: &Capture<Active>, timeout_ms: i32) {
        let mut pfd = libc::pollfd {
            fd: cap.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call. EINTR (Ctrl-C) just returns
        // early.
        unsafe {
            libc::poll(&mut pfd, 1, timeout_ms);
        }
    }
}

/// Npcap's read timeout fires on an idle interface: a blocking read that returns every
/// `READ_TIMEOUT_MS` lets the loop check Ctrl-C and the deadline.
#[cfg(not(unix))]
mod waiting {
    use pcap::{Active, Capture};

    pub fn prepare(cap: Capture<Active>) -> Result<Capture<Active>, pcap::Error> {
        Ok(cap)
    }

    pub fn wait(_cap: &Capture<Active>, _timeout_ms: i32) {}
}

fn classify_open_error(iface: &str, e: pcap::Error) -> CaptureError {
    let detail = e.to_string();
    let lower = detail.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "plainsight".to_string());
        CaptureError::PermissionDenied {
            iface: iface.to_string(),
            exe,
        }
    } else {
        CaptureError::Live {
            iface: iface.to_string(),
            detail,
        }
    }
}

pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let devices = Device::list().map_err(|e| CaptureError::Live {
        iface: "(any)".into(),
        detail: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| InterfaceInfo {
            up: d.flags.is_up(),
            loopback: d.flags.is_loopback(),
            name: d.name,
            description: d.desc,
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
        })
        .collect())
}
