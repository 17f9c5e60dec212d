// The world of an SPMD test program (spmd_main.cpp makes it before Catch2 runs).
#pragma once
#include <spmd/world.hpp>

namespace test {
spmd::World& world();
}
