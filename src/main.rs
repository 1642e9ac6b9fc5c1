//! The process entry point. rfaas defines the C `main` itself instead of letting std wrap it:
//! std's start-up also asks glibc for the main thread's stack bounds, for its stack-overflow
//! message, and glibc reads them from `/proc/self/maps`: 0.1-0.3 ms of a short command here, up
//! to a third of `/bin/true`'s whole run (issue 13, target 2; README, Benchmarks). What else std's
//! start-up does, rfaas does here: stdin, stdout and stderr are opened on `/dev/null` when the
//! process starts without them (so no file opened later takes their place), SIGPIPE is ignored
//! (a write to a closed pipe or socket is an `EPIPE` error, not death by signal), a panic ends
//! the process with code 101, and stdout is flushed at the end. A stack overflow is still caught
//! by the guard page, as a SIGSEGV without std's message.
#![no_main]

use std::ffi::{CStr, OsStr, OsString, c_char, c_int};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

/// The exit code of a process whose main function panicked, as std's start-up gives it.
const PANICKED: c_int = 101;

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    open_missing_standard_fds();
    // SAFETY: no other thread exists yet, and SIG_IGN installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // From argv itself: std::env::args is filled without std's start-up only on glibc.
    // SAFETY: the C runtime passes `argc` NUL-terminated strings in `argv`.
    let args: Vec<OsString> = (0..usize::try_from(argc).unwrap_or(0)).map(|i| unsafe { arg(argv, i) }).collect();
    let code = std::panic::catch_unwind(|| rfaas::run(args));
    let _ = std::io::stdout().flush();
    code.map_or(PANICKED, c_int::from)
}

/// Argument `i` of `argv`, byte for byte.
///
/// # Safety
/// `argv` must hold at least `i + 1` pointers to NUL-terminated strings.
unsafe fn arg(argv: *const *const c_char, i: usize) -> OsString {
    // SAFETY: as the caller promises.
    let bytes = unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes();
    OsStr::from_bytes(bytes).to_os_string()
}

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is not open.
fn open_missing_standard_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        // open returns the lowest free descriptor, which is `fd`: the lower ones are open by now.
        // SAFETY: the path is a NUL-terminated constant.
        let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if opened != fd {
            std::process::abort();
        }
    }
}
