//! Copying a connection both ways, for the proxy outside and the bridge inside.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

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
    let upward = std::thread::spawn(move || {
        let _ = io::copy(&mut a_in, &mut b_out);
        b_out.close_write();
    });
    let (mut b_in, mut a_out) = (b, a);
    let _ = io::copy(&mut b_in, &mut a_out);
    a_out.close_write();
    let _ = upward.join();
}
