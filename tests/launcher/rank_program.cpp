// A rank program for the launcher's tests, started as `mprun -n N spmd_test_rank MODE ...`:
//   barriers K          K barriers, then exit 0
//   fail R HOW          rank R fails (throw, abort, exit3, segv, exit0) while the others
//                       wait in a barrier that can only end by the job's abort
//   lines K LEN         print K lines of LEN characters, each written in small pieces
//   env                 print "rank size" as World sees them
//   hold FILE           (2 ranks) rank 0 leaves a pair ring and a shared array in /dev/shm
//                       and waits for rank 1, which waits for FILE to exist; then both
//                       make another of each and check every value ("ok" from rank 0)
#include <spmd/world.hpp>
#include <unistd.h>

#include <numeric>
#include <vector>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "barriers") {
        for (long i = 0, n = std::atol(argv[2]); i < n; ++i) world.barrier();
    } else if (mode == "fail") {
        const std::string how = argv[3];
        if (world.rank() == std::atoi(argv[2])) {
            if (how == "throw") throw std::runtime_error("deliberate failure in rank " + std::to_string(world.rank()));
            if (how == "abort") world.abort("giving up on purpose");
            if (how == "exit3") std::exit(3);
            if (how == "segv") std::raise(SIGSEGV);
            if (how == "exit0") std::exit(0);
        }
        world.barrier();  // the failing rank never arrives
        world.barrier();
    } else if (mode == "lines") {
        const long count = std::atol(argv[2]), length = std::atol(argv[3]);
        std::string line(std::size_t(length), char('a' + world.rank()));
        line += '\n';
        for (long i = 0; i < count; ++i)
            for (std::size_t at = 0; at < line.size(); at += 7)  // torn writes on purpose
                if (write(1, line.data() + at, std::min<std::size_t>(7, line.size() - at)) < 0)
                    return 1;
    } else if (mode == "hold") {
        // Large enough to go through a pair ring, small enough to fit in it unreceived.
        std::vector<int> sent(25000), got(25000);
        std::iota(sent.begin(), sent.end(), 7);
        if (world.rank() == 0) {
            world.send(1, 0, sent);
        } else {
            while (access(argv[2], F_OK) != 0) usleep(10000);
        }
        auto first = world.shared<int>("first", 16);  // rank 0 waits here for rank 1
        auto second = world.shared<int>("second", 16);
        second[std::size_t(world.rank())] = world.rank() + 40;
        const int peer = 1 - world.rank();
        world.send(peer, 1, sent);
        world.recv(peer, 1, got);
        if (got != sent) return 3;
        if (world.rank() == 1) {
            world.recv(0, 0, got);
            if (got != sent) return 4;
        }
        world.barrier();
        if (second[0] != 40 || second[1] != 41 || first.size() != 16) return 5;
        if (world.rank() == 0) std::printf("ok\n");
    } else if (mode == "env") {
        std::printf("%d %d\n", world.rank(), world.size());
    } else {
        std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
        return 2;
    }
    return 0;
}
