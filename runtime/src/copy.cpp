// One copy loop per vector width. A plain copy stores the first and the last vector
// unaligned, and everything between with aligned stores from unaligned loads: then no
// store splits a cache line, whatever the source's alignment. A streaming copy writes
// whole 64-byte lines with non-temporal stores and the partial lines at either end with
// ordinary ones, since a line written both ways is read into the cache for the ordinary
// store and flushed again for the streamed one. The loops are written out per width
// rather than generated, because each must be compiled for its own instruction set.
#include "spmd/detail/copy.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace spmd::detail {

namespace {

// Bytes to skip so that d + skip is aligned to `width` (1..width: the head store covers
// them, and a skip of `width` keeps the loop simple when d is already aligned).
template <std::size_t width>
std::size_t to_alignment(const std::byte* d) {
    return width - (reinterpret_cast<std::uintptr_t>(d) & (width - 1));
}

// Bytes before the next 64-byte line boundary at or after d (0..63).
std::size_t to_line(const std::byte* d) {
    return (64 - (reinterpret_cast<std::uintptr_t>(d) & 63)) & 63;
}

// The plain loops need n >= their vector width; copy_via guarantees 64.

void copy_sse2(std::byte* d, const std::byte* s, std::size_t n) {
    using V = __m128i;
    constexpr std::size_t w = sizeof(V);
    const V head = _mm_loadu_si128(reinterpret_cast<const V*>(s));
    const V tail = _mm_loadu_si128(reinterpret_cast<const V*>(s + n - w));
    std::byte* const last = d + n - w;
    _mm_storeu_si128(reinterpret_cast<V*>(d), head);
    const std::size_t skip = to_alignment<w>(d);
    d += skip, s += skip, n -= skip;
    auto* out = reinterpret_cast<V*>(d);
    auto* in = reinterpret_cast<const V*>(s);
    for (; n > 4 * w; n -= 4 * w, in += 4, out += 4) {
        const V a = _mm_loadu_si128(in), b = _mm_loadu_si128(in + 1), c = _mm_loadu_si128(in + 2),
                e = _mm_loadu_si128(in + 3);
        _mm_store_si128(out, a), _mm_store_si128(out + 1, b);
        _mm_store_si128(out + 2, c), _mm_store_si128(out + 3, e);
    }
    for (; n > w; n -= w) _mm_store_si128(out++, _mm_loadu_si128(in++));
    _mm_storeu_si128(reinterpret_cast<V*>(last), tail);
}

[[gnu::target("avx2")]] void copy_avx2(std::byte* d, const std::byte* s, std::size_t n) {
    using V = __m256i;
    constexpr std::size_t w = sizeof(V);
    const V head = _mm256_loadu_si256(reinterpret_cast<const V*>(s));
    const V tail = _mm256_loadu_si256(reinterpret_cast<const V*>(s + n - w));
    std::byte* const last = d + n - w;
    _mm256_storeu_si256(reinterpret_cast<V*>(d), head);
    const std::size_t skip = to_alignment<w>(d);
    d += skip, s += skip, n -= skip;
    auto* out = reinterpret_cast<V*>(d);
    auto* in = reinterpret_cast<const V*>(s);
    for (; n > 4 * w; n -= 4 * w, in += 4, out += 4) {
        const V a = _mm256_loadu_si256(in), b = _mm256_loadu_si256(in + 1),
                c = _mm256_loadu_si256(in + 2), e = _mm256_loadu_si256(in + 3);
        _mm256_store_si256(out, a), _mm256_store_si256(out + 1, b);
        _mm256_store_si256(out + 2, c), _mm256_store_si256(out + 3, e);
    }
    for (; n > w; n -= w) _mm256_store_si256(out++, _mm256_loadu_si256(in++));
    _mm256_storeu_si256(reinterpret_cast<V*>(last), tail);
    _mm256_zeroupper();  // callers may run SSE code next
}

[[gnu::target("avx512f")]] void copy_avx512(std::byte* d, const std::byte* s, std::size_t n) {
    using V = __m512i;
    constexpr std::size_t w = sizeof(V);
    const V head = _mm512_loadu_si512(s);
    const V tail = _mm512_loadu_si512(s + n - w);
    std::byte* const last = d + n - w;
    _mm512_storeu_si512(d, head);
    const std::size_t skip = to_alignment<w>(d);
    d += skip, s += skip, n -= skip;
    auto* out = reinterpret_cast<V*>(d);
    auto* in = reinterpret_cast<const V*>(s);
    for (; n > 4 * w; n -= 4 * w, in += 4, out += 4) {
        const V a = _mm512_loadu_si512(in), b = _mm512_loadu_si512(in + 1),
                c = _mm512_loadu_si512(in + 2), e = _mm512_loadu_si512(in + 3);
        _mm512_store_si512(out, a), _mm512_store_si512(out + 1, b);
        _mm512_store_si512(out + 2, c), _mm512_store_si512(out + 3, e);
    }
    for (; n > w; n -= w) _mm512_store_si512(out++, _mm512_loadu_si512(in++));
    _mm512_storeu_si512(last, tail);
    _mm256_zeroupper();
}

// The CPU's own string copy; its speed is the microcode's, which differs by vendor.
void copy_rep_movsb(std::byte* d, const std::byte* s, std::size_t n) {
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

// Enhanced REP MOVSB (CPUID leaf 7: EBX bit 9) and fast short REP MOVSB (EDX bit 4).
bool has_fast_rep_movsb() {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & (1u << 9)) && (d & (1u << 4));
}

void stream_sse2(std::byte* d, const std::byte* s, std::size_t n) {
    const std::size_t head = std::min(n, to_line(d));
    std::memcpy(d, s, head);
    d += head, s += head, n -= head;
    for (; n >= 64; n -= 64, d += 64, s += 64) {
        auto* out = reinterpret_cast<__m128i*>(d);
        auto* in = reinterpret_cast<const __m128i*>(s);
        const __m128i a = _mm_loadu_si128(in), b = _mm_loadu_si128(in + 1),
                      c = _mm_loadu_si128(in + 2), e = _mm_loadu_si128(in + 3);
        _mm_stream_si128(out, a), _mm_stream_si128(out + 1, b);
        _mm_stream_si128(out + 2, c), _mm_stream_si128(out + 3, e);
    }
    std::memcpy(d, s, n);
}

[[gnu::target("avx2")]] void stream_avx2(std::byte* d, const std::byte* s, std::size_t n) {
    const std::size_t head = std::min(n, to_line(d));
    std::memcpy(d, s, head);
    d += head, s += head, n -= head;
    for (; n >= 64; n -= 64, d += 64, s += 64) {
        auto* out = reinterpret_cast<__m256i*>(d);
        auto* in = reinterpret_cast<const __m256i*>(s);
        const __m256i a = _mm256_loadu_si256(in), b = _mm256_loadu_si256(in + 1);
        _mm256_stream_si256(out, a), _mm256_stream_si256(out + 1, b);
    }
    std::memcpy(d, s, n);
    _mm256_zeroupper();
}

[[gnu::target("avx512f")]] void stream_avx512(std::byte* d, const std::byte* s, std::size_t n) {
    const std::size_t head = std::min(n, to_line(d));
    std::memcpy(d, s, head);
    d += head, s += head, n -= head;
    for (; n >= 64; n -= 64, d += 64, s += 64)
        _mm512_stream_si512(reinterpret_cast<__m512i*>(d), _mm512_loadu_si512(s));
    std::memcpy(d, s, n);
    _mm256_zeroupper();
}

CopyPath widest_vector() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return CopyPath::avx512;
    if (__builtin_cpu_supports("avx2")) return CopyPath::avx2;
    return CopyPath::sse2;  // every x86-64 CPU has it
}

}  // namespace

