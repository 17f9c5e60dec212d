// spmd::knn from the installed package: the two nearest of 100 points on a line to 10.2
// are points 10 and 11, at 0.2 and 0.8.
#include <cmath>
#include <cstdio>
#include <spmd/knn/knn.hpp>
#include <vector>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    std::vector<double> data(100), query{10.2};
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = double(i);
    spmd::knn::Options options;
    options.k = 2;
    const auto result =
        spmd::knn::search(world, {data.data(), 100, 1}, {query.data(), 1, 1}, options);
    if (world.rank() != 0) return 0;
    const bool ok = result.indices[0] == 10 && result.indices[1] == 11 &&
                    std::abs(result.distances[0] - 0.2) < 1e-12 &&
                    std::abs(result.distances[1] - 0.8) < 1e-12;
    std::printf("use_knn ranks=%d nearest=%lld,%lld %s\n", world.size(),
                (long long)result.indices[0], (long long)result.indices[1], ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
