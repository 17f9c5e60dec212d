// A rank program that fails on purpose, as test_transport_failure asks:
//   failing_program throw|abort|fail|bad-input <token>
// Rank 1 (or every rank, for bad-input) fails while the others wait in a barrier.
#include <cstdio>
#include <spmd/cli.hpp>
#include <spmd/error.hpp>
#include <spmd/world.hpp>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
    const std::string how = argc > 1 ? argv[1] : "";
    if (how == "bad-input")  // as a kernel's CLI does: every rank finds the same bad input
        return spmd::run_cli("failing_program", argc, argv, [](spmd::World&) -> int {
            throw spmd::UsageError("--points: 'abc' is not a number");
        });
    spmd::World world(argc, argv);
    if (world.rank() == 1 % world.size()) {
        if (how == "throw") throw std::runtime_error("rank 1 threw on purpose");
        if (how == "abort") world.abort("rank 1 gave up");
        if (how == "fail") world.fail("failing_program: input.npy: value NaN at row 3", 3);
    }
    world.barrier();  // the others wait here for the rank that fails
    std::printf("rank %d passed the barrier\n", world.rank());
    return 0;
}
