// bench_p2p: point-to-point latency and bandwidth between ranks 0 and 1, measured as the
// OSU-style anchor does (../shared/anchors/mpi/pingpong.c): latency is half a round trip;
// bandwidth is a window of 64 messages from one reused buffer, then a 4-byte ack.
//   mprun -n 2 build/bin/bench_p2p [--seconds S]
//   bench=pingpong ranks=2 bytes=B usec=X
//   bench=bandwidth ranks=2 bytes=B window=64 gbps=X
#include <cstdio>
#include <vector>

#include "bench_common.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    if (world.size() < 2) {
        std::fprintf(stderr, "bench_p2p: needs at least 2 ranks (mprun -n 2)\n");
        return 2;
    }
    const double target = bench::seconds_option(argc, argv);
    const int me = world.rank();
    const std::size_t largest = std::size_t(16) << 20;
    std::vector<char> out(largest, char('a' + me)), in(largest, 0);

    for (std::size_t bytes : {std::size_t(8), std::size_t(1) << 10, std::size_t(64) << 10,
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
            std::printf("bench=pingpong ranks=%d bytes=%zu iters=%ld usec=%.3f\n", world.size(),
                        bytes, iters, per / 2 * 1e6);
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
            std::printf("bench=bandwidth ranks=%d bytes=%zu window=%d iters=%ld gbps=%.3f\n",
                        world.size(), bytes, window, iters, double(bytes) * window / per / 1e9);
        std::fflush(stdout);
    }
    return 0;
}
