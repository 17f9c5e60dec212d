// save_primes: the course's "save those primes" with a Manager().list(). Every rank tests
// its share of the numbers below a bound (a dynamic schedule) and appends each prime it
// finds to one shared list that every rank sees; rank 0 then prints how many there are
// and both ends of the sorted list. Ranks append in whatever order they find primes, so
// the list is sorted at the end, as the Python version does. There are 78498 primes below
// 10^6 (the default).
//   mprun -n 4 build/bin/save_primes [--below 1000000]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/shared_vector.hpp>
#include <vector>

namespace {
bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (std::uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0) return false;
    return true;
}
}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    long below = 1000000;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--below") == 0) below = std::atol(argv[i + 1]);
    if (below < 1) {
        std::fprintf(stderr, "save_primes: --below must be at least 1\n");
        return 2;
    }

    auto primes = world.shared_vector<std::uint64_t>("primes");  // Python: Manager().list()
    for (spmd::Range r : world.schedule(std::size_t(below), spmd::Schedule::dynamic)) {
        // Python appends one at a time; a chunk's primes in one extend() take the lock once.
        std::vector<std::uint64_t> found;
        for (std::size_t n = r.begin; n < r.end; ++n)
            if (is_prime(n)) found.push_back(n);
        primes.extend(found);
    }
    world.barrier();

    if (world.rank() == 0) {
        auto all = primes.snapshot();
        std::sort(all.begin(), all.end());
        std::printf("%zu primes below %ld, found by %d ranks\n", all.size(), below, world.size());
        const std::size_t ends = std::min<std::size_t>(5, all.size());
        std::printf("first:");
        for (std::size_t i = 0; i < ends; ++i) std::printf(" %llu", (unsigned long long)all[i]);
        std::printf("\nlast:");
        for (std::size_t i = all.size() - ends; i < all.size(); ++i)
            std::printf(" %llu", (unsigned long long)all[i]);
        std::printf("\n");
    }
    return 0;
}
