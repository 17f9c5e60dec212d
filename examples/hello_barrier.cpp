// hello_barrier: the first SPMD program. Every rank says hello, all meet at a barrier,
// and only then does any rank say hello again. Run it with `mprun -n 4 hello_barrier`;
// add --explain and rank 0 draws the dissemination barrier's rounds: in round k, rank r
// signals rank (r + 2^k) mod N and waits for rank (r - 2^k) mod N, ceil(log2 N) rounds.
#include <cstdio>
#include <cstring>
#include <spmd/world.hpp>
#include <string>
#include <vector>

namespace {

// The whole pattern for `size` ranks, round by round, and whom each rank has heard from
// (directly or through the ranks that signalled it) after each round.
std::string explain(int size) {
    std::vector<std::vector<bool>> heard{std::size_t(size), std::vector<bool>(std::size_t(size))};
    for (int r = 0; r < size; ++r) heard[std::size_t(r)][std::size_t(r)] = true;
    int rounds = 0;
    for (int distance = 1; distance < size; distance *= 2) ++rounds;
    std::string text = "\nThe dissemination barrier for " + std::to_string(size) + " ranks takes " +
                       std::to_string(rounds) + " round(s). In round k, rank r signals rank\n" +
                       "(r + 2^k) mod " + std::to_string(size) +
                       " and waits for rank (r - 2^k) mod " + std::to_string(size) +
                       " (Hensgen, Finkel and Manber 1988).\n";
    char line[160];
    for (int round = 0, distance = 1; distance < size; ++round, distance *= 2) {
        std::snprintf(line, sizeof line, "\nround %d (distance %d):\n", round, distance);
        text += line;
        auto before = heard;
        for (int r = 0; r < size; ++r) {
            const int from = (r - distance + size) % size;
            for (int q = 0; q < size; ++q)
                if (before[std::size_t(from)][std::size_t(q)])
                    heard[std::size_t(r)][std::size_t(q)] = true;
            int count = 0;
            for (bool h : heard[std::size_t(r)]) count += h;
            std::snprintf(line, sizeof line,
                          "  rank %d, round %d: signals rank %d, waits for rank %d"
                          "   (has now heard from %d of %d)\n",
                          r, round, (r + distance) % size, from, count, size);
            text += line;
        }
    }
    text += "\nAfter the last round every rank has heard from every other: none leaves early.\n";
    text +=
        "(mprun runs this barrier while every rank has a core of its own. With more ranks\n"
        "than cores it runs a gather-release barrier instead: each rank signals rank 0 and\n"
        "waits for its release, so every rank needs a core once, not once per round.)\n";
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int rank = world.rank(), size = world.size();
    const bool explain_rounds = argc > 1 && std::strcmp(argv[1], "--explain") == 0;

    std::printf("Hello World, I am process %d\n", rank);
    std::fflush(stdout);  // flushed at once, so the order shows through a pipe too
    world.barrier();
    std::printf("Hello World again, I am process %d\n", rank);
    std::fflush(stdout);
    if (explain_rounds) {
        world.barrier();  // every hello is out: the picture comes in one piece, after them
        if (rank == 0) std::fputs(explain(size).c_str(), stdout);
    }
    return 0;
}
