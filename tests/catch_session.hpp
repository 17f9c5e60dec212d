// Runs Catch2's session on a test program's arguments and returns the number of failed
// checks. Catch2's implementation is compiled once, in catch_session.cpp; both mains (the
// plain tests' catch_main.cpp, the SPMD tests' transport/spmd_main.cpp) call this.
#pragma once

namespace test {
int run_catch_session(int argc, char* argv[]);
}
