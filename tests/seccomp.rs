//! The syscall filter installed after the privilege drop really refuses running a program. In a
//! test binary of its own: the filter covers every thread of the process and stays for its life.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// setuid(2) is called raw to show the filter refuses it.
#![allow(unsafe_code)]

use plainsight::platform::refuse_dangerous_syscalls;

#[test]
fn after_the_filter_no_program_can_be_run() {
    // Before: running a program works (so the refusal below is the filter's doing).
    assert!(std::process::Command::new("true")
        .status()
        .unwrap()
        .success());
    refuse_dangerous_syscalls().expect("seccomp is available on Linux");
    let err = std::process::Command::new("true")
        .status()
        .expect_err("exec must be refused");
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    // Identity changes are refused too, even to the same id.
    assert_eq!(unsafe { libc::setuid(libc::getuid()) }, -1);
    // Ordinary work goes on: files, threads, sockets.
    assert!(std::fs::read_to_string("Cargo.toml").is_ok());
    std::thread::spawn(|| ()).join().unwrap();
    assert!(std::net::UdpSocket::bind("127.0.0.1:0").is_ok());
}
