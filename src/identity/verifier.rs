//! Where signatures are checked: a small pool of threads of its own, at a lower CPU priority,
//! fed by a bounded queue. A Check whose token is cached never comes here, so a flood of
//! unknown tokens (each an ES256 or RSA verification) cannot take the CPU from Checks that need
//! none; and when the queue is full the token is not verified at all but refused as
//! [`Shed`], which the transport answers `RESOURCE_EXHAUSTED` → 503 (SECURITY.md row 42).
//!
//! Answers go back in batches: a thread verifies what is waiting (up to [`BATCH_JOBS`] jobs or
//! [`BATCH_TIME`]), then hands every answer to the runtime with one wake-up, and a task there
//! passes them on. One wake-up per answer would make the async worker sleep and wake, and
//! write to its sockets, once per refused token of a flood; one per batch lets it answer them
//! together, at about half the worker's CPU per refused token (README, Token flood).
//!
//! A job whose caller has given up (its Check hit the deadline) is skipped, not verified.
//! With no threads ([`Verifier::inline`], for tests and tools) jobs run on the caller.
//!
//! [`Shed`]: NotRun::Shed

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

/// At most this many jobs are verified before their answers are handed back.
pub const BATCH_JOBS: usize = 32;
/// Nor does a batch run longer than this, so a token queued early is not kept waiting.
pub const BATCH_TIME: Duration = Duration::from_millis(2);

/// Answers handed on before the delivering task yields to the rest of the runtime.
const DELIVER_SLICE: usize = 8;

/// Settings for the verification pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierSettings {
    /// Threads verifying signatures (at least 1).
    pub threads: usize,
    /// Verifications that may wait for a thread; one more is shed.
    pub queue: usize,
    /// Added to the threads' `nice` value (Linux), so Checks that need no signature win the CPU.
    pub nice: i32,
}

/// Why a job did not run to an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotRun {
    /// The queue was full (or the pool is gone): the token was not verified.
    Shed,
    /// The job panicked.
    Failed,
}

/// A verification; `None` when its caller had already given up.
type Job = Box<dyn FnOnce() -> Option<Answer> + Send>;
/// Hands one job's result to its waiting Check (cheap; runs on the runtime).
type Answer = Box<dyn FnOnce() + Send>;

/// Runs signature verifications off the async workers, or inline.
pub struct Verifier {
    pool: Option<Pool>,
}

struct Pool {
    tx: crossbeam_channel::Sender<Job>,
}

/// Answers on their way from the threads to the runtime.
struct Outbox {
    answers: Mutex<Vec<Answer>>,
    posted: Notify,
    /// Pool threads still running; at 0 the outbox is closed.
    threads: AtomicUsize,
}

// === impl Verifier ===

impl Verifier {
    /// Runs every job on the caller (no pool, nothing is ever shed).
    pub fn inline() -> Self {
        Self { pool: None }
    }

    /// Starts the pool's threads, and the task that hands their answers back on the current
    /// Tokio runtime (an error outside one). They end when the verifier is dropped.
    pub fn start(settings: VerifierSettings) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let threads = settings.threads.max(1);
        let outbox = Arc::new(Outbox {
            answers: Mutex::new(Vec::new()),
            posted: Notify::new(),
            threads: AtomicUsize::new(threads),
        });
        let (tx, rx) = crossbeam_channel::bounded::<Job>(settings.queue.max(1));
        for n in 0..threads {
            let (rx, mine) = (rx.clone(), outbox.clone());
            let nice = settings.nice;
            // On an error the threads already started stop with the dropped sender.
            std::thread::Builder::new().name(format!("jitgate-verify-{n}")).spawn(move || {
                crate::priority::lower_priority(nice);
                verify_batches(&rx, &mine);
                mine.thread_stopped();
            })?;
        }
        runtime.spawn(outbox.deliver());
        Ok(Self { pool: Some(Pool { tx }) })
    }

    /// Verifications waiting for a thread now.
    pub fn waiting(&self) -> usize {
        self.pool.as_ref().map_or(0, |p| p.tx.len())
    }

    /// Runs `f` on the pool and waits for its result; [`NotRun::Shed`] when the queue is full
    /// (or the pool is gone), [`NotRun::Failed`] when `f` panicked. Dropping the returned future
    /// before the job starts skips the job.
    pub async fn run<T, F>(&self, f: F) -> Result<T, NotRun>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let Some(pool) = &self.pool else {
            return Ok(f());
        };
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            if reply.is_closed() {
                return None;
            }
            let value = f();
            Some(Box::new(move || {
                let _ = reply.send(value);
            }))
        });
        if pool.tx.try_send(job).is_err() {
            return Err(NotRun::Shed);
        }
        result.await.map_err(|_| NotRun::Failed)
    }
}

