// bench_trace: what one trace hook costs a rank. Off, it is a branch on a global flag;
// on, two clock reads and a 64-byte store into the rank's own log. The loop makes the
// flag be read again each time, as it is when the hook sits among real work. ns is wall
// time per hook; cpu_ns the process's CPU time per hook, which time spent preempted by
// other programs does not inflate (on a loaded machine, the figure to compare).
//   mprun -n 1 build/bin/bench_trace                 bench=trace_hook tracing=off ns=X cpu_ns=Y
//   mprun -n 1 --trace t.json build/bin/bench_trace  bench=trace_hook tracing=on ns=X cpu_ns=Y
#include <time.h>

#include <chrono>
#include <cstdio>

#include "bench_common.hpp"
#include "spmd/detail/trace.hpp"

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    namespace trace = spmd::detail::trace;
    // On, stay inside one rank's log (2^17 events) so that every hook really records.
    const long hooks = trace::on ? 100'000 : 20'000'000;
    auto cpu_ns = [] {
        timespec t{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
    };
    const double cpu_start = cpu_ns();
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < hooks; ++i) {
        trace::Span span(trace::Kind::send, 1, 0, std::uint64_t(i));
        asm volatile("" ::: "memory");  // the flag is read afresh, as among real work
    }
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    const double cpu = cpu_ns() - cpu_start;
    if (world.rank() == 0)
        bench::figure("bench=trace_hook tracing=%s ns=%.2f cpu_ns=%.2f\n", trace::on ? "on" : "off",
                      took.count() / double(hooks), cpu / double(hooks));
    return 0;
}
