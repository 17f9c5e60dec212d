// spmd::rbf from the installed package: the Gaussian matrix of three points at 0, 1 and 3
// on a line, checked against exp(-(eps r)^2).
#include <cmath>
#include <cstdio>
#include <spmd/rbf/rbf_matrix.hpp>

int main(int argc, char** argv) {
    spmd::World world(argc, argv);
    spmd::rbf::Points points{3, 1, {0.0, 1.0, 3.0}};
    const auto f = spmd::rbf::parse_radial("gaussian", 1.0);
    const auto a = spmd::rbf::rbf_matrix(world, points, f);
    if (world.rank() != 0) return 0;
    bool ok = true;
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            const double r = points.coords[i] - points.coords[j];
            ok = ok && std::abs(a[i * 3 + j] - std::exp(-r * r)) < 1e-12;
        }
    std::printf("use_rbf ranks=%d a01=%.6f %s\n", world.size(), a[1], ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
