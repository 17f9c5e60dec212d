// Shared by the tests of mprun's refusal of programs built against a real MPI: writing the
// sources they build, and what a refusal must look like.
#pragma once
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../support/run.hpp"

namespace test {

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

inline bool have(const std::string& tool) {
    return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// The refusal: one line naming the MPI and what to do, exit 2, nothing started.
inline void check_refused(const std::string& program, const std::string& mpi,
                          const std::string& lib) {
    using Catch::Matchers::Contains;
    INFO(program);
    Run r = run(bin("mprun") + " -n 2 " + program);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    REQUIRE(lines(r.err).size() == 1);
    CHECK_THAT(r.err, Contains("is built for " + mpi + " (it links " + lib));
    CHECK_THAT(r.err, Contains(mpi + "'s own mpirun"));
    CHECK_THAT(r.err, Contains("spmdcc"));
    CHECK(nothing_left_of(r.pid));
}

}  // namespace test
