// spmd::spmd from the installed package: a shared array filled by schedule, a barrier, and
// a sum checked against its closed form. Exits 1 on a wrong answer.
#include <cstdio>
#include <spmd/world.hpp>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const std::size_t n = 1000;
    auto values = world.shared<double>("values", n);
    for (spmd::Range r : world.schedule(n, spmd::Schedule::dynamic))
        for (std::size_t i = r.begin; i < r.end; ++i) values[i] = double(i);
    world.barrier();
    if (world.rank() != 0) return 0;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += values[i];
    const bool ok = sum == double(n * (n - 1) / 2);
    std::printf("use_spmd ranks=%d sum=%g %s\n", world.size(), sum, ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
