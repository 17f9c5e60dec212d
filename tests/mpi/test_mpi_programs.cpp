// MPI programs as users run them: the examples print the right answers for any number of
// ranks; the spmdcc wrapper compiles unchanged programs (and -show prints its command);
// and tutorial programs give the same output as under OpenMPI's mpirun (line order aside),
// when OpenMPI is installed.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
test::Run mprun(int ranks, const std::string& program) {
    test::Run r = test::run(test::bin("mprun") + " -n " + std::to_string(ranks) + " " + program);
    CHECK(test::nothing_left_of(r.pid));
    return r;
}

std::vector<std::string> sorted_lines(const std::string& text) {
    auto lines = test::lines(text);
    std::sort(lines.begin(), lines.end());
    return lines;
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}
}  // namespace

TEST_CASE("the MPI examples print the right answers for any number of ranks") {
    for (int n : {1, 2, 5, 8}) {
        INFO(n << " ranks");
        auto r = mprun(n, test::bin("mpi_hello"));
        REQUIRE(r.code == 0);
        std::vector<std::string> want;
        for (int k = 0; k < n; ++k)
            want.push_back("Hello world from rank " + std::to_string(k) + " of " +
                           std::to_string(n));
        std::sort(want.begin(), want.end());
        CHECK(sorted_lines(r.out) == want);

        r = mprun(n, test::bin("mpi_ring"));
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out, Contains("Rank 0 received token " + std::to_string(n * (n - 1) / 2) +
                                   " from rank " + std::to_string(n - 1)));
        if (n > 2) CHECK_THAT(r.out, Contains("Rank 2 received token 1 from rank 1"));

        r = mprun(n, test::bin("mpi_pi"));
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out, Contains("pi is approximately 3.14159265359"));

        r = mprun(n, test::bin("mpi_average") + " 101");  // each share of 0..100: mean 50
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out, Contains("Average of all numbers (gathered): 50.000000"));
        CHECK(test::lines(r.out).size() == std::size_t(n) + 2);

        r = mprun(n, test::bin("mpi_split"));
        REQUIRE(r.code == 0);
        CHECK_THAT(r.out,
                   Contains("World rank 0: row 0, rank 0 of " + std::to_string(std::min(n, 4))));
        CHECK_THAT(r.out, Contains("World rank 0: rank 0 of the " + std::to_string((n + 1) / 2) +
                                   " even ranks"));
        if (n == 8)
            CHECK_THAT(r.out, Contains("World rank 5: row 1, rank 1 of 4 in the row, sum of the "
                                       "row's world ranks 22"));
    }
}

TEST_CASE("spmdcc compiles an unchanged MPI program; -show prints the command") {
    write(
        "wrapped.c",
        "#include <mpi.h>\n#include <stdio.h>\n"
        "int main(int argc, char** argv) {\n  MPI_Init(&argc, &argv);\n  int r, n;\n"
        "  MPI_Comm_rank(MPI_COMM_WORLD, &r);\n  MPI_Comm_size(MPI_COMM_WORLD, &n);\n"
        "  int sum = 0;\n  MPI_Allreduce(&r, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);\n"
        "  if (r == 0) printf(\"sum %d of %d\\n\", sum, n);\n  MPI_Finalize();\n  return 0;\n}\n");
    auto show = test::run(test::bin("spmdcc") + " -show -O2 wrapped.c -o wrapped");
    CHECK(show.code == 0);
    CHECK_THAT(show.out, Contains("cc -I"));
    CHECK_THAT(show.out, Contains("-O2 wrapped.c -o wrapped -L"));
    CHECK_THAT(show.out, Contains("-lspmd_mpi -lspmd"));
    CHECK_FALSE(test::file_exists("wrapped"));  // -show runs nothing

    // Compile and link in two steps, with flags passed through.
    REQUIRE(
        test::run(test::bin("spmdcc") + " -std=c11 -Wall -Werror -c wrapped.c -o wrapped.o").code ==
        0);
    REQUIRE(test::run(test::bin("spmdcc") + " wrapped.o -o wrapped").code == 0);
    auto r = mprun(4, "./wrapped");
    CHECK(r.code == 0);
    CHECK(r.out == "sum 6 of 4\n");
    CHECK(test::run("./wrapped").out == "sum 0 of 1\n");

    // The C++ wrapper, on the same program.
    REQUIRE(test::run(test::bin("spmdcxx") + " -x c++ wrapped.c -o wrapped_cxx").code == 0);
    CHECK(mprun(3, "./wrapped_cxx").out == "sum 3 of 3\n");
    for (const char* f : {"wrapped", "wrapped.o", "wrapped_cxx", "wrapped.c"}) unlink(f);
}

TEST_CASE("a call outside the subset is a compile error naming it") {
    write("outside.c",
          "#include <mpi.h>\nint main(void) { MPI_Win w; return MPI_Win_free(&w); }\n");
    auto r = test::run(test::bin("spmdcc") + " -c outside.c -o outside.o");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("MPI_Win"));
    unlink("outside.c");
}

TEST_CASE("tutorial programs give the same output under mprun as under OpenMPI's mpirun") {
    const std::string references = test::bin("openmpi");
    if (!test::file_exists(references + "/hello") ||
        test::run("mpirun.openmpi --version").code != 0) {
        WARN("OpenMPI (mpicc.openmpi, mpirun.openmpi) is not installed: comparison skipped");
        return;
    }
    const std::vector<std::pair<std::string, std::string>> programs = {
        {"hello", "mpi_hello"},
        {"ring", "mpi_ring"},
        {"pi", "mpi_pi"},
        {"average", "mpi_average"},
        {"split", "mpi_split"},
        {"send_recv", "mpi_tutorial_send_recv"},
        {"ping_pong", "mpi_tutorial_ping_pong"},
        {"probe_status", "mpi_tutorial_probe_status"},
        {"random_walk", "mpi_tutorial_random_walk"},
        {"bcast_reduce", "mpi_tutorial_bcast_reduce"},
        {"alltoallv", "mpi_tutorial_alltoallv"},
    };
    for (int n : {2, 3, 6}) {
        for (const auto& [reference, ours] : programs) {
            if (reference == "ping_pong" && n != 2) continue;
            INFO(reference << " on " << n << " ranks");
            const auto theirs = test::run("mpirun.openmpi --allow-run-as-root --oversubscribe -n " +
                                          std::to_string(n) + " " + references + "/" + reference);
            REQUIRE(theirs.code == 0);
            const auto mine = mprun(n, test::bin(ours));
            REQUIRE(mine.code == 0);
            CHECK(sorted_lines(mine.out) == sorted_lines(theirs.out));
        }
    }
}
