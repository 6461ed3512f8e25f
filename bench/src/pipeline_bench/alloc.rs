//! A global allocator wrapper that counts the heap bytes the calling thread holds, for
//! the memory benchmark. A binary installs it with `#[global_allocator]`.
//!
//! The counters are thread-local and plain (no atomic read-modify-write), so counting
//! costs a few instructions per allocation. They are exact for a thread that frees
//! what it allocated; memory freed by another thread is counted there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// Bytes this thread has allocated and not freed.
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    /// Maximum of `CURRENT` since the last [`reset_peak`].
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// The system allocator with per-thread byte counts.
pub struct CountingAlloc;

fn add(delta: i64) {
    // `try_with` fails only while the thread's locals are being destroyed; those
    // allocations go uncounted.
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + delta;
        current.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// only updates thread-local counters, which neither allocate nor unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a pointer from this allocator with its layout.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        new_ptr
    }
}

/// Returns the heap bytes the calling thread has allocated and not freed (requested sizes, without the
/// allocator's own overhead).
pub fn current_bytes() -> i64 {
    CURRENT.try_with(Cell::get).unwrap_or(0)
}

/// Returns the maximum of [`current_bytes`] since the last [`reset_peak`].
pub fn peak_bytes() -> i64 {
    PEAK.try_with(Cell::get).unwrap_or(0)
}

/// Starts a new peak measurement at the current value.
pub fn reset_peak() {
    let now = current_bytes();
    let _ = PEAK.try_with(|peak| peak.set(now));
}
