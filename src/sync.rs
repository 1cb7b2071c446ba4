//! Locking shared state that must stay usable after a panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex whose holder may have panicked: the data behind it is plain bookkeeping
/// (routes, counters, labels) that is never left half-written by a panic, so the server goes on
/// with it rather than failing every later request.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
