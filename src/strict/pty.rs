//! The sandbox's own pseudo-terminal, and the loop that joins it to the real one: bytes
//! and window sizes are copied both ways, input waits in a buffer, and nothing inside can
//! push characters into the real terminal (`TIOCSTI`).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::libc;
use nix::sys::signalfd::SignalFd;

use crate::code::Code;
use crate::error::{Error, Result};

/// The sandbox's own pseudo-terminal and the loop that joins it to the real one.
pub struct Pty {
    pub master: OwnedFd,
    slave: OwnedFd,
    /// The real terminal still has input to give.
    input_open: std::cell::Cell<bool>,
    /// False once the sandbox's side of the terminal is closed: from then on only
    /// signals are waited for (a closed master keeps reporting a hangup).
    master_open: std::cell::Cell<bool>,
    /// The real terminal went away since the last look.
    pub hung_up: std::cell::Cell<bool>,
    /// Typed or pasted bytes the sandbox has not taken yet.
    pending: std::cell::RefCell<Vec<u8>>,
}

impl Pty {
    /// A pseudo-terminal for the sandbox when kiro-aws runs on one. Open it before any
    /// other thread can start a child, which would inherit it until its descriptors are
    /// marked close-on-exec.
    pub fn open_if_terminal() -> Result<Option<Pty>> {
        let terminal = unsafe { libc::isatty(0) == 1 && libc::isatty(1) == 1 };
        if terminal {
            Pty::open().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The sandbox's side, as one of its standard streams.
    pub fn slave_stdio(&self) -> Result<std::process::Stdio> {
        let slave = self
            .slave
            .try_clone()
            .map_err(|e| Error::io("/dev/ptmx", "duplicate the terminal", e))?;
        Ok(slave.into())
    }

    fn open() -> Result<Pty> {
        let size = window_size(0);
        let termios = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
        let pty = nix::pty::openpty(size.as_ref(), termios.as_ref())
            .map_err(|e| Error::io("/dev/ptmx", "open a terminal for the sandbox", e.into()))?;
        for fd in [&pty.master, &pty.slave] {
            // Not inherited by anything but bwrap's standard streams.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // kiro-aws never waits on the sandbox's terminal (see `pump`).
        unsafe {
            let master = pty.master.as_raw_fd();
            let flags = libc::fcntl(master, libc::F_GETFL);
            libc::fcntl(master, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Ok(Pty {
            master: pty.master,
            slave: pty.slave,
            input_open: std::cell::Cell::new(true),
            master_open: std::cell::Cell::new(true),
            hung_up: std::cell::Cell::new(false),
            pending: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// Copy bytes both ways until a signal is pending. Input waits in a buffer while the
    /// program is not reading it, so a large paste never blocks kiro-aws (and with it the
    /// output and the signals).
    pub fn pump(&self, sfd: &SignalFd) -> Result<()> {
        use nix::poll::PollFlags;
        const MAX_PENDING: usize = 1 << 20;
        loop {
            let pending = self.pending.borrow().len();
            let input_events = if self.input_open.get() && pending < MAX_PENDING {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            let master_events = if pending > 0 {
                PollFlags::POLLIN | PollFlags::POLLOUT
            } else {
                PollFlags::POLLIN
            };
            // A closed terminal keeps reporting a hangup: once input is over, its entry is
            // left out (poll skips a negative descriptor), or this would spin.
            let input_fd = if self.input_open.get() { 0 } else { -1 };
            let master_fd = if self.master_open.get() {
                self.master.as_raw_fd()
            } else {
                -1
            };
            let mut raw = [
                libc::pollfd {
                    fd: sfd.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: master_fd,
                    events: master_events.bits(),
                    revents: 0,
                },
                libc::pollfd {
                    fd: input_fd,
                    events: input_events.bits(),
                    revents: 0,
                },
            ];
            let polled = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, -1) };
            let result = if polled < 0 {
                Err(nix::errno::Errno::last())
            } else {
                Ok(())
            };
            let fds = raw.map(|p| PollFlags::from_bits_truncate(p.revents));
            match result {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::new(Code::SystemCallFailed, format!("poll: {e}"))),
                Ok(_) => {}
            }
            let has = |revents: &PollFlags, flags: PollFlags| revents.intersects(flags);
            let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
            if self.master_open.get() && has(&fds[1], readable) {
                match read_some(self.master.as_raw_fd()) {
                    Read::Data(bytes) => write_all(1, &bytes),
                    Read::WouldBlock => {}
                    // The sandbox side is closed; wait for the exit signal only.
                    Read::Closed => {
                        self.master_open.set(false);
                        return Ok(());
                    }
                }
            }
            if self.input_open.get() && has(&fds[2], readable) {
                match read_some(0) {
                    Read::Data(bytes) => self.pending.borrow_mut().extend_from_slice(&bytes),
                    Read::WouldBlock => {}
                    Read::Closed => {
                        // The real terminal is gone (closed window, lost connection).
                        self.input_open.set(false);
                        self.hung_up.set(true);
                        return Ok(());
                    }
                }
            }
            self.flush_input();
            if has(&fds[0], PollFlags::POLLIN) {
                return Ok(());
            }
        }
    }

    /// Hand the sandbox as much buffered input as it takes now.
    fn flush_input(&self) {
        let mut pending = self.pending.borrow_mut();
        if !self.master_open.get() {
            // Nobody inside reads any more.
            pending.clear();
        }
        while !pending.is_empty() {
            let n = unsafe {
                libc::write(
                    self.master.as_raw_fd(),
                    pending.as_ptr().cast(),
                    pending.len(),
                )
            };
            if n <= 0 {
                break;
            }
            pending.drain(..n as usize);
        }
    }

    pub fn copy_size(&self) {
        if let Some(size) = window_size(0) {
            unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        }
    }

    /// Output the sandbox wrote just before it exited (the master never blocks).
    pub fn drain(&self) {
        while let Read::Data(bytes) = read_some(self.master.as_raw_fd()) {
            write_all(1, &bytes);
        }
    }
}

enum Read {
    Data(Vec<u8>),
    WouldBlock,
    /// End of input, or the other side is gone.
    Closed,
}

fn read_some(fd: RawFd) -> Read {
    let mut buf = [0u8; 8192];
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    match n {
        n if n > 0 => Read::Data(buf[..n as usize].to_vec()),
        0 => Read::Closed,
        _ => match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Read::WouldBlock,
            _ => Read::Closed,
        },
    }
}

/// Write to the real terminal; a terminal that is gone loses the bytes.
fn write_all(fd: RawFd, bytes: &[u8]) {
    let mut out = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = out.write_all(bytes);
    std::mem::forget(out);
}

fn window_size(fd: RawFd) -> Option<nix::pty::Winsize> {
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0).then_some(size)
}

/// The real terminal in raw mode (every byte goes to the sandbox's terminal, whose own
/// line discipline does the rest); restored when dropped.
pub struct RawTerminal(Option<nix::sys::termios::Termios>);

impl RawTerminal {
    pub fn enter() -> RawTerminal {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let saved = tcgetattr(std::io::stdin()).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &raw);
        }
        RawTerminal(saved)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSADRAIN,
                saved,
            );
        }
    }
}
