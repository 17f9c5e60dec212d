// mprun --trace-html: one self-contained page (no scripts, nothing fetched) whose SVG has
// a lane per rank and an arrow per barrier signal; headless Chromium renders it to a
// picture with the lanes' colours in it. Skipped, with a warning, without Chromium.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <spmd/detail/wait.hpp>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), as 0xRRGGBB.
std::vector<std::uint32_t> decode_png(const std::string& png) {
    REQUIRE(png.size() > 8);
    REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    auto be32 = [&](std::size_t at) {
        return std::uint32_t(std::uint8_t(png[at])) << 24 |
               std::uint32_t(std::uint8_t(png[at + 1])) << 16 |
               std::uint32_t(std::uint8_t(png[at + 2])) << 8 |
               std::uint32_t(std::uint8_t(png[at + 3]));
    };
    std::uint32_t width = 0, height = 0, channels = 0;
    std::string compressed;
    for (std::size_t at = 8; at + 12 <= png.size();) {
        const std::uint32_t length = be32(at);
        const std::string type = png.substr(at + 4, 4);
        if (type == "IHDR") {
            width = be32(at + 8);
            height = be32(at + 12);
            REQUIRE(png[at + 16] == 8);                         // bit depth
            REQUIRE((png[at + 17] == 2 || png[at + 17] == 6));  // RGB or RGBA
            REQUIRE(png[at + 20] == 0);                         // not interlaced
            channels = png[at + 17] == 2 ? 3 : 4;
        }
        if (type == "IDAT") compressed += png.substr(at + 8, length);
        at += 12 + length;
    }
    REQUIRE(width * height * channels > 0);
    const std::size_t stride = std::size_t(width) * channels;
    std::vector<std::uint8_t> raw(height * (stride + 1));
    uLongf size = raw.size();
    REQUIRE(uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(compressed.data()),
                       compressed.size()) == Z_OK);
    REQUIRE(size == raw.size());
    std::vector<std::uint8_t> image(height * stride);
    for (std::size_t y = 0; y < height; ++y) {
        const std::uint8_t filter = raw[y * (stride + 1)];
        const std::uint8_t* in = &raw[y * (stride + 1) + 1];
        std::uint8_t* row = &image[y * stride];
        const std::uint8_t* up = y ? &image[(y - 1) * stride] : nullptr;
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= channels ? row[i - channels] : 0, b = up ? up[i] : 0,
                      c = up && i >= channels ? up[i - channels] : 0;
            int predicted = 0;
            if (filter == 1) predicted = a;
            if (filter == 2) predicted = b;
            if (filter == 3) predicted = (a + b) / 2;
            if (filter == 4) {  // Paeth
                const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b),
                          pc = std::abs(p - c);
                predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            row[i] = std::uint8_t(in[i] + predicted);
        }
    }
    std::vector<std::uint32_t> pixels;
    for (std::size_t i = 0; i < image.size(); i += channels)
        pixels.push_back(std::uint32_t(image[i]) << 16 | std::uint32_t(image[i + 1]) << 8 |
                         image[i + 2]);
    return pixels;
}

}  // namespace

TEST_CASE(
    "--trace-html writes one self-contained page with a lane per rank and an arrow per signal") {
    unlink("t.html");
    auto r =
        test::run(test::bin("mprun") + " -n 4 --trace-html t.html " + test::bin("hello_barrier"));
    REQUIRE(r.code == 0);
    CHECK(test::nothing_left_of(r.pid));
    const std::string page = test::read_file("t.html");
    CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK_THAT(page, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(count(page, "http") == 1);  // the SVG namespace, a name that is never fetched
    CHECK(count(page, "<script") == 0);
    CHECK(count(page, " src=") == 0);
    for (int rank = 0; rank < 4; ++rank)
        CHECK_THAT(page, Contains(">rank " + std::to_string(rank) + "<"));
    // Every signal of the barrier is drawn: of its two rounds, r -> r+1, r -> r+2 (mod 4);
    // with more ranks than cores (gather-release), r -> 0 and 0 -> r.
    std::set<std::pair<int, int>> drawn, expected;
    if (4 > spmd::detail::usable_cores()) {
        for (int from = 1; from < 4; ++from) expected.insert({from, 0}), expected.insert({0, from});
    } else {
        for (int from = 0; from < 4; ++from)
            for (int distance : {1, 2}) expected.insert({from, (from + distance) % 4});
    }
    const std::string mark = "barrier signal rank ";
    for (auto at = page.find(mark); at != std::string::npos; at = page.find(mark, at + 1)) {
        int from = -1, to = -1;
        std::sscanf(page.c_str() + at + mark.size(), "%d &#8594; rank %d", &from, &to);
        drawn.insert({from, to});
    }
    CHECK(drawn == expected);
}

TEST_CASE("--trace-html: headless Chromium draws the lanes, the waits and the arrows") {
    const char* chromium = "/usr/bin/chromium";
    if (!test::file_exists(chromium)) {
        WARN(
            "SKIPPED: " << chromium
                        << " is not installed (Debian package chromium; .ci/trace.sh installs it)");
        return;
    }
    unlink("t.html");
    unlink("shot.png");
    auto r = test::run(test::bin("mprun") + " -n 4 --trace-html t.html " +
                       test::bin("spmd_trace_program") + " calls 100");
    REQUIRE(r.code == 0);
    const std::string profile = "chromium-profile." + std::to_string(getpid());
    test::run("rm -rf " + profile);
    auto shot =
        test::run(std::string("timeout 120 ") + chromium +
                  " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                  " --disable-background-networking --disable-component-update --disable-sync"
                  " --user-data-dir=" +
                  profile +
                  " --screenshot=shot.png --window-size=1200,800"
                  " file://$PWD/t.html");
    test::run("rm -rf " + profile);
    INFO(shot.err);
    REQUIRE(test::file_exists("shot.png"));
    const auto pixels = decode_png(test::read_file("shot.png"));
    REQUIRE(pixels.size() == 1200u * 800u);
    std::map<std::uint32_t, std::size_t> colours;
    for (auto p : pixels) ++colours[p];
    CHECK(pixels.size() - colours[0xffffff] > pixels.size() / 20);  // not blank
    CHECK(colours[0xf2f2f2] > 1000);                                // the lanes
    CHECK(colours[0xf0a030] > 1000);                                // waiting
    CHECK(colours[0x8fd18f] > 100);                                 // working
    CHECK(colours[0x8a2be2] > 20);  // barrier signal arrows (and the legend)
    CHECK(colours[0x1f5fbf] > 20);  // message arrows (and the legend)
    unlink("shot.png");
}
