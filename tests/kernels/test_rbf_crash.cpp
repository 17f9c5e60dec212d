// A rank killed while the RBF matrix is being written leaves no output and no temp file:
// the file has no name until every rank is done (O_TMPFILE).
#include <catch2/catch.hpp>
#include <dirent.h>

#include "../support/run.hpp"

TEST_CASE("a rank killed mid-write leaves no file behind") {
    auto r = test::run(test::bin("mprun") + " -n 2 sh -c 'if [ $SPMD_RANK = 1 ]; then "
                       "(sleep 0.05; kill -9 $$) & fi; exec " + test::bin("rbf") +
                       " --random 8000,3 --seed 1 --out crash.npy'");
    CHECK(r.code == 128 + 9);
    CHECK_THAT(r.err, Catch::Matchers::Contains("rank 1 killed by signal SIGKILL"));
    CHECK(test::nothing_left_of(r.pid));
    DIR* dir = opendir(".");
    REQUIRE(dir);
    while (dirent* e = readdir(dir)) CHECK(std::string(e->d_name).rfind("crash.npy", 0) != 0);
    closedir(dir);
}
