// spmd::detail's copy routine against memcpy: every vector path this CPU supports, plain
// and streaming, for every size up to 320 bytes at every pair of source and destination
// offsets 0..63 (every alignment class of the widest vector, 64 bytes: the paths align to
// no more), and for large sizes at several offsets; nothing outside the destination
// range is touched. Also: the path copy_bytes picks is one the CPU supports.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <spmd/detail/copy.hpp>
#include <string>
#include <vector>

using spmd::detail::CopyPath;

namespace {

constexpr std::size_t guard = 64;  // bytes checked on each side of the destination

// Position-dependent bytes, so a copy from a wrong offset shows up.
std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> v(n);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b = std::byte(x >> 24);
    }
    return v;
}

// A buffer whose data() is 128-byte aligned, so offsets are offsets from alignment.
struct Aligned {
    explicit Aligned(std::size_t n) : storage(n + 128) {}
    std::byte* data() {
        auto p = reinterpret_cast<std::uintptr_t>(storage.data());
        return storage.data() + ((128 - p % 128) % 128);
    }
    std::vector<std::byte> storage;
};

struct Variant {
    std::string name;
    CopyPath path;
    bool streaming;
};

std::vector<Variant> variants() {
    std::vector<Variant> v;
    for (CopyPath p : {CopyPath::sse2, CopyPath::avx2, CopyPath::avx512, CopyPath::rep_movsb})
        if (spmd::detail::copy_path_supported(p))
            for (bool streaming : {false, true})
                v.push_back(
                    {std::string(spmd::detail::copy_path_name(p)) + (streaming ? "+streaming" : ""),
                     p, streaming});
    return v;
}

// Copies n bytes from src + so to dst + d0 and checks the destination range and its
// guards against the reference; returns an empty string or what went wrong.
template <class Copy>
std::string check_one(Copy&& copy, const std::byte* src, std::byte* dst,
                      const std::vector<std::byte>& fill, std::size_t so, std::size_t d0,
                      std::size_t n) {
    std::byte* d = dst + guard + d0;
    copy(d, src + so, n);
    if (n && std::memcmp(d, src + so, n) != 0) return "wrong bytes";
    if (std::memcmp(d - guard, fill.data() + d0, guard) != 0) return "wrote before the range";
    if (std::memcmp(d + n, fill.data() + d0 + guard + n, guard) != 0) return "wrote past the range";
    std::memcpy(d, fill.data() + guard + d0, n);  // restore for the next case
    return {};
}

}  // namespace

TEST_CASE("every path copies every small size at every offset pair like memcpy") {
    constexpr std::size_t max_size = 320, offsets = 64;
    Aligned src_buf(max_size + offsets), dst_buf(max_size + offsets + 2 * guard);
    const auto src_bytes = pattern(max_size + offsets, 1);
    std::memcpy(src_buf.data(), src_bytes.data(), src_bytes.size());
    const auto fill = pattern(max_size + offsets + 2 * guard, 2);
    std::memcpy(dst_buf.data(), fill.data(), fill.size());
    for (const Variant& v : variants()) {
        INFO("path " << v.name);
        auto copy = [&](void* d, const void* s, std::size_t n) {
            spmd::detail::copy_via(v.path, v.streaming, d, s, n);
        };
        std::size_t failures = 0;
        for (std::size_t n = 0; n <= max_size; ++n)
            for (std::size_t so = 0; so < offsets; ++so)
                for (std::size_t d0 = 0; d0 < offsets; ++d0) {
                    const std::string what =
                        check_one(copy, src_buf.data(), dst_buf.data(), fill, so, d0, n);
                    if (!what.empty() && failures++ == 0)
                        FAIL_CHECK(what << ": size " << n << ", source offset " << so
                                        << ", destination offset " << d0);
                }
        CHECK(failures == 0);
    }
}

TEST_CASE("copy_bytes and copy_streaming agree with memcpy around the small-size threshold") {
    const std::size_t limit = spmd::detail::copy_small_bytes + 300;
    Aligned src_buf(limit + 64), dst_buf(limit + 64 + 2 * guard);
    const auto src_bytes = pattern(limit + 64, 3);
    std::memcpy(src_buf.data(), src_bytes.data(), src_bytes.size());
    const auto fill = pattern(limit + 64 + 2 * guard, 4);
    std::memcpy(dst_buf.data(), fill.data(), fill.size());
    for (std::size_t n = 0; n <= limit; ++n)
        for (std::size_t so : {0, 1, 16, 33})
            for (std::size_t d0 : {0, 8, 16, 63}) {
                INFO("size " << n << ", source offset " << so << ", destination offset " << d0);
                CHECK(check_one(spmd::detail::copy_bytes, src_buf.data(), dst_buf.data(), fill, so,
                                d0, n) == "");
                CHECK(check_one(spmd::detail::copy_streaming, src_buf.data(), dst_buf.data(), fill,
                                so, d0, n) == "");
            }
}

TEST_CASE("every path copies large sizes at several offsets like memcpy") {
    const std::size_t largest = (std::size_t(16) << 20) + 1000;
    Aligned src_buf(largest + 128), dst_buf(largest + 128 + 2 * guard);
    const auto src_bytes = pattern(largest + 128, 5);
    std::memcpy(src_buf.data(), src_bytes.data(), src_bytes.size());
    const auto fill = pattern(largest + 128 + 2 * guard, 6);
    std::memcpy(dst_buf.data(), fill.data(), fill.size());
    for (const Variant& v : variants())
        for (std::size_t n : {std::size_t(4096) + 7, std::size_t(65536), std::size_t(1 << 20) + 13,
                              std::size_t(16) << 20, largest})
            for (auto [so, d0] : {std::pair<std::size_t, std::size_t>{0, 0},
                                  {0, 16},
                                  {16, 0},
                                  {8, 40},
                                  {63, 1},
                                  {1, 63},
                                  {127, 64}}) {
                INFO("path " << v.name << ", size " << n << ", source offset " << so
                             << ", destination offset " << d0);
                auto copy = [&](void* d, const void* s, std::size_t bytes) {
                    spmd::detail::copy_via(v.path, v.streaming, d, s, bytes);
                };
                CHECK(check_one(copy, src_buf.data(), dst_buf.data(), fill, so, d0, n) == "");
            }
}

TEST_CASE("copy_bytes uses fast rep movsb on Intel, else the widest vector path") {
    const CopyPath chosen = spmd::detail::copy_path();
    CHECK(spmd::detail::copy_path_supported(chosen));
    __builtin_cpu_init();
    if (__builtin_cpu_is("intel") && spmd::detail::copy_path_supported(CopyPath::rep_movsb))
        CHECK(chosen == CopyPath::rep_movsb);
    else if (spmd::detail::copy_path_supported(CopyPath::avx512))
        CHECK(chosen == CopyPath::avx512);
    else if (spmd::detail::copy_path_supported(CopyPath::avx2))
        CHECK(chosen == CopyPath::avx2);
}
