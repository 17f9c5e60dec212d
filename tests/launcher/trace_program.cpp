// A rank program for the trace tests: it does one of each traced thing, in a known way.
//   trace_program calls N   ring messages (rank r sends (r+1)*8 bytes to r+1, tag 7; rank 0
//                           sends 100000 bytes to the last rank, tag 9), an all_reduce,
//                           a broadcast from rank 0, a dynamic loop over [0, N) in chunks
//                           of 7, a guided one over [0, N), and a queue of one item per rank
//   trace_program die       two barriers, then the last rank exits with code 3
//   trace_program barriers K  K barriers, nothing else
#include <cstdlib>
#include <cstring>
#include <spmd/queue.hpp>
#include <spmd/world.hpp>
#include <vector>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const int rank = world.rank(), size = world.size();
    if (argc > 1 && std::strcmp(argv[1], "die") == 0) {
        world.barrier();
        world.barrier();
        if (rank == size - 1) std::exit(3);
        world.barrier();
        return 0;
    }
    if (argc > 2 && std::strcmp(argv[1], "barriers") == 0) {
        for (long i = std::atol(argv[2]); i > 0; --i) world.barrier();
        return 0;
    }
    const std::size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;

    std::vector<char> out(std::size_t(rank + 1) * 8, 'x'), in(std::size_t(size) * 8);
    world.send((rank + 1) % size, 7, std::span<const char>(out));
    world.recv((rank - 1 + size) % size, 7, std::span<char>(in));
    std::vector<char> big(100000, 'b');
    if (rank == 0) world.send(size - 1, 9, std::span<const char>(big));
    if (rank == size - 1) world.recv(0, 9, std::span<char>(big));

    double one = 1;
    if (world.all_reduce(one, spmd::Op::sum) != size) return 1;
    std::vector<char> message(100, char(rank == 0 ? 'm' : 0));
    world.broadcast(std::span<char>(message));

    for (auto range : world.schedule(n, spmd::Schedule::dynamic, 7)) (void)range;
    for (auto range : world.schedule(n, spmd::Schedule::guided)) (void)range;

    spmd::Queue<int> queue(world, "jobs", std::size_t(size));
    if (rank == 0)
        for (int i = 0; i < size; ++i) queue.push(i);
    if (!queue.pop()) return 1;
    world.barrier();
    return 0;
}
