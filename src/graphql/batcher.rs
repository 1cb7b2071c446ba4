//! A DataLoader that batches by what is in flight, not by a timer.
//!
//! async-graphql's `DataLoader` waits a fixed delay (1 ms) after the first key of a batch
//! before it loads, so every level of a query sleeps once, on an idle machine as on a busy
//! one; and under load those sleeps line the requests up, leaving the CPU idle between them.
//! Making the delay shorter loses the batching across concurrent requests, which is what keeps
//! PostgreSQL's work per request down (measured in `BENCHMARKS.md`). This loader batches the
//! way group commit does: a key whose type has fewer than [`RUNS`] batches in flight starts
//! one at once (after the tasks ready now have run, so a request's whole pass over its fields,
//! and those of the requests ready with it, share the statement); keys that come while
//! [`RUNS`] are in flight wait and go together in the next, which starts as soon as one of
//! them returns. So there is no wait when the machine is idle, and the busier it is, the
//! larger the batches.
//!
//! Written here because async-graphql's loader has no such mode and no other crate offers it
//! over async-graphql's `Loader` trait, which our loads implement (`loaders.rs`).

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_graphql::dataloader::Loader;
use tokio::sync::oneshot;

/// Batches of one key type in flight at once, at most. With one, every history page's
/// statement waited for the round trip of the batch before it, and the CPU idled meanwhile
/// (a history run used 1.6–1.7 of the 2 cores, against 1.9 with two).
pub const RUNS: usize = 2;

/// What one batch gives every caller that waited for it.
type Outcome<K, V> = Result<Arc<HashMap<K, V>>, async_graphql::Error>;

/// Loads keys through `T`'s [`Loader`] impls, at most [`RUNS`] batches in flight per key
/// type.
pub struct Batcher<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Batcher<T> {
    /// The same batcher: clones share their queues.
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<T> {
    loader: T,
    /// One [`Queue`] per key type, created on its first load.
    queues: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

/// The keys of one type waiting for the next batch, and how many tasks run batches.
struct Queue<K, V> {
    keys: HashSet<K>,
    waiters: Vec<oneshot::Sender<Outcome<K, V>>>,
    runs: usize,
}

impl<K, V> Default for Queue<K, V> {
    fn default() -> Self {
        Self {
            keys: HashSet::new(),
            waiters: Vec::new(),
            runs: 0,
        }
    }
}

impl<T: Send + Sync + 'static> Batcher<T> {
    /// A batcher over `loader`; batches run on tokio tasks.
    pub fn new(loader: T) -> Self {
        Self {
            inner: Arc::new(Inner {
                loader,
                queues: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The value of `key`, if the loader found one.
    pub async fn load_one<K>(&self, key: K) -> async_graphql::Result<Option<T::Value>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        T: Loader<K, Error = async_graphql::Error>,
    {
        let found = self.load(std::iter::once(key.clone())).await?;
        Ok(found.get(&key).cloned())
    }

    /// The values of the `keys` the loader found.
    pub async fn load_many<K, I>(&self, keys: I) -> async_graphql::Result<HashMap<K, T::Value>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
        T: Loader<K, Error = async_graphql::Error>,
    {
        let keys: Vec<K> = keys.into_iter().collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self.load(keys.iter().cloned()).await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| {
                let value = found.get(&k)?.clone();
                Some((k, value))
            })
            .collect())
    }

    /// Queues `keys` for the next batch of their type, starting it unless [`RUNS`] are in
    /// flight, and waits for the batch that loads them.
    async fn load<K>(&self, keys: impl Iterator<Item = K>) -> Outcome<K, T::Value>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        T: Loader<K, Error = async_graphql::Error>,
    {
        let (tx, rx) = oneshot::channel();
        let start = self.inner.with_queue(|queue: &mut Queue<K, T::Value>| {
            queue.keys.extend(keys);
            queue.waiters.push(tx);
            let start = queue.runs < RUNS;
            queue.runs += usize::from(start);
            start
        });
        if start {
            tokio::spawn(run::<T, K>(self.inner.clone()));
        }
        rx.await.unwrap_or_else(|_| {
            // The batch's task ended without answering: it panicked (logged by tokio) or the
            // runtime is shutting down.
            Err(async_graphql::Error::new("internal error"))
        })
    }
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<TypeId, Box<dyn Any + Send>>> {
        // A panic under this lock leaves no half-done state: every change is one assignment.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the queue of key type `K`, under the lock.
    fn with_queue<K, V, R>(&self, f: impl FnOnce(&mut Queue<K, V>) -> R) -> R
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let mut queues = self.lock();
        let queue = queues
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(Queue::<K, V>::default()));
        match queue.downcast_mut::<Queue<K, V>>() {
            Some(queue) => f(queue),
            // Each key type has one `Loader` impl, so one value type per `TypeId`.
            None => unreachable!("a key type with two value types"),
        }
    }
}

/// Runs batches of key type `K` back to back until none is waiting.
async fn run<T, K>(inner: Arc<Inner<T>>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K, Error = async_graphql::Error>,
{
    let mut running = Running {
        inner: &inner,
        ended: false,
        abandon: abandon::<T, K>,
    };
    loop {
        // Let the tasks ready now (the rest of the caller's pass over its fields, and the
        // requests that are ready with it) add their keys first.
        tokio::task::yield_now().await;
        let batch = inner.with_queue(|queue: &mut Queue<K, T::Value>| {
            if queue.waiters.is_empty() {
                // Under the same lock as the check: a load after this starts a new task.
                queue.runs -= 1;
                return None;
            }
            Some((
                std::mem::take(&mut queue.keys),
                std::mem::take(&mut queue.waiters),
            ))
        });
        let Some((keys, waiters)) = batch else {
            running.ended = true;
            return;
        };
        let keys: Vec<K> = keys.into_iter().collect();
        let outcome = inner.loader.load(&keys).await.map(Arc::new);
        for waiter in waiters {
            // A waiter that went away (its request was cancelled) needs no answer.
            let _ = waiter.send(outcome.clone());
        }
    }
}

/// Ends a run if its task stops without ending it (a load panicked, or the runtime is
/// shutting down): the loads queued meanwhile are left to the other runs, or fail if there
/// are none (instead of waiting forever), and the next load starts a new task.
struct Running<'a, T> {
    inner: &'a Inner<T>,
    ended: bool,
    /// Ends the run in its key type's queue ([`abandon`] for that type).
    abandon: fn(&Inner<T>),
}

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if !self.ended {
            (self.abandon)(self.inner);
        }
    }
}

