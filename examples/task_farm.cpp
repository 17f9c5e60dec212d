// task_farm: a JoinableQueue of jobs shared by every rank, the shape of the classic RBF
// tutorial. Rank 0 cuts the rows of an n x n distance matrix of random points into jobs
// and pushes them; every rank (rank 0 too) pops jobs, fills its rows of the shared matrix
// and calls task_done(); rank 0 join()s, then close()s the queue, which ends every
// worker's pop loop with no poison pills. Prints a checksum and spot-checks entries.
// Run: `mprun -n 4 build/bin/task_farm [--n 2000] [--rows 16]`, or without mprun.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <spmd/queue.hpp>
#include <spmd/world.hpp>

namespace {

struct Rows {  // one job: rows [begin, end) of the matrix; trivially copyable, so queueable
    std::size_t begin, end;
};

long arg(int argc, char** argv, const char* name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::atol(argv[i + 1]);
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const auto n = std::size_t(arg(argc, argv, "--n", 2000));
    const auto rows_per_job = std::size_t(arg(argc, argv, "--rows", 16));
    if (n < 1 || rows_per_job < 1) {
        std::fprintf(stderr, "task_farm: --n and --rows must be at least 1\n");
        return 2;
    }

    // Collective calls, in the same order on every rank.
    auto points = world.shared<double>("points", 2 * n);  // x0 y0 x1 y1 ...
    auto distances = world.shared<double>("D", n * n);
    spmd::Queue<Rows> jobs(world, "jobs", 64);

    if (world.rank() == 0) {
        std::mt19937_64 random(42);
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        for (double& coordinate : points) coordinate = unit(random);
    }
    world.barrier();  // the points are written before anyone reads them

    auto distance = [&](std::size_t i, std::size_t j) {
        return std::hypot(points[2 * i] - points[2 * j], points[2 * i + 1] - points[2 * j + 1]);
    };
    int done = 0;
    auto work = [&](Rows rows) {
        for (std::size_t i = rows.begin; i < rows.end; ++i)
            for (std::size_t j = 0; j < n; ++j) distances[i * n + j] = distance(i, j);
        jobs.task_done();  // after the rows are written: join() then means "all written"
        ++done;
    };

    if (world.rank() == 0) {
        for (std::size_t begin = 0; begin < n; begin += rows_per_job) {
            const Rows rows{begin, std::min(n, begin + rows_per_job)};
            // With the queue full, do a job ourselves rather than wait: that is what makes
            // the same program work in a world of size 1, where nobody else would pop.
            while (!jobs.try_push(rows))
                if (auto job = jobs.try_pop()) work(*job);
        }
        while (auto job = jobs.try_pop()) work(*job);
        jobs.join();   // every job pushed has been done, by someone
        jobs.close();  // the workers' pop() now returns nullopt: they leave their loops
    } else {
        while (auto job = jobs.pop()) work(*job);
    }
    std::printf("rank %d did %d jobs\n", world.rank(), done);
    world.barrier();

    if (world.rank() == 0) {
        double checksum = 0.0;
        for (double d : distances) checksum += d;
        int bad = 0;
        std::mt19937_64 pick(7);
        for (int k = 0; k < 100; ++k) {
            const std::size_t i = pick() % n, j = pick() % n;
            if (distances[i * n + j] != distance(i, j) ||
                distances[i * n + j] != distances[j * n + i])
                ++bad;
        }
        std::printf("n=%zu jobs=%zu ranks=%d checksum=%.6f spot_checks=%s\n", n,
                    (n + rows_per_job - 1) / rows_per_job, world.size(), checksum,
                    bad ? "FAILED" : "ok");
        return bad ? 1 : 0;
    }
    return 0;
}
