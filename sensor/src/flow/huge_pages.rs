//! An allocator for the flow index, which is reserved at start for the full flow
//! capacity (tens of MiB) and then written at random places. Backed by 4 KiB pages,
//! nearly every insert into a young table touches a new page: a page fault, and a TLB
//! miss on most lookups later. This allocator takes large tables from the global
//! allocator at a 2 MiB boundary, in whole 2 MiB units, and requests transparent huge
//! pages for them with `MADV_HUGEPAGE`. The kernel then backs them with a few 2 MiB
//! pages when its THP mode is `madvise` or `always`.
//!
//! The block is also faulted in at once (`MADV_POPULATE_WRITE`). A huge page fault
//! zeroes 2 MiB and may wait for the kernel to compact memory, which belongs at
//! start-up and not in the packet path, and random inserts touch every part of the
//! table soon anyway.
//!
//! Where the kernel has THP off (`never`), the advice is ignored and the table is
//! backed by 4 KiB pages, still faulted in at once. Small requests go to the global
//! allocator unchanged. Every block comes from the global allocator, so a counting
//! allocator (as in the memory benchmark) counts the index.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};

/// Size and alignment of a transparent huge page on x86-64, and on arm64 with 4 KiB
/// base pages.
const HUGE_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// The smallest page size of the supported targets, the step of the fallback that
/// faults a block in page by page.
const PAGE_BYTES: usize = 4096;

/// Takes blocks of at least one huge page from [`Global`] at a huge page boundary,
/// advises huge pages for them and faults them in. Smaller requests pass through.
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePageAlloc;

/// Returns the layout requested from [`Global`] for `layout`: whole huge pages at a
/// huge page boundary. Returns `None` for a request smaller than a huge page, which
/// passes through unchanged.
fn huge_layout(layout: Layout) -> Option<Layout> {
    if layout.size() < HUGE_PAGE_BYTES {
        return None;
    }
    let size = layout.size().checked_next_multiple_of(HUGE_PAGE_BYTES)?;
    Layout::from_size_align(size, layout.align().max(HUGE_PAGE_BYTES)).ok()
}

// SAFETY: every block comes from `Global`. `deallocate` returns it to `Global` with the
// layout it was requested with, because `huge_layout` returns the same layout for the
// same `layout`. A large block is at least `layout.size()` bytes, at an alignment of at
// least `layout.align()`. Populating the block writes at most zeros into a block whose
// contents are unspecified.
unsafe impl Allocator for HugePageAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let Some(huge) = huge_layout(layout) else {
            return Global.allocate(layout);
        };
        let block = Global.allocate(huge)?;
        let start = block.cast::<u8>().as_ptr();
        // SAFETY: the range is the block just allocated, which starts at a huge page
        // boundary and is whole huge pages long. Advice only: a kernel without THP,
        // or with THP off, rejects or ignores it, and the block works on 4 KiB pages.
        unsafe {
            libc::madvise(start.cast(), huge.size(), libc::MADV_HUGEPAGE);
        }
        populate(start, huge.size());
        Ok(block)
    }

    unsafe fn deallocate(&self, pointer: NonNull<u8>, layout: Layout) {
        let layout = huge_layout(layout).unwrap_or(layout);
        // SAFETY: the caller passes a block from `allocate` with the layout it asked
        // for, and `allocate` took it from `Global` with this layout.
        unsafe { Global.deallocate(pointer, layout) };
    }
}

/// Faults in the `len` bytes at `start`, a block that `allocate` owns.
fn populate(start: *mut u8, len: usize) {
    // SAFETY: the range is one writable block. MADV_POPULATE_WRITE faults its pages in
    // as if written, without changing a byte.
    let rc = unsafe { libc::madvise(start.cast(), len, libc::MADV_POPULATE_WRITE) };
    if rc == 0 {
        return;
    }
    // Kernels before 5.14 lack MADV_POPULATE_WRITE: write a zero to each page. The
    // block is not initialized yet, so reading its bytes first would be undefined
    // behaviour, and no caller may expect any content.
    for offset in (0..len).step_by(PAGE_BYTES) {
        // SAFETY: `offset` is inside the block, which this allocator owns and nothing
        // else uses yet.
        unsafe { start.add(offset).write_volatile(0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_block_is_aligned_and_writable() {
        let layout = Layout::from_size_align(3 * HUGE_PAGE_BYTES + 5, 16).unwrap();
        let block = HugePageAlloc.allocate(layout).unwrap();
        let start = block.cast::<u8>().as_ptr();
        assert_eq!(start as usize % HUGE_PAGE_BYTES, 0);
        assert_eq!(block.len(), 4 * HUGE_PAGE_BYTES);
        // SAFETY: the block is at least `layout.size()` writable bytes.
        unsafe {
            start.write(1);
            start.add(layout.size() - 1).write(2);
            assert_eq!(start.read(), 1);
            assert_eq!(start.add(layout.size() - 1).read(), 2);
            HugePageAlloc.deallocate(block.cast(), layout);
        }
    }

    #[test]
    fn large_block_is_resident_at_once() {
        let layout = Layout::from_size_align(2 * HUGE_PAGE_BYTES, 8).unwrap();
        let block = HugePageAlloc.allocate(layout).unwrap();
        let pages = block.len() / PAGE_BYTES;
        let mut resident = vec![0u8; pages];
        // SAFETY: the block is `block.len()` bytes from a page boundary, and `resident`
        // has one byte per page of it.
        let rc = unsafe {
            libc::mincore(
                block.cast::<libc::c_void>().as_ptr(),
                block.len(),
                resident.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "mincore failed: {}", std::io::Error::last_os_error());
        assert!(
            resident.iter().all(|&page| page & 1 == 1),
            "a page is not resident"
        );
        // SAFETY: allocated above with this layout.
        unsafe { HugePageAlloc.deallocate(block.cast(), layout) };
    }

    #[test]
    fn small_block_passes_through() {
        let layout = Layout::from_size_align(64, 8).unwrap();
        assert_eq!(huge_layout(layout), None);
        let block = HugePageAlloc.allocate(layout).unwrap();
        assert_eq!(block.len(), 64);
        // SAFETY: allocated above with this layout.
        unsafe { HugePageAlloc.deallocate(block.cast(), layout) };
    }

    #[test]
    fn huge_layout_rounds_up_and_aligns() {
        let layout = Layout::from_size_align(HUGE_PAGE_BYTES + 1, 64).unwrap();
        let huge = huge_layout(layout).unwrap();
        assert_eq!(huge.size(), 2 * HUGE_PAGE_BYTES);
        assert_eq!(huge.align(), HUGE_PAGE_BYTES);
        assert_eq!(
            huge_layout(huge),
            Some(huge),
            "a huge layout maps to itself"
        );
    }

    #[test]
    fn table_in_huge_pages_keeps_entries() {
        let mut table = hashbrown::HashTable::with_capacity_in(1 << 20, HugePageAlloc);
        let hash = |value: &u64| value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for value in 0..100_000u64 {
            table.insert_unique(hash(&value), value, hash);
        }
        for value in (0..100_000u64).step_by(997) {
            assert_eq!(
                table.find(hash(&value), |&other| other == value),
                Some(&value)
            );
        }
        assert_eq!(table.find(hash(&100_001), |&other| other == 100_001), None);
    }
}
