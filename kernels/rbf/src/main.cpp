// rbf: the n x n matrix phi(|x_i - x_j|) of n points, rows filled by the ranks of a job.
//   rbf --random 6000,3 --out D.npy            # or --points P.npy; mprun -n 2 rbf ...
// Without --out it fills a shared array and prints what it took: n, d, ranks, seconds, GB/s.
// Errors: one line "rbf: <what>" from the whole job (spmd::run_cli), exit 2 for bad input.
#include <boost/program_options.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "spmd/cli.hpp"
#include "spmd/rbf/points.hpp"
#include "spmd/rbf/radial.hpp"
#include "spmd/rbf/rbf_matrix.hpp"
#include "spmd/world.hpp"

namespace po = boost::program_options;
using namespace spmd::rbf;

namespace {

// Unsigned options are read as text: program_options would wrap "-1" to a huge number.
std::uint64_t to_unsigned(const std::string& text, const char* option) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        throw spmd::UsageError(std::string(option) + " wants a non-negative integer, got '" + text +
                               "'");
    return v;
}

int run(spmd::World& world, int argc, char** argv) {
    po::options_description desc("rbf: the n x n matrix phi(|x_i - x_j|) of n points");
    std::string points, random, seed, phi, out, schedule, chunk, store;
    double eps = 1.0;
    desc.add_options()("help,h", "this help")(
        "points", po::value(&points),
        "input points: an n x d .npy of any float or integer dtype, C or Fortran order "
        "(read as float64); a 1-D array of n values is n points with d = 1")(
        "random", po::value(&random), "or n,d points uniform in [0,1)^d")(
        "seed", po::value(&seed)->default_value("0"), "seed of --random")(
        "phi", po::value(&phi)->default_value("cubic-quadratic"),
        ("the function: " + radial_names()).c_str())(
        "eps", po::value(&eps), "shape of gaussian and (inverse-)multiquadric (default 1)")(
        "out", po::value(&out), "write the matrix here (.npy, float64); else print a summary")(
        "schedule", po::value(&schedule)->default_value("guided"), "static, dynamic or guided")(
        "chunk", po::value(&chunk)->default_value("0"), "rows per chunk; 0 picks one")(
        "store", po::value(&store)->default_value("streaming"), "streaming or plain stores")(
        "progress", "show a progress line on stderr even when it is not a terminal")(
        "no-progress", "never show the progress line (default: shown on a terminal)");
    po::variables_map vm;
    const po::positional_options_description no_positionals;  // a stray word is an error
    try {
        po::store(
            po::command_line_parser(argc, argv).options(desc).positional(no_positionals).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw spmd::UsageError(e.what());
    }
    if (vm.count("help")) {
        if (world.rank() == 0) std::cout << desc;
        return 0;
    }
    if (vm.count("points") == vm.count("random"))
        throw spmd::UsageError("give exactly one of --points P.npy and --random n,d");
    MatrixOptions options;
    options.schedule = spmd::parse_schedule(schedule);
    options.chunk = to_unsigned(chunk, "--chunk");
    if (store != "streaming" && store != "plain")
        throw spmd::UsageError("--store wants streaming or plain, got '" + store + "'");
    options.store = store == "plain" ? Store::plain : Store::streaming;
    options.progress = spmd::progress_choice(vm.count("progress"), vm.count("no-progress"));
    const Radial f = parse_radial(phi, eps);
    if (vm.count("eps") && !uses_eps(f.kind))
        throw spmd::UsageError(
            "--eps has no effect with --phi " + phi +
            ": only gaussian, multiquadric and inverse-multiquadric have a shape");
    // The matrix must fit before the points are drawn or read: n alone decides that.
    const auto check_fits = [&](std::size_t n) {
        if (out.empty())
            check_fits_in_memory(n);
        else
            check_fits_on_disk(out, n);
    };
    Points p;
    if (vm.count("random")) {
        auto [n, d] = parse_random_spec(random);
        check_fits(n);
        p = random_points(n, d, to_unsigned(seed, "--seed"));
    } else {
        p = load_points(points);
        check_fits(p.n);
    }

    const auto start = std::chrono::steady_clock::now();
    if (!out.empty()) {
        write_rbf_matrix(world, p, f, out, options);
        return 0;
    }
    auto matrix = rbf_matrix(world, p, f, options);
    const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
    if (world.rank() == 0)
        std::printf("n=%zu d=%zu ranks=%d phi=%s seconds=%.4f gbps=%.2f\n", p.n, p.d, world.size(),
                    std::string(to_string(f.kind)).c_str(), seconds.count(),
                    double(matrix.size()) * sizeof(double) / seconds.count() / 1e9);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return spmd::run_cli("rbf", argc, argv,
                         [&](spmd::World& world) { return run(world, argc, argv); });
}
