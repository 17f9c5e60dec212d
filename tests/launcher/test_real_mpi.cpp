// A program built against a real MPI would run under mprun as N separate worlds of size 1.
// mprun reads its ELF dynamic section first and refuses it, naming the MPI. Built here with
// Debian's OpenMPI (mpicc); MPICH and Intel MPI are stood in for by a program linking an
// empty library of their soname. Without mpicc the test says SKIP (exit 77, CTest's skip).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {
const std::string mprun = test::bin("mprun");

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

bool have(const std::string& tool) {
    return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// The refusal: one line naming the MPI and what to do, exit 2, nothing started.
void check_refused(const std::string& program, const std::string& mpi, const std::string& lib) {
    INFO(program);
    test::Run r = test::run(mprun + " -n 2 " + program);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    REQUIRE(test::lines(r.err).size() == 1);
    CHECK_THAT(r.err, Contains("is built for " + mpi + " (it links " + lib));
    CHECK_THAT(r.err, Contains(mpi + "'s own mpirun"));
    CHECK_THAT(r.err, Contains("spmdcc"));
    CHECK(test::nothing_left_of(r.pid));
}
}  // namespace

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

// Last: without mpicc it ends the run (exit 77) after the cases above have run.
TEST_CASE("an OpenMPI program is refused with the MPI it was built for") {
    if (!have("mpicc")) {
        std::fputs(
            "SKIP: mpicc not found (apt-get install libopenmpi-dev); the refusal of "
            "OpenMPI programs is not tested\n",
            stderr);
        std::_Exit(77);
    }
    write_file("mpi_hello.c",
               "#include <mpi.h>\n#include <stdio.h>\n"
               "int main(int argc, char** argv) {\n"
               "    int rank, size;\n    MPI_Init(&argc, &argv);\n"
               "    MPI_Comm_rank(MPI_COMM_WORLD, &rank);\n"
               "    MPI_Comm_size(MPI_COMM_WORLD, &size);\n"
               "    printf(\"rank %d of %d\\n\", rank, size);\n"
               "    MPI_Finalize();\n    return 0;\n}\n");
    REQUIRE(std::system("mpicc mpi_hello.c -o mpi_hello") == 0);
    check_refused("./mpi_hello", "OpenMPI", "libmpi.so");
    check_refused("mpi_hello", "OpenMPI", "libmpi.so");  // found in the current directory
}
