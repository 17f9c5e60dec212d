// pool_map: Python's Pool.map in SPMD style. world.map(n, fn) runs fn(i) for every input
// over all ranks (a dynamic schedule: idle ranks take the next chunk) and hands back the
// results in input order; here only rank 0 wants them, so it is the root. The "work" is
// the Collatz stopping time of each input.
//   mprun -n 4 build/bin/pool_map [--inputs N]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/world.hpp>

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
    // Python: steps = Pool(N).map(collatz_steps, range(1, inputs + 1))
    const auto steps = world.map(
        std::size_t(inputs), [](std::size_t i) { return collatz_steps(std::int64_t(i) + 1); },
        spmd::Root{0});
    if (world.rank() == 0) {
        std::printf("Collatz steps of 1..%ld, mapped over %d ranks:\n", inputs, world.size());
        for (long i = 0; i < inputs; ++i)
            std::printf("%ld:%lld%s", i + 1, static_cast<long long>(steps[std::size_t(i)]),
                        i + 1 < inputs ? " " : "\n");
    }
    return 0;
}
