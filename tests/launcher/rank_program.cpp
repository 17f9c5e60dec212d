// A rank program for the launcher's tests, started as `mprun -n N spmd_test_rank MODE ...`:
//   barriers K          K barriers, then exit 0
//   fail R HOW          rank R fails (throw, abort, exit3, segv, exit0) while the others
//                       wait in a barrier that can only end by the job's abort
//   lines K LEN         print K lines of LEN characters, each written in small pieces
//   env                 print "rank size" as World sees them
//   wait_cores          print "rank cores": the cores the rank's wait policy counts
//   hold FILE           (2 ranks) rank 0 leaves a pair ring and a shared array in /dev/shm
//                       and waits for rank 1, which waits for FILE to exist; then both
//                       make another of each and check every value ("ok" from rank 0)
//   leave R CALL        rank R returns 0 from main at once; the others wait in CALL
//                       (barrier, recv, recv_any, probe, send, all_reduce, pop, event)
//   ring                every rank first receives from the next one: a deadlock cycle
//   spin R              rank R computes forever; every other rank waits to hear from it
//   map_writer_dies     rank 1 is killed inside a shared_map update; the others then
//                       write to the map, and their error goes uncaught
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <ranges>
#include <spmd/detail/wait.hpp>
#include <spmd/event.hpp>
#include <spmd/queue.hpp>
#include <spmd/shared_map.hpp>
#include <spmd/world.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
// Waits in `call` for something rank `leaver` would have had to do.
void wait_in(spmd::World& world, const std::string& call, int leaver) {
    int value = 0;
    if (call == "barrier") world.barrier();
    if (call == "recv") world.recv(leaver, 0, std::span<int>(&value, 1));
    if (call == "recv_any") world.recv(spmd::any_source, spmd::any_tag, std::span<int>(&value, 1));
    if (call == "probe") world.probe(leaver, 5);
    if (call == "send") {  // large: the sender waits for the receiver to take it
        std::vector<char> big(8 << 20);
        world.send(leaver, 1, big);
    }
    if (call == "all_reduce") world.all_reduce(value, spmd::Op::sum);
}
}  // namespace

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "barriers") {
        for (long i = 0, n = std::atol(argv[2]); i < n; ++i) world.barrier();
    } else if (mode == "fail") {
        const std::string how = argv[3];
        if (world.rank() == std::atoi(argv[2])) {
            if (how == "throw")
                throw std::runtime_error("deliberate failure in rank " +
                                         std::to_string(world.rank()));
            if (how == "abort") world.abort("giving up on purpose");
            if (how == "exit3") std::exit(3);
            if (how == "segv") {
                // Die by the signal itself: ASan's handler would make it an exit code.
                std::signal(SIGSEGV, SIG_DFL);
                std::raise(SIGSEGV);
            }
            if (how == "exit0") std::exit(0);
        }
        world.barrier();  // the failing rank never arrives
        world.barrier();
    } else if (mode == "wait_cores") {
        std::printf("%d %d\n", world.rank(), spmd::detail::wait_policy().cores);
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
    } else if (mode == "leave") {
        const int leaver = std::atoi(argv[2]);
        const std::string call = argv[3];
        // Queues and events are collective: made before the leaver goes.
        spmd::Queue<int> queue(world, "jobs", 4);
        spmd::Event event(world, "go");
        if (world.rank() == leaver) return 0;
        if (call == "pop") (void)queue.pop();
        if (call == "event") event.wait();
        wait_in(world, call, leaver);
    } else if (mode == "ring") {
        int value = 0;
        world.recv((world.rank() + 1) % world.size(), 0, std::span<int>(&value, 1));
        world.send((world.rank() + world.size() - 1) % world.size(), 0, std::span<int>(&value, 1));
    } else if (mode == "spin") {
        volatile unsigned long work = 0;
        if (world.rank() == std::atoi(argv[2]))
            for (;;) work = work + 1;
        int value = 0;
        world.recv(std::atoi(argv[2]), 0, std::span<int>(&value, 1));
    } else if (mode == "map_writer_dies") {
        // Survivors outlive the SIGTERM that follows the abort, so that a loaded machine
        // cannot stop them before they find the map half-written; a hang still ends at
        // SIGKILL, with the survivors' line missing.
        if (world.rank() != 1) std::signal(SIGTERM, SIG_IGN);
        auto map = world.shared_map<int, int>("tally");
        auto ready = world.shared<int>("survivors ready", 1);
        std::atomic_ref<int> survivors(ready[0]);
        world.barrier();
        if (world.rank() == 1) {
            // Once every survivor is out of the barrier, which throws once the job aborts.
            while (survivors.load() < world.size() - 1) usleep(100);
            map.update(std::views::iota(0, 1000) | std::views::transform([](int i) {
                           if (i == 500) std::raise(SIGKILL);
                           return std::pair{i, i};
                       }));
        } else {
            ++survivors;
            // Goes through until rank 1 holds the map; then waits, and throws once it died.
            for (;;) map.set(-1, world.rank());
        }
    } else if (mode == "env") {
        std::printf("%d %d\n", world.rank(), world.size());
    } else {
        std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
        return 2;
    }
    return 0;
}
