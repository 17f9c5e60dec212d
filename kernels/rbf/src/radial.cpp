#include "spmd/rbf/radial.hpp"

#include <array>
#include <cmath>
#include <utility>

#include "spmd/error.hpp"

namespace spmd::rbf {

namespace {
constexpr std::array<std::pair<Phi, std::string_view>, 7> names{{
    {Phi::cubic_quadratic, "cubic-quadratic"},
    {Phi::linear, "linear"},
    {Phi::cubic, "cubic"},
    {Phi::thin_plate, "thin-plate"},
    {Phi::gaussian, "gaussian"},
    {Phi::multiquadric, "multiquadric"},
    {Phi::inverse_multiquadric, "inverse-multiquadric"},
}};
}  // namespace

double Radial::operator()(double r) const {
    const double er = eps * r;
    switch (kind) {
        case Phi::cubic_quadratic:
            return r * r * r / 12 + r * r / 6;
        case Phi::linear:
            return r;
        case Phi::cubic:
            return r * r * r;
        case Phi::thin_plate:
            return r == 0 ? 0.0 : r * r * std::log(r);
        case Phi::gaussian:
            return std::exp(-er * er);
        case Phi::multiquadric:
            return std::sqrt(1 + er * er);
        case Phi::inverse_multiquadric:
            return 1 / std::sqrt(1 + er * er);
    }
    return 0;
}

Radial parse_radial(std::string_view name, double eps) {
    if (!(eps >= 0) || !std::isfinite(eps))
        throw UsageError("--eps must be a finite number >= 0, got " + std::to_string(eps));
    for (auto [kind, word] : names)
        if (word == name) return Radial{kind, eps};
    throw UsageError("unknown function '" + std::string(name) + "' (one of " + radial_names() +
                     ")");
}

std::string_view to_string(Phi kind) {
    for (auto [k, word] : names)
        if (k == kind) return word;
    return "?";
}

bool uses_eps(Phi kind) {
    return kind == Phi::gaussian || kind == Phi::multiquadric || kind == Phi::inverse_multiquadric;
}

std::string radial_names() {
    std::string all;
    for (auto [kind, word] : names) all += (all.empty() ? "" : ", ") + std::string(word);
    return all;
}

}  // namespace spmd::rbf
