// pool_async: Python's apply versus apply_async. The first loop calls apply (submit, then
// wait for the result) and so waits for each task in turn; the second submits every task
// at once with submit (apply_async), works on whatever else it wants while the other ranks
// run them, and only then collects the results with get(). A task that raises reaches
// get() as spmd::TaskError naming the rank, the task and the message.
//   mprun -n 4 build/bin/pool_async [--tasks 8]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spmd/pool.hpp>
#include <stdexcept>
#include <vector>

namespace {

// A task that takes a while: the sum of sqrt(k) for k < 2^22, scaled by x.
double slow_square_root_sum(double x) {
    double sum = 0;
    for (int k = 0; k < (1 << 22); ++k) sum += std::sqrt(double(k));
    return x * sum / 1e9;
}

int checked_inverse(int x) {
    if (x == 0) throw std::domain_error("no inverse of 0");
    return 100 / x;
}

// Rank 0's own errand while the tasks run.
int count_primes_below(int bound) {
    int count = 0;
    for (int n = 2; n < bound; ++n) {
        bool prime = true;
        for (int d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
        count += prime;
    }
    return count;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    int tasks = 8;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--tasks") == 0) tasks = std::atoi(argv[i + 1]);
    if (tasks < 1) {
        std::fprintf(stderr, "pool_async: --tasks must be at least 1\n");
        return 2;
    }

    spmd::Pool pool(world);  // every rank: the same pool, the same tasks
    auto work = pool.define("slow_square_root_sum", slow_square_root_sum);
    auto inverse = pool.define("checked_inverse", checked_inverse);

    if (world.rank() == 0) {
        // apply: one task at a time, rank 0 waiting (and working) for each.
        auto start = std::chrono::steady_clock::now();
        double total = 0;
        for (int i = 0; i < tasks; ++i) total += pool.apply(work, double(i));
        std::printf("apply:       %d tasks, total %.6f\n", tasks, total);
        const double apply_seconds = seconds_since(start);

        // apply_async: submit everything, do something else, then collect.
        start = std::chrono::steady_clock::now();
        std::vector<spmd::Future<double>> results;
        for (int i = 0; i < tasks; ++i) results.push_back(pool.submit(work, double(i)));
        const int primes = count_primes_below(200000);  // whatever else I want
        double async_total = 0;
        for (auto& r : results) async_total += r.get();  // rank 0 helps with what is left
        std::printf(
            "apply_async: %d tasks, total %.6f (meanwhile rank 0 counted %d primes "
            "below 200000)\n",
            tasks, async_total, primes);
        std::fprintf(stderr, "apply took %.3f s, apply_async %.3f s on %d ranks\n", apply_seconds,
                     seconds_since(start), world.size());

        // A task that raises: get() throws, naming the task; the others are unaffected.
        auto fine = pool.submit(inverse, 4);
        auto bad = pool.submit(inverse, 0);
        std::printf("inverse of 4: %d\n", fine.get());
        try {
            bad.get();
        } catch (const spmd::TaskError& e) {
            std::printf("inverse of 0: task '%s' raised: %s\n", e.task().c_str(),
                        e.message().c_str());
        }
        pool.close();  // no more tasks: Python's pool.close()
    }
    pool.join();  // workers serve tasks until the close; rank 0 waits for the last ones
    return 0;
}
