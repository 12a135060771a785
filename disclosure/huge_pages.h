#pragma once

// An allocator for the engine's large record buffers. Buffers of 4 MiB and more are aligned to
// 2 MiB and marked MADV_HUGEPAGE, so the kernel backs them with huge pages where transparent
// huge pages are enabled on request: one fault per 2 MiB instead of 512, which at a million
// records is a sizeable part of the run time. Smaller buffers come from the heap as usual.

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>

namespace kura::disclosure {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < 2 * kHugePage) {
      void* p = std::malloc(bytes);
      if (p == nullptr) std::abort();  // Out of memory: as std::allocator would end, uncaught.
      return static_cast<T*>(p);
    }
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) std::abort();
    ::madvise(p, rounded, MADV_HUGEPAGE);  // Advice only; failure changes nothing but speed.
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

}  // namespace kura::disclosure