CopyPath copy_path() {
    // Intel's fast string copy has no alignment cliff and matches or beats the vector
    // loops from 64 KiB to 16 MiB (bench_copy); AMD's (Zen 3) has one, so AMD keeps them.
    static const CopyPath chosen =
        __builtin_cpu_is("intel") && has_fast_rep_movsb() ? CopyPath::rep_movsb : widest_vector();
    return chosen;
}

bool copy_path_supported(CopyPath path) {
    __builtin_cpu_init();
    switch (path) {
        case CopyPath::sse2:
            return true;
        case CopyPath::avx2:
            return __builtin_cpu_supports("avx2");
        case CopyPath::avx512:
            return __builtin_cpu_supports("avx512f");
        case CopyPath::rep_movsb:
            return has_fast_rep_movsb();
    }
    return false;
}

const char* copy_path_name(CopyPath path) {
    switch (path) {
        case CopyPath::sse2:
            return "sse2";
        case CopyPath::avx2:
            return "avx2";
        case CopyPath::avx512:
            return "avx512";
        case CopyPath::rep_movsb:
            return "rep_movsb";
    }
    return "?";
}

void copy_via(CopyPath path, bool streaming, void* dst, const void* src,
              std::size_t bytes) noexcept {
    if (bytes < 64) {
        std::memcpy(dst, src, bytes);
        return;
    }
    auto* d = static_cast<std::byte*>(dst);
    const auto* s = static_cast<const std::byte*>(src);
    switch (path) {
        case CopyPath::sse2:
            return streaming ? stream_sse2(d, s, bytes) : copy_sse2(d, s, bytes);
        case CopyPath::avx2:
            return streaming ? stream_avx2(d, s, bytes) : copy_avx2(d, s, bytes);
        case CopyPath::avx512:
            return streaming ? stream_avx512(d, s, bytes) : copy_avx512(d, s, bytes);
        case CopyPath::rep_movsb:  // it has no streaming form of its own
            return copy_rep_movsb(d, s, bytes);
    }
}

void copy_large(void* dst, const void* src, std::size_t bytes) noexcept {
    copy_via(copy_path(), false, dst, src, bytes);
}

void copy_streaming(void* dst, const void* src, std::size_t bytes) noexcept {
    static const CopyPath vector = widest_vector();  // rep movsb has no streaming form
    copy_via(vector, true, dst, src, bytes);
}

}  // namespace spmd::detail
