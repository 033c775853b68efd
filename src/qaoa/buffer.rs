//! Large zero-initialised buffers for state vectors: 2 MiB aligned and, on Linux, marked
//! for transparent huge pages (`madvise(MADV_HUGEPAGE)`, honoured when THP is `always` or
//! `madvise`). A high-pass tile of the CPU simulator touches up to 1024 rows in as many
//! 4 KiB pages; with 2 MiB pages the TLB covers them.

use std::alloc::{Layout, alloc, dealloc};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment (and THP size) of the buffers.
const HUGE: usize = 2 << 20;

/// A fixed-length, zero-initialised, huge-page-aligned array of `T`.
pub(crate) struct BigBuf<T: bytemuck::Zeroable> {
    ptr: NonNull<T>,
    len: usize,
    layout: Layout,
}

// SAFETY: the buffer owns its elements like a Vec<T>.
unsafe impl<T: bytemuck::Zeroable + Send> Send for BigBuf<T> {}
// SAFETY: shared access only hands out &[T].
unsafe impl<T: bytemuck::Zeroable + Sync> Sync for BigBuf<T> {}

impl<T: bytemuck::Zeroable> BigBuf<T> {
    /// `len` zeroed elements, or `None` when the allocation fails.
    pub(crate) fn zeroed(len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?.max(1);
        let align = HUGE.max(std::mem::align_of::<T>());
        let layout = Layout::from_size_align(bytes.checked_next_multiple_of(align)?, align).ok()?;
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc(layout) };
        let ptr = NonNull::new(raw as *mut T)?;
        // The advice must come before the pages are first touched (the system allocator's
        // `alloc_zeroed` writes the zeros itself for over-aligned layouts, so it is not used).
        #[cfg(target_os = "linux")]
        // SAFETY: advice on memory this buffer owns; failure only means no huge pages.
        unsafe {
            libc::madvise(raw as *mut libc::c_void, layout.size(), libc::MADV_HUGEPAGE);
        }
        // SAFETY: `raw` is valid for `layout.size()` bytes; all-zero bytes are a valid T.
        unsafe { std::ptr::write_bytes(raw, 0, layout.size()) };
        Some(BigBuf { ptr, len, layout })
    }
}

impl<T: bytemuck::Zeroable> Deref for BigBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised (zeroed) elements live at `ptr` while `self` does.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: bytemuck::Zeroable> DerefMut for BigBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: bytemuck::Zeroable> Drop for BigBuf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout.
        unsafe { dealloc(self.ptr.as_ptr() as *mut u8, self.layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_aligned_and_writable() {
        let mut b = BigBuf::<f64>::zeroed(3_000_000).unwrap();
        assert_eq!(b.len(), 3_000_000);
        assert_eq!(b.as_ptr() as usize % HUGE, 0);
        assert!(b.iter().all(|&x| x == 0.0));
        b[2_999_999] = 1.5;
        assert_eq!(b.iter().sum::<f64>(), 1.5);
        assert!(BigBuf::<u8>::zeroed(usize::MAX).is_none());
    }
}
