//! CPU priority between jitgate's own threads: the Check workers first; work that may be heavy
//! (verifying new tokens' signatures, the control plane) on threads that step aside for them.

/// Raises the calling thread's `nice` value (lowers its priority). Best effort: an unprivileged
/// process may always lower its own priority, and a failure only costs the preference. On
/// Linux `PRIO_PROCESS` with a thread id applies to that thread alone.
///
/// Not `SCHED_IDLE`: that would starve verification whenever anything else on the CPU is busy
/// (other processes in the same cgroup too), and a new caller's first Check would then run
/// into its deadline; at `nice` +10 the threads still get about a tenth of a contended CPU.
#[cfg(target_os = "linux")]
pub fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    let result = rustix::process::getpriority_process(Some(tid))
        .and_then(|now| rustix::process::setpriority_process(Some(tid), (now + nice).min(19)));
    if let Err(e) = result {
        tracing::debug!(nice, error = %e, "could not lower this thread's CPU priority");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_priority(_nice: i32) {}
