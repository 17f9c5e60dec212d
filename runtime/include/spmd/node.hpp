// spmd::Node: the host a rank runs on, as World::node() describes it. Ranks on one host
// share memory: a World::shared array is one per host, seen by that host's ranks only.
// Under mprun there is one host holding every rank; under mpirun, MPI's own split of
// MPI_COMM_WORLD by shared memory (MPI_COMM_TYPE_SHARED) decides what a host is.
#pragma once
#include <vector>

namespace spmd {

struct Node {
    int index = 0;           // this host's place among the hosts (0 holds world rank 0)
    int count = 1;           // how many hosts the job spans
    std::vector<int> ranks;  // the world ranks on this host, in increasing order
    int local_rank = 0;      // this rank's place in `ranks`
};

}  // namespace spmd
