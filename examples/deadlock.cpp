// deadlock: the classic mistake of message passing, made on purpose. Every rank first
// waits to receive from its right-hand neighbour and only then sends to its left-hand
// one, so every rank waits and nobody sends. With MPI this hangs silently (finding it
// takes a separate tool such as MUST); mprun sees that every rank is blocked, none is
// making progress, and reports who waits for whom, then stops the job (exit code 123):
//
//   $ mprun -n 2 deadlock
//   mprun: deadlock: rank 0 waits in recv from rank 1 (tag 0); rank 1 waits in recv from
//          rank 0 (tag 0)                        (one line on the terminal)
//
// `deadlock --fixed` breaks the cycle the usual way: even ranks send first, odd ranks
// receive first, so each pair has one sender while the other listens.
#include <cstdio>
#include <cstring>
#include <spmd/world.hpp>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const bool fixed = argc > 1 && std::strcmp(argv[1], "--fixed") == 0;
    const int rank = world.rank(), size = world.size();
    const int right = (rank + 1) % size, left = (rank + size - 1) % size;
    int mine = rank * 10, theirs = -1;

    auto send_left = [&] { world.send(left, 0, std::span<const int>(&mine, 1)); };
    auto recv_right = [&] { world.recv(right, 0, std::span<int>(&theirs, 1)); };
    if (fixed && rank % 2 == 0) {
        send_left();
        recv_right();
    } else {
        recv_right();  // with every rank here at once, nobody ever reaches send_left()
        send_left();
    }
    std::printf("rank %d got %d from rank %d\n", rank, theirs, right);
    return 0;
}
