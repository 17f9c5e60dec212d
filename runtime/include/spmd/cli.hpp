// spmd::run_cli: the main of a command-line program built on a World (the kernels' CLIs).
// It opens the World, runs the body, and turns what the body throws into one line
// "<program>: <what>" that reaches the user exactly once however many ranks meet it
// (World::fail): exit 2 for bad input (spmd::UsageError), 1 for any other failure, and
// silence in a rank stopped because a peer failed first.
//   int main(int argc, char** argv) {
//       return spmd::run_cli("knn", argc, argv, [&](spmd::World& world) { ...; return 0; });
//   }
#pragma once
#include <functional>
#include <string_view>

#include "spmd/world.hpp"

namespace spmd {

int run_cli(std::string_view program, int argc, char** argv,
            const std::function<int(World&)>& body);

}  // namespace spmd
