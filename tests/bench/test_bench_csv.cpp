// bench::figure: the key=value line of a figure on stdout, and with SPMD_BENCH_CSV a row of
// a CSV file whose header grows to the union of the keys, old rows padded with blanks.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>

#include "../../bench/bench_common.hpp"
#include "../support/run.hpp"
#include "../support/temp_dir.hpp"

TEST_CASE("figures collect in one CSV table, columns the union of their keys", "[bench]") {
    test::TempDir dir;
    const std::string csv = dir / "figures.csv";
    REQUIRE(setenv("SPMD_BENCH_CSV", csv.c_str(), 1) == 0);
    bench::figure("bench=barrier ranks=%d usec=%.3f\n", 2, 0.25);
    bench::figure("bench=allreduce ranks=%d count=%d usec=%.3f\n", 4, 1024, 1.5);
    bench::figure("bench=barrier ranks=8 usec=9\n");
    unsetenv("SPMD_BENCH_CSV");
    CHECK(test::read_file(csv) ==
          "bench,ranks,usec,count\n"
          "barrier,2,0.250,\n"
          "allreduce,4,1.500,1024\n"
          "barrier,8,9,\n");
    CHECK(dir.entries() == std::vector<std::string>{"figures.csv"});  // no temporary left

    bench::figure("bench=barrier ranks=1 usec=0.004\n");  // without the variable: no file
    CHECK(test::read_file(csv).find("ranks=1") == std::string::npos);
    CHECK(test::read_file(csv).find(",1,") == std::string::npos);
}
