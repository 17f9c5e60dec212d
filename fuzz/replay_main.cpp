// Runs a fuzz target's entry point once on every file of the given directories, in a
// normal (or sanitizer) build without libFuzzer: the crashes fuzzing found stay fixed.
// Files whose names start with '.' are skipped. Exits 1 on an unreadable path.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    std::size_t replayed = 0;
    for (int a = 1; a < argc; ++a) {
        std::error_code ec;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(argv[a], ec))
            if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
                files.push_back(entry.path());
        if (ec) {
            std::fprintf(stderr, "replay: cannot read %s: %s\n", argv[a], ec.message().c_str());
            return 1;
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::ifstream in(file, std::ios::binary);
            const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
            std::printf("replay: %s\n", file.c_str());
            std::fflush(stdout);  // names the culprit if the next call crashes
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
            ++replayed;
        }
    }
    std::printf("replay: %zu inputs, no crash\n", replayed);
    return 0;
}
