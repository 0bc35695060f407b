//! Ctrl-C during a CLI apply (signal-hook). `Interrupt::install`, called when the engine is about
//! to start (never at process start: Ctrl-C at the confirmation prompt still ends vend at once),
//! makes the first SIGINT set the caller's stop flag — the engine starts no new step, the steps in
//! flight finish and their outcomes reach the audit log — and run a callback on a thread of its
//! own (the frontend's note), and makes a second SIGINT end the process at once with exit code 130
//! (`EXIT_NOW`, from the signal handler itself, so it works whatever the other threads are doing).
//! Dropping the `Interrupt` (the engine has returned) leaves SIGINT ending the process at once.
//! What to print is not decided here.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The exit code of a second Ctrl-C (128 + SIGINT, as shells report a process ended by it).
pub const EXIT_NOW: i32 = 130;

/// Ctrl-C handling while an apply runs; see the module.
pub struct Interrupt {
    /// Held for its `Drop`, which leaves SIGINT ending the process at once.
    #[cfg(unix)]
    _installed: unix::Installed,
}

impl Interrupt {
    /// From now on, the first SIGINT sets `stop` and calls `on_first` once (on a thread of its
    /// own); the next one exits the process with [`EXIT_NOW`].
    pub fn install(stop: Arc<AtomicBool>, on_first: impl FnOnce() + Send + 'static) -> io::Result<Interrupt> {
        #[cfg(unix)]
        {
            Ok(Interrupt { _installed: unix::Installed::new(stop, Box::new(on_first))? })
        }
        #[cfg(not(unix))]
        {
            let _ = (stop, on_first);
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Ctrl-C handling during an apply needs Unix signals",
            ))
        }
    }
}

#[cfg(unix)]
mod unix {
    use signal_hook::SigId;
    use signal_hook::consts::SIGINT;
    use signal_hook::flag;
    use signal_hook::iterator::{Handle, Signals};
    use std::io;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;

    pub(super) struct Installed {
        /// Set by the first SIGINT: the next one exits (set on drop: then the first one does).
        armed: Arc<AtomicBool>,
        /// The action that sets the caller's stop flag (removed on drop).
        stop_id: SigId,
        signals: Handle,
        note: Option<JoinHandle<()>>,
    }

    impl Installed {
        pub(super) fn new(
            stop: Arc<AtomicBool>,
            on_first: Box<dyn FnOnce() + Send>,
        ) -> io::Result<Installed> {
            let armed = Arc::new(AtomicBool::new(false));
            // Actions run in the order registered: the exit checks the flag before the first
            // signal sets it, so the first signal only arms it (signal-hook's documented pattern).
            flag::register_conditional_shutdown(SIGINT, super::EXIT_NOW, Arc::clone(&armed))?;
            let stop_id = flag::register(SIGINT, stop)?;
            flag::register(SIGINT, Arc::clone(&armed))?;
            let mut signals = Signals::new([SIGINT])?;
            let handle = signals.handle();
            let note = std::thread::Builder::new().name("vend-interrupt".into()).spawn(move || {
                if signals.forever().next().is_some() {
                    on_first();
                }
            })?;
            Ok(Installed { armed, stop_id, signals: handle, note: Some(note) })
        }
    }

    impl Drop for Installed {
        fn drop(&mut self) {
            signal_hook::low_level::unregister(self.stop_id);
            // Nothing is in flight any more: a Ctrl-C from now on ends vend at once.
            self.armed.store(true, Ordering::SeqCst);
            self.signals.close();
            if let Some(t) = self.note.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn the_first_sigint_sets_the_stop_flag_and_calls_back_once() {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let interrupt = Interrupt::install(Arc::clone(&stop), move || {
            let _ = tx.send(());
        })
        .unwrap();
        assert!(!stop.load(Ordering::SeqCst));
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).expect("the note callback ran");
        assert!(stop.load(Ordering::SeqCst));
        // A second SIGINT would end the test process (exit 130): tests/interrupt.rs sends it to
        // the real binary. Dropping the handler returns without waiting for another signal.
        drop(interrupt);
    }
}
