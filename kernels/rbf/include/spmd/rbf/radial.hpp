// Radial functions phi(r) of the RBF kernel, named as on the rbf command line. A Radial
// is a kind plus its shape parameter eps (used by gaussian and the multiquadrics only):
//   auto f = spmd::rbf::parse_radial("gaussian", 0.5);  double v = f(1.0);
#pragma once
#include <string>
#include <string_view>

namespace spmd::rbf {

enum class Phi {
    cubic_quadratic,
    linear,
    cubic,
    thin_plate,
    gaussian,
    multiquadric,
    inverse_multiquadric
};

struct Radial {
    Phi kind = Phi::cubic_quadratic;
    double eps = 1.0;
    // phi at distance r, straight from the formula: the reference the fast kernel is
    // tested against, not the kernel itself.
    double operator()(double r) const;
};

// A Radial from its command-line name; an unknown name or an eps that is negative or
// not finite is a UsageError.
Radial parse_radial(std::string_view name, double eps = 1.0);
std::string_view to_string(Phi kind);
// Whether eps shapes phi of this kind (gaussian and the multiquadrics).
bool uses_eps(Phi kind);
// The names parse_radial accepts, comma-separated, for help and error messages.
std::string radial_names();

}  // namespace spmd::rbf