/// A pool thread: takes a job (waiting for one), then whatever else is queued, up to a batch,
/// and posts the batch's answers together. A panicking job drops its reply (its Check is
/// denied); the thread lives on.
fn verify_batches(rx: &crossbeam_channel::Receiver<Job>, outbox: &Outbox) {
    let mut answers = Vec::with_capacity(BATCH_JOBS);
    while let Ok(first) = rx.recv() {
        let began = Instant::now();
        let mut next = Some(first);
        let mut jobs = 0;
        while let Some(job) = next.take() {
            jobs += 1;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) => {}
                Err(_) => tracing::error!("A signature check panicked; its Check was denied"),
            }
            if jobs < BATCH_JOBS && began.elapsed() < BATCH_TIME {
                next = rx.try_recv().ok();
            }
        }
        outbox.post(&mut answers);
    }
}

// === impl Outbox ===

impl Outbox {
    fn post(&self, answers: &mut Vec<Answer>) {
        if answers.is_empty() {
            return;
        }
        self.answers.lock().unwrap_or_else(PoisonError::into_inner).append(answers);
        self.posted.notify_one();
    }

    fn thread_stopped(&self) {
        if self.threads.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.posted.notify_one();
        }
    }

    /// The runtime end: hands each posted answer to its Check, a batch per wake-up, until the
    /// last thread has stopped.
    async fn deliver(self: Arc<Self>) {
        loop {
            self.posted.notified().await;
            // Read before taking: once closed, every answer has been posted.
            let closed = self.threads.load(Ordering::Acquire) == 0;
            let answers =
                std::mem::take(&mut *self.answers.lock().unwrap_or_else(PoisonError::into_inner));
            for (n, answer) in answers.into_iter().enumerate() {
                // A slice at a time, letting the worker read its sockets in between, so a
                // batch of refused tokens does not hold up Checks that have just arrived.
                if n > 0 && n % DELIVER_SLICE == 0 {
                    tokio::task::yield_now().await;
                }
                answer();
            }
            if closed {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn pool(threads: usize, queue: usize) -> Verifier {
        Verifier::start(VerifierSettings { threads, queue, nice: 0 }).unwrap()
    }

    type Running<'a> = Pin<Box<dyn Future<Output = Result<(), NotRun>> + 'a>>;

    /// Starts a job that holds a pool thread until the returned sender says go.
    async fn occupy(v: &Verifier) -> (Running<'_>, mpsc::Sender<()>) {
        let (release, gate) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel::<()>();
        let mut blocker: Running<'_> = Box::pin(v.run(move || {
            started.send(()).unwrap();
            gate.recv().unwrap();
        }));
        assert!(futures_util::poll!(blocker.as_mut()).is_pending());
        running.recv_timeout(Duration::from_secs(5)).unwrap();
        (blocker, release)
    }

    #[tokio::test]
    async fn runs_jobs_off_the_caller_and_returns_their_results() {
        let v = pool(1, 4);
        let caller = std::thread::current().id();
        let (ran_on, answer) = v.run(|| (std::thread::current().id(), 6 * 7)).await.unwrap();
        assert_ne!(ran_on, caller);
        assert_eq!(answer, 42);
        assert_eq!(v.waiting(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_sheds_and_frees_up_once_the_thread_catches_up() {
        let v = pool(1, 2);
        // One job holds the only thread, two fill the queue, the fourth is shed.
        let (blocker, release) = occupy(&v).await;
        let queued: Vec<_> = (0..2).map(|i| v.run(move || i)).collect();
        let mut queued: Vec<_> = queued.into_iter().map(Box::pin).collect();
        for q in &mut queued {
            // Poll once so each job is sent.
            assert!(futures_util::poll!(q.as_mut()).is_pending());
        }
        assert_eq!(v.waiting(), 2);
        assert_eq!(v.run(|| 3).await, Err(NotRun::Shed));
        release.send(()).unwrap();
        blocker.await.unwrap();
        for (i, q) in queued.into_iter().enumerate() {
            assert_eq!(q.await, Ok(i));
        }
        assert_eq!(v.run(|| 4).await, Ok(4));
    }

    #[tokio::test]
    async fn a_job_whose_caller_gave_up_is_skipped() {
        let v = pool(1, 4);
        let (blocker, release) = occupy(&v).await;
        let (ran, did_run) = mpsc::channel::<()>();
        let mut abandoned = Box::pin(v.run(move || ran.send(()).unwrap()));
        assert!(futures_util::poll!(abandoned.as_mut()).is_pending());
        drop(abandoned);
        release.send(()).unwrap();
        blocker.await.unwrap();
        assert_eq!(v.run(|| ()).await, Ok(()));
        assert!(did_run.try_recv().is_err(), "an abandoned verification was still run");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_threads_run_at_a_lower_priority_than_the_caller() {
        let nice = || rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let v = Verifier::start(VerifierSettings { threads: 1, queue: 1, nice: 3 }).unwrap();
        let (caller, pool) = (nice(), v.run(nice).await.unwrap());
        assert_eq!(pool, (caller + 3).min(19));
        assert_eq!(nice(), caller, "the caller keeps its priority");
    }

    #[tokio::test]
    async fn answers_of_one_batch_are_handed_back_together() {
        let v = pool(1, 8);
        let (blocker, release) = occupy(&v).await;
        // Two jobs queue behind the blocker; the second holds its batch until told to go.
        let (go, gate) = mpsc::channel::<()>();
        let mut first = Box::pin(v.run(|| 1));
        let mut second = Box::pin(v.run(move || {
            gate.recv().unwrap();
            2
        }));
        assert!(futures_util::poll!(first.as_mut()).is_pending());
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        // Whether the blocker's batch takes both or ends before them, the first job's answer
        // waits for the second.
        release.send(()).unwrap();
        let early = tokio::time::timeout(Duration::from_millis(300), first.as_mut()).await;
        assert!(early.is_err(), "an answer came back before the rest of its batch was verified");
        go.send(()).unwrap();
        assert_eq!((blocker.await, first.await, second.await), (Ok(()), Ok(1), Ok(2)));
    }

    #[tokio::test]
    async fn a_batch_larger_than_a_delivery_slice_is_all_handed_back() {
        let v = pool(1, 64);
        let (blocker, release) = occupy(&v).await;
        let mut queued: Vec<_> =
            (0..3 * DELIVER_SLICE).map(|i| Box::pin(v.run(move || i))).collect();
        for q in &mut queued {
            assert!(futures_util::poll!(q.as_mut()).is_pending());
        }
        release.send(()).unwrap();
        blocker.await.unwrap();
        let answers = futures_util::future::join_all(queued).await;
        assert_eq!(answers, (0..3 * DELIVER_SLICE).map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn the_pool_needs_a_runtime_to_hand_answers_back_on() {
        let settings = VerifierSettings { threads: 1, queue: 1, nice: 0 };
        assert!(Verifier::start(settings).is_err());
    }

    #[tokio::test]
    async fn a_panicking_job_is_refused_and_the_thread_lives_on() {
        let v = pool(1, 4);
        let boom = v.run(|| -> u32 { panic!("a bug in a signature check") }).await;
        assert_eq!(boom, Err(NotRun::Failed), "the caller gets an answer that denies");
        assert_eq!(v.run(|| 7).await, Ok(7), "the only thread still verifies");
    }

    #[tokio::test]
    async fn inline_runs_on_the_caller_and_never_sheds() {
        let v = Verifier::inline();
        let caller = std::thread::current().id();
        assert_eq!(v.run(|| std::thread::current().id()).await, Ok(caller));
        assert_eq!(v.waiting(), 0);
    }
}
