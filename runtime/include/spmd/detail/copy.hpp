// The one routine for bulk copies into and out of user buffers (messages, collectives,
// queues, kernels' shared arrays), chosen per CPU at startup rather than left to one
// libc's choice. On Intel CPUs with fast `rep movsb` (ERMS and FSRM) it is that string
// copy, as fast as the best vector loop at every alignment there; elsewhere it aligns the
// destination and moves vectors with unaligned loads and aligned stores, so its speed
// does not depend on how source and destination sit relative to each other (`rep movsb`
// runs at a tenth of its speed on AMD Zen 3 when the two are misaligned).
#pragma once
#include <cstddef>
#include <cstring>

namespace spmd::detail {

// The copies it can use, picked at run time (so a library built without -march=native is
// as fast as one built with it): rep_movsb on Intel where it is fast, else the widest
// vector loop the CPU supports.
enum class CopyPath { sse2, avx2, avx512, rep_movsb };

// Below this size a copy is a few overlapping vector moves either way: libc's memcpy
// (or the compiler's inline moves, for a constant size) does it best.
inline constexpr std::size_t copy_small_bytes = 256;

void copy_large(void* dst, const void* src, std::size_t bytes) noexcept;

// memcpy's contract: the ranges do not overlap.
inline void copy_bytes(void* dst, const void* src, std::size_t bytes) noexcept {
    if (bytes <= copy_small_bytes) {
        if (bytes != 0) std::memcpy(dst, src, bytes);  // an empty vector's data() may be null
    } else
        copy_large(dst, src, bytes);
}

// With non-temporal stores: for a large destination that no one reads soon (it would
// only evict the caches' useful contents). Streamed stores are weakly ordered: call
// store_fence() after a batch of them, before anything tells another rank they are done.
void copy_streaming(void* dst, const void* src, std::size_t bytes) noexcept;
inline void store_fence() noexcept {
    __builtin_ia32_sfence();
}

// For tests and benchmarks: the path copy_bytes uses, whether one is usable here, and a
// copy through a chosen (supported) path.
CopyPath copy_path();
bool copy_path_supported(CopyPath path);
const char* copy_path_name(CopyPath path);
void copy_via(CopyPath path, bool streaming, void* dst, const void* src,
              std::size_t bytes) noexcept;

}  // namespace spmd::detail
