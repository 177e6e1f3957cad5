//! One policy for poisoned locks, for every `std::sync` lock in Kairos: a thread that panicked
//! while holding one leaves the value it held, and every writer here replaces a whole value or
//! makes one insert or removal, so that value is still consistent. The next user takes it as it
//! is: a poisoned lock never silently skips an update (a kill-switch change must land) and
//! never turns into an error for a caller that did nothing wrong.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, RwLock};

    #[test]
    fn a_poisoned_lock_still_gives_its_value_and_takes_updates() {
        let shared = Arc::new((Mutex::new(1), RwLock::new(1)));
        let poisoner = shared.clone();
        let _ = std::thread::spawn(move || {
            let _m = poisoner.0.lock();
            let _w = poisoner.1.write();
            panic!("poison both");
        })
        .join();
        assert!(shared.0.is_poisoned() && shared.1.is_poisoned());
        *super::lock(&shared.0) += 1;
        *super::write(&shared.1) += 1;
        assert_eq!((*super::lock(&shared.0), *super::read(&shared.1)), (2, 2));
    }
}
