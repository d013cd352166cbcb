//! The wasm32 heap: std's allocator (dlmalloc) with one change, how it asks for memory.
//!
//! std's dlmalloc grows linear memory by what each request needs, about 64 KiB at a time, and
//! in Node and browsers every `memory.grow` costs time proportional to the memory already
//! there (measured: ~0.5 ms per grow at 190 MiB). A store that keeps growing (records, history,
//! the event log) then spends most of its time growing memory: a quarter of the benchmark's
//! time at 15k executions, more the longer it runs. Here memory grows by at least an eighth of
//! its size (64 KiB to 64 MiB per step), so the number of grows is logarithmic in the heap size;
//! the cost is at most an eighth more memory reserved than used.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

use dlmalloc::{Allocator, Dlmalloc};

const PAGE: usize = 64 * 1024;
/// The largest step taken beyond what a request needs (1024 pages = 64 MiB).
const MAX_STEP_PAGES: usize = 1024;

/// Linear memory as dlmalloc's source of segments.
struct Pages;

// SAFETY: segments are fresh pages at the end of linear memory, never handed out twice; wasm
// linear memory cannot shrink, so nothing is ever released (the free/remap hooks say so).
unsafe impl Allocator for Pages {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let need = size.div_ceil(PAGE);
        let step = (wasm32::memory_size(0) / 8).min(MAX_STEP_PAGES);
        let mut pages = need.max(step);
        let mut prev = wasm32::memory_grow(0, pages);
        if prev == usize::MAX && pages > need {
            // Near the 4 GiB limit: take just what this request needs.
            pages = need;
            prev = wasm32::memory_grow(0, pages);
        }
        if prev == usize::MAX {
            return (ptr::null_mut(), 0, 0);
        }
        let base = prev * PAGE;
        let len = pages * PAGE;
        // A segment may not end at address 0 (the top of the 4 GiB space): as std's dlmalloc
        // does, leave its last bytes out.
        if base.wrapping_add(len) == 0 {
            return (base as *mut u8, len - 16, 0);
        }
        (base as *mut u8, len, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

/// The global allocator. wasm32 here has no threads (the build has no `atomics` feature), so
/// the allocator needs no lock; allocation never re-enters it.
struct Heap(UnsafeCell<Dlmalloc<Pages>>);

// SAFETY: single-threaded target, see above.
unsafe impl Sync for Heap {}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(Dlmalloc::new_with_allocator(Pages)));

// SAFETY: each method forwards to dlmalloc with the caller's layout, which is its contract; the
// `&mut` to the allocator is unique because nothing else runs during the call.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(p, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(p, layout.size(), layout.align(), new_size) }
    }
}
