// Catch2's implementation (its runner, reporters, matchers), compiled once for every test
// executable, and the one call of its session the mains make (catch_session.hpp).
#define CATCH_CONFIG_RUNNER
#include "catch_session.hpp"

#include <catch2/catch.hpp>

int test::run_catch_session(int argc, char* argv[]) {
    return Catch::Session().run(argc, argv);
}
