// A program built against a real MPI would run under mprun as N separate worlds of size 1.
// mprun reads its ELF dynamic section first and refuses it, naming the MPI. Programs here
// link an empty library with MPICH's or Intel MPI's soname, as a build against them would;
// test_openmpi_binary builds a real OpenMPI program.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "mpi_refusal.hpp"

using Catch::Matchers::Contains;

using namespace test;
const std::string mprun = bin("mprun");

TEST_CASE("MPICH and Intel MPI sonames are named; scripts and other programs run") {
    REQUIRE(have("c++"));
    // Empty libraries with MPICH's sonames, and programs that name them in DT_NEEDED.
    write_file("empty.cpp", "int spmd_test_unused;\n");
    write_file("main.cpp", "int main() { return 0; }\n");
    for (const std::string soname : {"libmpich.so.12", "libmpi.so.12"}) {
        REQUIRE(std::system(("c++ -shared -fPIC -Wl,-soname," + soname + " empty.cpp -o " + soname)
                                .c_str()) == 0);
        REQUIRE(std::system(("c++ main.cpp -Wl,--no-as-needed ./" + soname + " -o uses_" + soname)
                                .c_str()) == 0);
    }
    check_refused("./uses_libmpich.so.12", "MPICH", "libmpich.so.12");
    check_refused("./uses_libmpi.so.12", "MPICH or Intel MPI", "libmpi.so.12");

    // A script that mentions libmpi.so is not an ELF: it runs.
    write_file("mentions_mpi.sh", "#!/bin/sh\n# links libmpi.so.40 libmpich.so.12\necho ok\n");
    REQUIRE(chmod("mentions_mpi.sh", 0755) == 0);
    test::Run r = test::run(mprun + " -n 2 ./mentions_mpi.sh");
    CHECK(r.code == 0);
    CHECK(r.out == "ok\nok\n");
    CHECK(test::nothing_left_of(r.pid));

    // A truncated ELF is not misread either: the exec fails and says so.
    REQUIRE(std::system("head -c 100 ./uses_libmpich.so.12 > truncated && chmod +x truncated") ==
            0);
    r = test::run(mprun + " -n 1 ./truncated");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, !Contains("is built for"));
    CHECK(test::nothing_left_of(r.pid));
}
