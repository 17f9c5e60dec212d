// bench_copy: the copy routine alone, one process: GB/s of libc's memcpy and of each
// vector path of spmd's copy (plain and streaming stores) for a destination placed at
// several offsets from the source's 64-byte alignment. Shows whether a copy has an
// alignment cliff on this CPU, and which path copy_bytes picks here.
//   build/bin/bench_copy [--seconds S]
//   bench=copy bytes=B src_offset=0 dst_offset=D method=M gbps=X
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <spmd/detail/copy.hpp>
#include <string>

#include "bench_common.hpp"

namespace {
using spmd::detail::CopyPath;

struct Method {
    std::string name;
    void (*run)(void*, const void*, std::size_t, CopyPath);
    CopyPath path;
};

double gbps(const Method& m, std::byte* dst, const std::byte* src, std::size_t bytes,
            double seconds) {
    long iters = 1;
    for (;;) {  // grow the count until one round takes a tenth of the target
        const double t0 = bench::now();
        for (long i = 0; i < iters; ++i) m.run(dst, src, bytes, m.path);
        const double dt = bench::now() - t0;
        if (dt >= seconds / 10) {
            const long n = std::max(1L, long(double(iters) * seconds / dt));
            const double t1 = bench::now();
            for (long i = 0; i < n; ++i) m.run(dst, src, bytes, m.path);
            return double(bytes) * double(n) / (bench::now() - t1) / 1e9;
        }
        iters *= 2;
    }
}
}  // namespace

int main(int argc, char** argv) {
    const double seconds = bench::seconds_option(argc, argv, 0.2);
    std::vector<Method> methods = {
        {"memcpy", [](void* d, const void* s, std::size_t n, CopyPath) { std::memcpy(d, s, n); },
         CopyPath::sse2},
        {"copy_bytes",
         [](void* d, const void* s, std::size_t n, CopyPath) { spmd::detail::copy_bytes(d, s, n); },
         CopyPath::sse2}};
    for (CopyPath p : {CopyPath::sse2, CopyPath::avx2, CopyPath::avx512, CopyPath::rep_movsb}) {
        if (!spmd::detail::copy_path_supported(p)) continue;
        const std::string name = spmd::detail::copy_path_name(p);
        methods.push_back({name,
                           [](void* d, const void* s, std::size_t n, CopyPath path) {
                               spmd::detail::copy_via(path, false, d, s, n);
                           },
                           p});
        methods.push_back({name + "_stream",
                           [](void* d, const void* s, std::size_t n, CopyPath path) {
                               spmd::detail::copy_via(path, true, d, s, n);
                           },
                           p});
    }
    bench::figure("bench=copy_path path=%s\n",
                  spmd::detail::copy_path_name(spmd::detail::copy_path()));
    const std::size_t largest = std::size_t(64) << 20;
    auto* src = static_cast<std::byte*>(std::aligned_alloc(64, largest + 128));
    auto* dst = static_cast<std::byte*>(std::aligned_alloc(64, largest + 128));
    std::memset(src, 1, largest + 128);
    std::memset(dst, 2, largest + 128);
    for (std::size_t bytes : {std::size_t(4) << 10, std::size_t(64) << 10, std::size_t(1) << 20,
                              std::size_t(16) << 20, std::size_t(64) << 20})
        for (std::size_t offset : {0, 8, 16, 32})
            for (const Method& m : methods) {
                bench::figure(
                    "bench=copy bytes=%zu src_offset=0 dst_offset=%zu method=%s gbps=%.2f\n", bytes,
                    offset, m.name.c_str(), gbps(m, dst + offset, src, bytes, seconds));
                std::fflush(stdout);
            }
    std::free(src);
    std::free(dst);
}
