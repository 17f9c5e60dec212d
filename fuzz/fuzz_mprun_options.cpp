// libFuzzer target for mprun's command line: the input is split at NUL bytes into the
// words after "mprun". parse_options must return options or throw spmd::UsageError with
// a message; any other exception, a crash or a sanitizer report is a bug.
#include <cstdint>
#include <spmd/error.hpp>
#include <string>
#include <vector>

#include "options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> words{"mprun"};
    std::string word;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] != 0) {
            word += static_cast<char>(data[i]);
        } else {
            words.push_back(word);
            word.clear();
        }
    }
    if (size > 0) words.push_back(word);
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    try {
        mprun::parse_options(static_cast<int>(words.size()), argv.data());
    } catch (const spmd::UsageError& e) {
        if (std::string(e.what()).empty()) throw;  // a refusal must say why
    }
    return 0;
}
