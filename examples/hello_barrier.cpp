// hello_barrier: the first SPMD program. Every rank says hello, all meet at a barrier,
// and only then does any rank say hello again. Run it with `mprun -n 4 hello_barrier`;
// add --explain to see the dissemination barrier's rounds: in round k, rank r signals
// rank (r + 2^k) mod N and waits for rank (r - 2^k) mod N, ceil(log2 N) rounds in all.
#include <spmd/world.hpp>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int rank = world.rank(), size = world.size();
    const bool explain = argc > 1 && std::strcmp(argv[1], "--explain") == 0;

    std::printf("Hello World, I am process %d\n", rank);
    std::fflush(stdout);  // flushed at once, so the order shows through a pipe too
    if (explain)
        for (int round = 0, distance = 1; distance < size; ++round, distance *= 2) {
            std::printf("  rank %d, round %d: signals rank %d, waits for rank %d\n", rank, round,
                        (rank + distance) % size, (rank - distance + size) % size);
            std::fflush(stdout);
        }
    world.barrier();
    std::printf("Hello World again, I am process %d\n", rank);
    return 0;
}
