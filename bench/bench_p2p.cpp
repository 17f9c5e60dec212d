// bench_p2p: point-to-point latency and bandwidth between ranks 0 and 1, measured as the
// OSU-style anchor does (bench/mpi/pingpong.c): latency is half a round trip;
// bandwidth is a window of 64 messages from one reused buffer, then a 4-byte ack.
// --offset B places the send and receive buffers B bytes past a 64-byte boundary (0..63;
// std::vector's buffers sit 16 bytes past one), to show any alignment cliff.
//   mprun -n 2 build/bin/bench_p2p [--seconds S] [--offset B]
//   bench=pingpong ranks=2 offset=B bytes=B usec=X
//   bench=bandwidth ranks=2 offset=B bytes=B window=64 gbps=X
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    if (world.size() < 2) {
        std::fprintf(stderr, "bench_p2p: needs at least 2 ranks (mprun -n 2)\n");
        return 2;
    }
    const double target = bench::seconds_option(argc, argv);
    std::size_t offset = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--offset") != 0) continue;
        const std::string value = i + 1 < argc ? argv[i + 1] : "";
        std::size_t used = 0;
        try {
            offset = std::stoul(value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != value.size() || value[0] == '-' || offset > 63) {
            if (world.rank() == 0)
                std::fprintf(stderr, "bench_p2p: --offset takes 0 to 63 bytes, not '%s'\n",
                             value.c_str());
            return 2;
        }
    }
    const int me = world.rank();
    const std::size_t largest = std::size_t(16) << 20;
    // Each buffer starts `offset` bytes past a 64-byte boundary.
    std::vector<char> out_storage(largest + 128, char('a' + me)), in_storage(largest + 128, 0);
    auto place = [&](std::vector<char>& v) {
        const auto at = reinterpret_cast<std::uintptr_t>(v.data());
        return v.data() + (64 - at % 64) % 64 + offset;
    };
    const std::span<char> out(place(out_storage), largest), in(place(in_storage), largest);

    // 16 KiB to 256 KiB show the crossovers between the ring, the single copy and the split.
    for (std::size_t bytes :
         {std::size_t(8), std::size_t(1) << 10, std::size_t(16) << 10, std::size_t(32) << 10,
          std::size_t(64) << 10, std::size_t(128) << 10, std::size_t(256) << 10,
          std::size_t(1) << 20, std::size_t(16) << 20}) {
        auto pingpong = [&](long iters) {
            const std::span<const char> send(out.data(), bytes);
            const std::span<char> recv(in.data(), bytes);
            for (long i = 0; i < iters; ++i) {
                if (me == 0) {
                    world.send(1, 1, send);
                    world.recv(1, 1, recv);
                } else if (me == 1) {
                    world.recv(0, 1, recv);
                    world.send(0, 1, send);
                }
            }
        };
        pingpong(bytes >= (1u << 20) ? 10 : 100);
        const long iters = bench::calibrate(world, pingpong, target, 10, 10'000'000);
        const double per = bench::time_per_iteration(world, pingpong, iters);
        if (me == 0)
            bench::figure("bench=pingpong ranks=%d offset=%zu bytes=%zu iters=%ld usec=%.3f\n",
                          world.size(), offset, bytes, iters, per / 2 * 1e6);
        std::fflush(stdout);
    }
    constexpr int window = 64;
    for (std::size_t bytes : {std::size_t(64) << 10, std::size_t(1) << 20, std::size_t(16) << 20}) {
        auto stream = [&](long iters) {
            int ack = 0;
            for (long i = 0; i < iters; ++i) {
                if (me == 0) {
                    for (int w = 0; w < window; ++w)
                        world.send(1, 2, std::span<const char>(out.data(), bytes));
                    world.recv(1, 3, std::span<int>(&ack, 1));
                } else if (me == 1) {
                    for (int w = 0; w < window; ++w)
                        world.recv(0, 2, std::span<char>(in.data(), bytes));
                    world.send(0, 3, std::span<const int>(&ack, 1));
                }
            }
        };
        stream(2);
        const long iters = bench::calibrate(world, stream, target, 3, 1'000'000);
        const double per = bench::time_per_iteration(world, stream, iters);
        if (me == 0)
            bench::figure(
                "bench=bandwidth ranks=%d offset=%zu bytes=%zu window=%d iters=%ld gbps=%.3f\n",
                world.size(), offset, bytes, window, iters, double(bytes) * window / per / 1e9);
        std::fflush(stdout);
    }
    return 0;
}
