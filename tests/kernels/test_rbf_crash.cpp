// A rank killed while the RBF matrix is being written leaves no output and no temp file:
// the file has no name until every rank is done (O_TMPFILE). No timing: rank 1 runs with a
// preloaded shim that stops it (SIGSTOP) right after it maps the unnamed output, so the
// job cannot finish before the test kills that rank.
#include <dirent.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <string>

#include "../support/run.hpp"

namespace {
// The state letter of /proc/<pid>/stat ('T' once stopped), or 0 while unknown.
char process_state(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    return paren == std::string::npos || paren + 2 >= text.size() ? 0 : text[paren + 2];
}
}  // namespace

TEST_CASE("a rank killed mid-write leaves no file behind") {
    ::unlink("rank1.pid");
    // ASan insists on coming first among preloaded libraries; the shim only wraps mmap.
    const pid_t launcher = test::start(
        test::bin("mprun") +
        " -n 2 sh -c 'if [ $SPMD_RANK = 1 ]; then echo $$ > rank1.pid; "
        "export LD_PRELOAD=" STOP_SHIM " ASAN_OPTIONS=verify_asan_link_order=0; fi; exec " +
        test::bin("rbf") + " --random 3000,3 --seed 1 --out crash.npy'");
    pid_t rank1 = 0;
    while (rank1 == 0 || process_state(rank1) != 'T') {  // until it holds the output, stopped
        std::ifstream("rank1.pid") >> rank1;
        REQUIRE(process_state(launcher) != 'Z');  // the job must not end without us
        ::usleep(1000);
    }
    REQUIRE(::kill(rank1, SIGKILL) == 0);
    const auto r = test::finish(launcher);
    CHECK(r.code == 128 + 9);
    CHECK_THAT(r.err, Catch::Matchers::Contains("rank 1 killed by signal SIGKILL"));
    CHECK(test::nothing_left_of(r.pid));
    DIR* dir = opendir(".");
    REQUIRE(dir);
    while (dirent* e = readdir(dir)) CHECK(std::string(e->d_name).rfind("crash.npy", 0) != 0);
    closedir(dir);
    ::unlink("rank1.pid");
}
