//! The store's connections: reused while they work, replaced when the
//! server dropped them, at most `concurrency` open at once.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use crate::config::FtpConfig;
use crate::control::Control;
use crate::error::{FtpError, FtpResult};

/// A connection idle longer than this is checked with NOOP before reuse:
/// servers close idle sessions, and a transfer should not be the first to
/// find out.
const CHECK_AFTER: Duration = Duration::from_secs(5);

pub struct Pool {
    pub config: FtpConfig,
    /// Directories (as keys) known to exist: made or seen by this store.
    /// Some servers accept a STOR into a missing directory and fail only
    /// at the end, so directories are made before every nested upload;
    /// this saves the round trips for ones already there.
    pub known_dirs: RefCell<HashSet<String>>,
    idle: RefCell<Vec<Control>>,
    open: Cell<usize>,
}

/// A connection taken from the pool; back to it on drop unless it was
/// [`Lease::discard`]ed (after a failure or a cut-short transfer, when its
/// state is unknown).
pub struct Lease {
    pool: Rc<Pool>,
    control: Option<Control>,
}

impl Pool {
    pub fn new(config: FtpConfig) -> Rc<Pool> {
        Rc::new(Pool {
            config,
            known_dirs: RefCell::new(HashSet::new()),
            idle: RefCell::new(Vec::new()),
            open: Cell::new(0),
        })
    }

    /// A working connection: an idle one, checked if it sat long, or a
    /// new one.
    pub fn take(self: &Rc<Self>) -> FtpResult<Lease> {
        loop {
            let Some(mut control) = self.idle.borrow_mut().pop() else {
                break;
            };
            if control.last_used.elapsed() < CHECK_AFTER
                || control
                    .command("check the connection", "NOOP")
                    .is_ok_and(|reply| reply.is_success())
            {
                return Ok(self.lease(control));
            }
            self.open.set(self.open.get() - 1);
        }
        if self.open.get() >= self.config.concurrency {
            return Err(FtpError::Busy {
                concurrency: self.config.concurrency,
            });
        }
        let control = Control::open(&self.config)?;
        self.open.set(self.open.get() + 1);
        Ok(self.lease(control))
    }

    fn lease(self: &Rc<Self>, control: Control) -> Lease {
        Lease {
            pool: self.clone(),
            control: Some(control),
        }
    }

    /// Runs `operation` on a connection; if the connection turns out to be
    /// dead (the server dropped it), runs it once more on a new one. Only
    /// for operations that are safe to repeat.
    pub fn run<T>(
        self: &Rc<Self>,
        mut operation: impl FnMut(&mut Control) -> FtpResult<T>,
    ) -> FtpResult<T> {
        let mut lease = self.take()?;
        match operation(lease.control()) {
            Err(e) if e.is_lost_connection() => {
                lease.discard();
                let mut lease = self.take()?;
                let result = operation(lease.control());
                if result.as_ref().is_err_and(FtpError::is_lost_connection) {
                    lease.discard();
                }
                result
            }
            result => result,
        }
    }
}

impl Lease {
    pub fn control(&mut self) -> &mut Control {
        self.control.as_mut().expect("a lease holds its connection")
    }

    /// Closes the connection instead of reusing it.
    pub fn discard(&mut self) {
        if let Some(control) = self.control.take() {
            self.pool.open.set(self.pool.open.get() - 1);
            control.quit();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            self.pool.idle.borrow_mut().push(control);
        }
    }
}
