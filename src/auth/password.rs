//! argon2id password hashing, run off the async threads on threads of its own that yield to
//! request handling.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::{AppError, AppResult};

/// How much the hashing threads' nice value is raised: under contention the kernel gives a
/// nice-10 thread about a tenth of a nice-0 thread's share, so a flood of sign-ins (each hash a core for
/// ~35 ms) slows other requests little, while an idle machine hashes at full speed.
pub const HASHING_NICE: i32 = 10;

/// Runs `work` on a hashing thread: the blocking pool of a runtime of its own, whose threads
/// lower their priority when they start (tokio's own blocking threads are shared with
/// everything else, and a thread's priority cannot be raised again without privileges).
/// Falls back to tokio's blocking pool if that runtime cannot be built.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("messenger-hash")
            .on_thread_start(lower_this_threads_priority)
            .build()
            .inspect_err(
                |e| tracing::warn!(error = %e, "no hashing threads: hashing at normal priority"),
            )
            .ok()
    });
    let task = match runtime {
        Some(runtime) => runtime.spawn_blocking(work),
        None => tokio::task::spawn_blocking(work),
    };
    task.await.map_err(AppError::internal)
}

/// Adds [`HASHING_NICE`] to the calling thread's nice value (at most 19). Linux only: there
/// the nice value is per thread; elsewhere `setpriority` would renice the whole process.
/// Not being able to change it is harmless.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Ok(current) = rustix::process::getpriority_process(None) {
        let _ = rustix::process::setpriority_process(None, (current + HASHING_NICE).min(19));
    }
}

/// Hashes a password into a PHC string (argon2id, default parameters, random salt).
pub async fn hash(password: String) -> AppResult<String> {
    on_hashing_thread(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(anyhow::anyhow!("hashing a password: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash. With no hash (unknown user) it checks against a
/// dummy hash, so the answer takes as long whether or not the user exists.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    on_hashing_thread(move || {
        let dummy = dummy_hash();
        let hash = stored.as_deref().unwrap_or(dummy);
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok();
        ok && stored.is_some()
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"not a real password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_at_a_lower_priority_and_still_check() {
        let before = rustix::process::getpriority_process(None).expect("getpriority");
        let nice = on_hashing_thread(|| rustix::process::getpriority_process(None))
            .await
            .expect("ran")
            .expect("getpriority");
        assert_eq!(
            nice,
            (before + HASHING_NICE).min(19),
            "hashing at nice {nice}"
        );
        // The caller's thread is untouched.
        assert_eq!(
            rustix::process::getpriority_process(None).expect("getpriority"),
            before
        );
        let stored = hash("correct horse".to_owned()).await.expect("hash");
        assert!(
            verify("correct horse".to_owned(), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong".to_owned(), Some(stored))
                .await
                .expect("verify")
        );
    }
}
