// The main of the SPMD tests: one World per rank, then the same Catch2 session on every
// rank (test cases run in file order, so collective calls meet). A rank whose checks fail
// ends the whole job through World::abort, so no peer waits for it in a collective.
#include "spmd_main.hpp"

#include <string>

#include "../catch_session.hpp"

namespace {
spmd::World* the_world = nullptr;
}

spmd::World& test::world() {
    return *the_world;
}

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    the_world = &world;
    const int failed = test::run_catch_session(argc, argv);
    if (failed) world.abort(std::to_string(failed) + " failed check(s), see above");
    return 0;
}
