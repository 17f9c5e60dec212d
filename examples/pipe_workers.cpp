// pipe_workers: standing workers that keep a cached state (the shape of the classic
// template-bank worker loop). Each worker builds its share of a "bank" once; rank 0 then
// sends every input to every worker, each worker answers with its best match, and
// rank 0 keeps the overall best. A message with tag `stop` ends the workers.
//   mprun -n 4 build/bin/pipe_workers [--inputs K]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/world.hpp>
#include <vector>

namespace {
constexpr int work = 1, answer = 2, stop = 3;
constexpr int bank_size = 1000;

struct Match {
    double score;
    int entry;
};

// A bank entry's "template": a frequency. The score of an input is how close it is.
double frequency(int entry) {
    return 1.0 + 0.01 * entry;
}
}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    int inputs = 5;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--inputs") == 0) inputs = std::atoi(argv[i + 1]);
    const int size = world.size(), me = world.rank();
    const int workers = size > 1 ? size - 1 : 1;

    if (me != 0 || size == 1) {
        // The cached state: this worker's entries, made once, used for every input.
        const int worker = size > 1 ? me - 1 : 0;
        std::vector<int> entries;
        for (int e = worker; e < bank_size; e += workers) entries.push_back(e);
        auto best_for = [&](double input) {
            Match best{-1e300, -1};
            for (int e : entries) {
                const double score = -std::abs(frequency(e) - input);
                if (score > best.score) best = {score, e};
            }
            return best;
        };
        if (size == 1) {  // a world of size 1: the one rank is its own worker
            for (int k = 0; k < inputs; ++k) {
                const double input = 1.0 + 9.99 * k / std::max(1, inputs - 1);
                const Match m = best_for(input);
                std::printf("input %.4f -> entry %d (frequency %.2f)\n", input, m.entry,
                            frequency(m.entry));
            }
            return 0;
        }
        for (;;) {
            double input = 0;
            const spmd::Status status = world.recv(0, spmd::any_tag, std::span<double>(&input, 1));
            if (status.tag == stop) return 0;
            const Match m = best_for(input);
            world.send(0, answer, std::span<const Match>(&m, 1));
        }
    }

    for (int k = 0; k < inputs; ++k) {
        const double input = 1.0 + 9.99 * k / std::max(1, inputs - 1);
        for (int w = 1; w < size; ++w) world.send(w, work, std::span<const double>(&input, 1));
        Match best{-1e300, -1};
        for (int w = 1; w < size; ++w) {
            Match m{};
            world.recv(spmd::any_source, answer, std::span<Match>(&m, 1));
            if (m.score > best.score || (m.score == best.score && m.entry < best.entry)) best = m;
        }
        std::printf("input %.4f -> entry %d (frequency %.2f)\n", input, best.entry,
                    frequency(best.entry));
    }
    for (int w = 1; w < size; ++w) world.send(w, stop, std::span<const double>());
    return 0;
}
