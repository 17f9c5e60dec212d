// spmd::launch(n, fn): run fn(world) in n forked ranks of the current process, like
// Python's multiprocessing.Process with fork, and return when all are done. If a rank
// throws, exits or is killed, the others are stopped and launch throws spmd::Error
// naming the rank and the cause ("rank 2 failed: <message>").
#pragma once
#include <functional>

#include "spmd/world.hpp"

namespace spmd {

struct LaunchOptions {
    double grace_seconds = 1.0;  // SIGTERM to SIGKILL, once a rank has failed
};

void launch(int n, const std::function<void(World&)>& fn, const LaunchOptions& options = {});

}  // namespace spmd