/// Marks one run of key type `K` as ended; when it was the last, fails the queued loads.
fn abandon<T, K>(inner: &Inner<T>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K>,
{
    inner.with_queue(|queue: &mut Queue<K, T::Value>| {
        queue.runs -= 1;
        if queue.runs == 0 {
            queue.keys.clear();
            queue.waiters.clear();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join_all;
    use tokio::sync::Semaphore;

    /// Records each batch; values are `key * 10` for keys under 100, none for others; key 666
    /// fails its batch and key 999 panics in it. Each batch first takes a permit of `gate`.
    struct Recorder {
        batches: Mutex<Vec<Vec<u32>>>,
        gate: Semaphore,
    }

    impl Recorder {
        fn open() -> Self {
            Self {
                batches: Mutex::new(Vec::new()),
                gate: Semaphore::new(Semaphore::MAX_PERMITS),
            }
        }
    }

    impl Loader<u32> for Recorder {
        type Value = u32;
        type Error = async_graphql::Error;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Self::Error> {
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            self.batches.lock().expect("lock").push(sorted);
            self.gate.acquire().await.expect("gate").forget();
            assert!(!keys.contains(&999), "the loader panics");
            if keys.contains(&666) {
                return Err(async_graphql::Error::new("no 666"));
            }
            Ok(keys
                .iter()
                .filter(|k| **k < 100)
                .map(|k| (*k, k * 10))
                .collect())
        }
    }

    fn batches(batcher: &Batcher<Recorder>) -> Vec<Vec<u32>> {
        batcher.inner.loader.batches.lock().expect("lock").clone()
    }

    #[tokio::test]
    async fn loads_of_one_pass_share_a_batch() {
        let batcher = Batcher::new(Recorder::open());
        let found = join_all((1..=5).map(|k| batcher.load_one(k))).await;
        let values: Vec<Option<u32>> = found.into_iter().map(|r| r.expect("load")).collect();
        assert_eq!(values, [Some(10), Some(20), Some(30), Some(40), Some(50)]);
        assert_eq!(batches(&batcher), [vec![1, 2, 3, 4, 5]]);
    }

    #[tokio::test]
    async fn keys_that_come_while_every_lane_is_busy_go_together_in_the_next() {
        let batcher = Arc::new(Batcher::new(Recorder {
            batches: Mutex::new(Vec::new()),
            gate: Semaphore::new(0),
        }));
        let load = |keys: Vec<u32>| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.load_many(keys).await })
        };
        // A load finding a lane free starts a batch at once.
        let mut first = Vec::new();
        for k in 1..=RUNS as u32 {
            first.push((k, load(vec![k])));
            while batches(&batcher).len() < k as usize {
                tokio::task::yield_now().await;
            }
        }
        let later: Vec<_> = (11..=13).map(|k| (k, load(vec![k, 100 + k]))).collect();
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            batches(&batcher).len(),
            RUNS,
            "no batch while every lane is busy"
        );
        batcher.inner.loader.gate.add_permits(RUNS + 1);
        for (k, task) in first.into_iter().chain(later) {
            let found = task.await.expect("task").expect("load");
            assert_eq!(found, HashMap::from([(k, k * 10)]), "only the keys found");
        }
        let batches = batches(&batcher);
        assert_eq!(batches.len(), RUNS + 1, "{batches:?}");
        assert_eq!(batches[RUNS], [11, 12, 13, 111, 112, 113]);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_its_loads_and_the_next_batch_runs() {
        let batcher = Batcher::new(Recorder::open());
        let (bad, good) = tokio::join!(batcher.load_one(666), batcher.load_one(7));
        assert_eq!(bad.expect_err("666 fails").message, "no 666");
        assert_eq!(good.expect_err("same batch").message, "no 666");
        assert_eq!(batcher.load_one(8).await.expect("next batch"), Some(80));
        assert_eq!(batches(&batcher), [vec![7, 666], vec![8]]);
    }

    #[tokio::test]
    async fn a_panicking_load_fails_its_callers_and_does_not_stop_the_next() {
        let batcher = Batcher::new(Recorder::open());
        let error = batcher.load_one(999).await.expect_err("the load panicked");
        assert_eq!(error.message, "internal error");
        // A run left marked as in flight would make this wait forever.
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), batcher.load_one(9));
        assert_eq!(next.await.expect("not stuck").expect("a new run"), Some(90));
    }

    #[tokio::test]
    async fn no_keys_load_nothing() {
        let batcher = Batcher::new(Recorder::open());
        let found = batcher.load_many(std::iter::empty::<u32>()).await;
        assert!(found.expect("empty").is_empty());
        assert!(batches(&batcher).is_empty());
    }
}
