//! An allocator for the flow index, which is reserved at start for the full flow
//! capacity (tens of MiB) and then written at random places. Backed by 4 KiB pages,
//! nearly every insert into a young table touches a new page: a page fault, and a TLB
//! miss on most lookups later. This allocator maps large tables at a 2 MiB boundary
//! and requests transparent huge pages with `MADV_HUGEPAGE`, so the kernel backs
//! them with a few 2 MiB pages when its THP mode is `madvise` or `always`.
//!
//! The block is also faulted in at once (`MADV_POPULATE_WRITE`). A huge page fault
//! zeroes 2 MiB and may wait for the kernel to compact memory, which belongs at
//! start-up and not in the packet path, and random inserts touch every part of the
//! table soon anyway.
//!
//! Where the kernel has THP off (`never`), the advice is ignored and the table is
//! backed by 4 KiB pages, still faulted in at once. Small requests go to the global
//! allocator.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};

/// Size and alignment of a transparent huge page on x86-64, and on arm64 with 4 KiB
/// base pages.
const HUGE_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Alignment that `mmap` guarantees, so the largest alignment a mapped request may have.
const PAGE_BYTES: usize = 4096;

/// Maps requests of at least one huge page with `mmap` and `MADV_HUGEPAGE`; passes
/// smaller ones to [`Global`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HugePageAlloc;

impl HugePageAlloc {
    fn is_mapped(layout: Layout) -> bool {
        layout.size() >= HUGE_PAGE_BYTES && layout.align() <= PAGE_BYTES
    }
}

/// `size` rounded up to whole huge pages, or `None` on overflow.
fn mapped_len(size: usize) -> Option<usize> {
    size.checked_next_multiple_of(HUGE_PAGE_BYTES)
}

// SAFETY: mapped blocks are private anonymous mappings of at least `layout.size()`
// bytes, aligned to 2 MiB (above any accepted `layout.align()`), that stay valid until
// `deallocate` unmaps exactly the range `allocate` kept. Other requests follow
// `Global`'s contract.
unsafe impl Allocator for HugePageAlloc {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if !Self::is_mapped(layout) {
            return Global.allocate(layout);
        }
        let len = mapped_len(layout.size()).ok_or(AllocError)?;
        // One extra huge page of address space leaves room to start at a 2 MiB
        // boundary. The unused head and tail are unmapped at once.
        let reserve = len.checked_add(HUGE_PAGE_BYTES).ok_or(AllocError)?;
        // SAFETY: an anonymous private mapping at an address the kernel picks has no
        // preconditions.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(AllocError);
        }
        let base_addr = base as usize;
        let start = base_addr.next_multiple_of(HUGE_PAGE_BYTES);
        let head = start - base_addr;
        let tail = reserve - head - len;
        // SAFETY: both ranges lie inside the mapping made above, are page-aligned
        // (mmap returns page-aligned addresses, and `head` and `len` are multiples of
        // the page size), and nothing points into them.
        unsafe {
            if head > 0 {
                libc::munmap(base, head);
            }
            if tail > 0 {
                libc::munmap((start + len) as *mut libc::c_void, tail);
            }
            // Advice only: a kernel without THP, or with THP off, returns an error or
            // ignores it, and the table still works on 4 KiB pages.
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
        populate(start, len);
        let pointer = NonNull::new(start as *mut u8).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(pointer, len))
    }

    unsafe fn deallocate(&self, pointer: NonNull<u8>, layout: Layout) {
        if !Self::is_mapped(layout) {
            // SAFETY: the caller passes a block that `allocate` took from `Global`
            // with this layout.
            unsafe { Global.deallocate(pointer, layout) };
            return;
        }
        let Some(len) = mapped_len(layout.size()) else {
            return;
        };
        // SAFETY: `allocate` kept exactly `len` bytes mapped at `pointer` for this
        // layout, and the caller no longer uses them.
        unsafe {
            libc::munmap(pointer.as_ptr().cast(), len);
        }
    }
}

/// Faults in the `len` bytes at `start`, which `allocate` just mapped.
fn populate(start: usize, len: usize) {
    // SAFETY: the range is a private anonymous mapping that this allocator owns.
    let rc = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
    if rc == 0 {
        return;
    }
    // Kernels before 5.14 lack MADV_POPULATE_WRITE: write one byte of each page.
    for page in (start..start + len).step_by(PAGE_BYTES) {
        // SAFETY: `page` lies inside the mapping, which is writable and still zero,
        // so writing zero changes no value.
        unsafe { (page as *mut u8).write_volatile(0) };
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
    fn large_block_starts_zeroed() {
        let layout = Layout::from_size_align(HUGE_PAGE_BYTES, 8).unwrap();
        let block = HugePageAlloc.allocate(layout).unwrap();
        // SAFETY: the block is `HUGE_PAGE_BYTES` readable bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts(block.cast::<u8>().as_ptr(), layout.size()) };
        assert!(bytes.iter().all(|&byte| byte == 0));
        // SAFETY: allocated above with this layout.
        unsafe { HugePageAlloc.deallocate(block.cast(), layout) };
    }

    #[test]
    fn large_block_is_resident_at_once() {
        let layout = Layout::from_size_align(2 * HUGE_PAGE_BYTES, 8).unwrap();
        let block = HugePageAlloc.allocate(layout).unwrap();
        let pages = block.len() / PAGE_BYTES;
        let mut resident = vec![0u8; pages];
        // SAFETY: the block is a mapping of `block.len()` bytes, and `resident` has one
        // byte per page of it.
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
    fn small_block_uses_global() {
        let layout = Layout::from_size_align(64, 8).unwrap();
        let block = HugePageAlloc.allocate(layout).unwrap();
        assert!(block.len() >= 64);
        // SAFETY: allocated above with this layout.
        unsafe { HugePageAlloc.deallocate(block.cast(), layout) };
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
