//! Linux: the account switch (as on every Unix), then every capability cleared, then a seccomp
//! filter refusing the system calls an attacker reaches for first.

use super::unix::switch_user;
use super::DropOutcome;
use crate::capture::CaptureError;

/// Switches to `user` (default `nobody`) when running as root; otherwise clears every capability
/// this process holds (from setcap). Fails rather than carrying on privileged.
pub fn drop_privileges(user: Option<&str>) -> Result<DropOutcome, CaptureError> {
    if !nix::unistd::Uid::effective().is_root() {
        clear_capabilities()?;
        return Ok(DropOutcome::CapabilitiesCleared);
    }
    let outcome = switch_user(user)?;
    if matches!(outcome, DropOutcome::Switched { .. }) {
        clear_capabilities()?;
    }
    Ok(outcome)
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

/// System calls refused (with EPERM) once the capture is open: nothing plainsight does after that
/// runs a program, changes identity, loads code into the kernel or inspects other processes. If a
/// parser bug ever let hostile bytes take over the process, these are what an attacker reaches
/// for first. A deny list rather than an allow list: libpcap, the terminal UI, the lab's threads
/// and sockets keep working, and an unforeseen call fails with EPERM instead of killing a class
/// demo.
const REFUSED_SYSCALLS: &[libc::c_long] = &[
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setreuid,
    libc::SYS_setregid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setgroups,
    libc::SYS_setfsuid,
    libc::SYS_setfsgid,
    libc::SYS_capset,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_personality,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
];

/// Installs the filter of [`REFUSED_SYSCALLS`] on every thread of the process (seccomp with
/// TSYNC; it also sets no_new_privs). Called right after the privilege drop. An error says why it
/// could not be installed (an old kernel, a container that forbids seccomp); the capture goes on
/// without it and says so.
pub fn refuse_dangerous_syscalls() -> Result<(), String> {
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("no seccomp filter for this architecture: {e}"))?;
    let rules = REFUSED_SYSCALLS
        .iter()
        .map(|&call| (call, Vec::new()))
        .collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("cannot build the seccomp filter: {e}"))?;
    let program: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|e| format!("cannot compile the seccomp filter: {e}"))?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| format!("cannot install the seccomp filter: {e}"))
}
