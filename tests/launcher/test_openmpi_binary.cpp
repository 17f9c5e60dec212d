// An OpenMPI hello world, built here with Debian's mpicc, is refused by mprun with the MPI
// it was built for. Without mpicc the test says SKIP (exit 77, which CTest counts as
// skipped) instead of passing.

#include <catch2/catch.hpp>
#include <cstdio>

#include "mpi_refusal.hpp"

using namespace test;

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
