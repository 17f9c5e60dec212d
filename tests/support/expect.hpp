// Test support: a check inside a rank of spmd::launch, where Catch's macros cannot run.
// A failed check throws, the rank fails, and launch throws spmd::Error carrying `what`
// ("rank 2 failed: <what>"), which the test's REQUIRE_NOTHROW prints.
#pragma once
#include <stdexcept>
#include <string>

namespace test {

inline void expect(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

}  // namespace test
