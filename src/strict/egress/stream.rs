//! What the proxy outside and the bridge inside share: a bounded number of connections,
//! each on a thread of its own, and copying a connection both ways.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// At most `max` connections at once.
pub struct Slots {
    active: Arc<AtomicUsize>,
    max: usize,
}

/// One connection's place, given back when dropped (the thread ended, panicked, or never
/// started).
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Slots {
    pub fn new(max: usize) -> Slots {
        Slots {
            active: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A place, unless `max` connections are being carried.
    pub fn take(&self) -> Option<Slot> {
        let slot = Slot(Arc::clone(&self.active));
        if self.active.fetch_add(1, Ordering::SeqCst) >= self.max {
            drop(slot);
            return None;
        }
        Some(slot)
    }
}

/// Run `work` on a thread of its own that holds `slot`; false when no thread could be
/// started (the slot is given back).
pub fn spawn(slot: Slot, work: impl FnOnce() + Send + 'static) -> bool {
    std::thread::Builder::new()
        .spawn(move || {
            let _slot = slot;
            work();
        })
        .is_ok()
}

/// A socket that can be split into a reading and a writing half.
pub trait Stream: Read + Write + Send + Sized + 'static {
    fn split(&self) -> io::Result<Self>;
    fn close_write(&self);
}

impl Stream for TcpStream {
    fn split(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Stream for UnixStream {
    fn split(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

/// Copy `a` to `b` and `b` to `a` until each side has finished sending.
pub fn splice<A: Stream, B: Stream>(a: A, b: B) {
    let (Ok(mut a_in), Ok(mut b_out)) = (a.split(), b.split()) else {
        return;
    };
    let upward = std::thread::Builder::new().spawn(move || {
        let _ = io::copy(&mut a_in, &mut b_out);
        b_out.close_write();
    });
    // Without a second thread the connection is dropped, not half served.
    let Ok(upward) = upward else {
        return;
    };
    let (mut b_in, mut a_out) = (b, a);
    let _ = io::copy(&mut b_in, &mut a_out);
    a_out.close_write();
    let _ = upward.join();
}
