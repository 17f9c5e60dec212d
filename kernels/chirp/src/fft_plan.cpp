#include "spmd/chirp/fft_plan.hpp"

#include <fftw3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <system_error>

#include "spmd/chirp/aligned_buffer.hpp"
#include "spmd/error.hpp"

namespace spmd::chirp {

namespace detail {
void* fftw_allocate(std::size_t bytes) {
    void* p = fftw_malloc(bytes ? bytes : 1);
    if (!p) throw std::bad_alloc();
    return p;
}
void fftw_release(void* p) noexcept {
    fftw_free(p);
}
}  // namespace detail

PlanRigor parse_plan_rigor(std::string_view word) {
    if (word == "estimate") return PlanRigor::estimate;
    if (word == "measure") return PlanRigor::measure;
    if (word == "patient") return PlanRigor::patient;
    throw UsageError("unknown FFTW planning '" + std::string(word) +
                     "': use estimate, measure or patient");
}

std::string_view to_string(PlanRigor rigor) {
    switch (rigor) {
        case PlanRigor::estimate:
            return "estimate";
        case PlanRigor::measure:
            return "measure";
        case PlanRigor::patient:
            return "patient";
    }
    return "?";
}

unsigned fftw_flags(PlanRigor rigor) {
    switch (rigor) {
        case PlanRigor::estimate:
            return FFTW_ESTIMATE;
        case PlanRigor::measure:
            return FFTW_MEASURE;
        case PlanRigor::patient:
            return FFTW_PATIENT;
    }
    return FFTW_ESTIMATE;
}

std::filesystem::path default_wisdom_file() {
    auto env = [](const char* name) -> std::filesystem::path {
        const char* v = std::getenv(name);
        return v && *v ? v : "";
    };
    if (auto p = env("SPMD_FFTW_WISDOM"); !p.empty()) return p;
    if (auto p = env("XDG_CACHE_HOME"); !p.empty()) return p / "mprun" / "fftw-wisdom";
    if (auto p = env("HOME"); !p.empty()) return p / ".cache" / "mprun" / "fftw-wisdom";
    return {};
}

bool import_wisdom_file(const std::filesystem::path& file) {
    return !file.empty() && fftw_import_wisdom_from_filename(file.c_str()) != 0;
}

std::string export_wisdom() {
    std::unique_ptr<char, void (*)(void*)> text(fftw_export_wisdom_to_string(), std::free);
    return text ? std::string(text.get()) : std::string();
}

bool import_wisdom(const std::string& text) {
    return fftw_import_wisdom_from_string(text.c_str()) != 0;
}

void forget_wisdom() {
    fftw_forget_wisdom();
}

bool export_wisdom_file(const std::filesystem::path& file) {
    if (file.empty()) return false;
    const std::string text = export_wisdom();
    if (text.empty()) return false;
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    // A private temp name, then rename: concurrent runs never see a half-written file.
    std::filesystem::path temp = file;
    temp += ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) {
            std::filesystem::remove(temp, ec);
            return false;
        }
    }
    std::filesystem::rename(temp, file, ec);
    if (!ec) return true;
    std::filesystem::remove(temp, ec);
    return false;
}

}  // namespace spmd::chirp
