// Programs built against a real MPI (OpenMPI, MPICH, Intel MPI) do not know mprun's job:
// under `mprun -n 2` each would run as a silent world of size 1. mprun reads the program's
// ELF dynamic section (its DT_NEEDED libraries, as the dynamic loader does) before forking
// and refuses such a program with a hint. Scripts and files that are not ELF pass through.
#pragma once
#include <string>
#include <vector>

namespace mprun {

// The libraries an ELF executable names in DT_NEEDED, in order; empty for a script, a
// static executable, or a file that is not a well-formed ELF object (the exec will say).
std::vector<std::string> needed_libraries(const std::string& path);

// The MPI a library name belongs to ("OpenMPI", "MPICH", "MPICH or Intel MPI"), or "" if
// it is not an MPI library.
std::string mpi_of_library(const std::string& soname);

// Throws spmd::UsageError naming the MPI and what to do if `path` links a real MPI.
void refuse_real_mpi(const std::string& program, const std::string& path);

}  // namespace mprun
