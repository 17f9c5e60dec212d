// What every test source includes first, precompiled once (tests/CMakeLists.txt): Catch2,
// World and the standard headers most tests use.
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <spmd/launch.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
