// pool_map: Python's Pool.map in SPMD style. Rank r maps the inputs r, r+N, r+2N, ...
// (a round-robin static schedule with chunk 1), then rank 0 gathers every result in the
// order of the inputs. Here the "work" is the Collatz stopping time of each input.
//   mprun -n 4 build/bin/pool_map [--inputs N]
#include <spmd/world.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
std::int64_t collatz_steps(std::int64_t n) {
    std::int64_t steps = 0;
    for (; n != 1; ++steps) n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}
}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    long inputs = 30;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--inputs") == 0) inputs = std::atol(argv[i + 1]);
    if (inputs < 1) {
        std::fprintf(stderr, "pool_map: --inputs must be at least 1\n");
        return 2;
    }
    const int size = world.size();
    // Each rank's results in its own slots of a padded block: input i is rank i % N's
    // (i / N)-th result, so gathering the blocks puts every result in a known place.
    const std::size_t per_rank = (std::size_t(inputs) + std::size_t(size) - 1) / std::size_t(size);
    std::vector<std::int64_t> mine(per_rank, -1);
    for (spmd::Range r : world.schedule(std::size_t(inputs), spmd::Schedule::static_, 1))
        for (std::size_t i = r.begin; i < r.end; ++i) mine[i / std::size_t(size)] = collatz_steps(std::int64_t(i) + 1);

    std::vector<std::int64_t> all(world.rank() == 0 ? per_rank * std::size_t(size) : 0);
    world.gather(std::span<const std::int64_t>(mine), std::span<std::int64_t>(all), 0);
    if (world.rank() == 0) {
        std::printf("Collatz steps of 1..%ld, mapped over %d ranks:\n", inputs, size);
        for (long i = 0; i < inputs; ++i) {
            const std::size_t owner = std::size_t(i) % std::size_t(size), slot = std::size_t(i) / std::size_t(size);
            std::printf("%ld:%lld%s", i + 1, static_cast<long long>(all[owner * per_rank + slot]),
                        i + 1 < inputs ? " " : "\n");
        }
    }
    return 0;
}
