//! Wakeups for the tasks that wait on the stream, without an async runtime: this crate
//! is protocol logic and must not depend on tokio, yet the server's tasks await its
//! events. Both primitives work with any executor through `std::task::Waker`.

use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A wakeup for one waiting task that is remembered when nobody waits yet, so a
/// notification between checking a condition and awaiting is never lost (the
/// semantics of tokio's `Notify::notify_one` with a single waiter).
#[derive(Debug, Default)]
pub struct Signal {
    state: Mutex<SignalState>,
}

#[derive(Debug, Default)]
struct SignalState {
    set: bool,
    waker: Option<Waker>,
}

impl Signal {
    /// A signal with no pending wakeup.
    pub fn new() -> Signal {
        Signal::default()
    }

    /// Wakes the waiting task, or the next one to wait.
    pub fn notify(&self) {
        let waker = {
            let mut state = self.state.lock();
            state.set = true;
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Completes at the next notification, or at once if one is pending. Only one task
    /// may wait at a time: a second waiter replaces the first one's waker.
    pub fn notified(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            let mut state = self.state.lock();
            if std::mem::take(&mut state.set) {
                state.waker = None;
                Poll::Ready(())
            } else {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// A wakeup for every task waiting when it is sent, and none that come later (the
/// semantics of tokio's `Notify::notify_waiters`). A waiter counts from its first poll.
#[derive(Debug, Default)]
pub struct Broadcast {
    state: Mutex<BroadcastState>,
}

#[derive(Debug, Default)]
struct BroadcastState {
    /// Bumped by every notification: a waiter that saw an older one is done.
    generation: u64,
    next_id: u64,
    waiters: Vec<(u64, Waker)>,
}

impl Broadcast {
    /// A broadcast nobody waits on.
    pub fn new() -> Broadcast {
        Broadcast::default()
    }

    /// Wakes every task waiting now.
    pub fn notify_waiters(&self) {
        let waiters = {
            let mut state = self.state.lock();
            state.generation += 1;
            std::mem::take(&mut state.waiters)
        };
        for (_, w) in waiters {
            w.wake();
        }
    }

    /// Completes at the next notification after its first poll.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            broadcast: self,
            registered: None,
        }
    }
}

/// The future of [`Broadcast::notified`]; dropping it unregisters its waker, so
/// waits that time out leave nothing behind.
#[derive(Debug)]
pub struct Notified<'a> {
    broadcast: &'a Broadcast,
    /// (waiter id, generation seen at the first poll).
    registered: Option<(u64, u64)>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let broadcast = self.broadcast;
        let mut state = broadcast.state.lock();
        match self.registered {
            Some((_, seen)) if state.generation != seen => {
                drop(state);
                self.registered = None;
                Poll::Ready(())
            }
            Some((id, _)) => {
                let waker = cx.waker().clone();
                match state.waiters.iter_mut().find(|(i, _)| *i == id) {
                    Some(entry) => entry.1 = waker,
                    None => state.waiters.push((id, waker)),
                }
                Poll::Pending
            }
            None => {
                let id = state.next_id;
                state.next_id += 1;
                let generation = state.generation;
                state.waiters.push((id, cx.waker().clone()));
                drop(state);
                self.registered = Some((id, generation));
                Poll::Pending
            }
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if let Some((id, _)) = self.registered {
            self.broadcast
                .state
                .lock()
                .waiters
                .retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn context() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn a_signal_sent_before_waiting_is_kept_once() {
        let (_, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let s = Signal::new();
        s.notify();
        s.notify();
        assert!(std::pin::pin!(s.notified()).poll(&mut cx).is_ready());
        assert!(std::pin::pin!(s.notified()).poll(&mut cx).is_pending());
    }

    #[test]
    fn a_signal_wakes_its_waiter() {
        let (count, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let s = Signal::new();
        let mut wait = std::pin::pin!(s.notified());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        s.notify();
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(wait.poll(&mut cx).is_ready());
    }

    #[test]
    fn a_broadcast_wakes_only_those_waiting() {
        let (count, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let b = Broadcast::new();
        b.notify_waiters();
        let mut first = b.notified();
        let mut second = b.notified();
        assert!(Pin::new(&mut first).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut second).poll(&mut cx).is_pending());
        b.notify_waiters();
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
        assert!(Pin::new(&mut first).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut second).poll(&mut cx).is_ready());
        let mut late = b.notified();
        assert!(Pin::new(&mut late).poll(&mut cx).is_pending());
    }

    #[test]
    fn a_dropped_wait_leaves_no_waker() {
        let (_, waker) = context();
        let mut cx = Context::from_waker(&waker);
        let b = Broadcast::new();
        for _ in 0..3 {
            let mut wait = b.notified();
            assert!(Pin::new(&mut wait).poll(&mut cx).is_pending());
        }
        assert!(b.state.lock().waiters.is_empty());
    }
}
