// World::shared<T>(name, shape): C-order strides, a(i, j, ...) against hand-computed
// offsets, rows as spans, checked at(), and .npy round trips of 1-D to 4-D arrays whose
// bytes are compared with a numpy-layout file built independently here.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <spmd/launch.hpp>
#include <spmd/npy.hpp>
#include <spmd/world.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/run.hpp"

using Catch::Matchers::Contains;

namespace {

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

// Value of the item at C-order flat offset k: distinct, exact in a double.
double value_at(std::size_t k) {
    return double(k) * 0.25 - 3.0;
}

// What numpy.save writes for a little-endian float64 C-order array of this shape: the
// version 1.0 header padded with spaces to a multiple of 64 bytes, ending in '\n'.
std::string numpy_bytes(const std::vector<std::size_t>& shape, const std::vector<double>& items) {
    std::string dims;
    for (std::size_t k = 0; k < shape.size(); ++k)
        dims += (k ? ", " : "") + std::to_string(shape[k]);
    if (shape.size() == 1) dims += ",";
    std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
    const std::size_t unpadded = 10 + dict.size() + 1;
    dict += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
    std::string out = "\x93NUMPY";
    out += char(1);
    out += char(0);
    out += char(dict.size() & 0xff);
    out += char(dict.size() >> 8);
    out += dict;
    out.append(reinterpret_cast<const char*>(items.data()), items.size() * sizeof(double));
    return out;
}

}  // namespace

TEST_CASE("an n-d shared array is laid out in C order") {
    const int ranks = GENERATE(1, 2, 4, 9);
    REQUIRE_NOTHROW(spmd::launch(ranks, [](spmd::World& world) {
        auto a = world.shared<std::int64_t>("A", {3, 4, 5, 2});
        check(a.ndim() == 4 && a.size() == 120, "wrong ndim or size");
        check(a.strides() == std::vector<std::size_t>{40, 10, 2, 1}, "wrong strides");
        // Each rank fills some of the rows through a(i, j, k, l).
        for (spmd::Range r : world.schedule(3, spmd::Schedule::dynamic, 1))
            for (std::size_t i = r.begin; i < r.end; ++i)
                for (std::size_t j = 0; j < 4; ++j)
                    for (std::size_t k = 0; k < 5; ++k)
                        for (std::size_t l = 0; l < 2; ++l)
                            a(i, j, k, l) = std::int64_t(1000 * i + 100 * j + 10 * k + l);
        world.barrier();
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 4; ++j)
                for (std::size_t k = 0; k < 5; ++k)
                    for (std::size_t l = 0; l < 2; ++l)
                        check(a.data()[i * 40 + j * 10 + k * 2 + l] ==
                                  std::int64_t(1000 * i + 100 * j + 10 * k + l),
                              "item not at its C-order offset");
        auto row = a.row(2);
        check(row.size() == 40 && row.data() == a.data() + 80 && row[13] == 2000 + 100 + 10 * 1 + 1,
              "row(2) is not the third block of 40 items");
    }));
}

TEST_CASE("at() checks the index count and every index") {
    REQUIRE_NOTHROW(spmd::launch(1, [](spmd::World& world) {
        auto m = world.shared<double>("M", {2, 3});
        m.at(1, 2) = 5.0;
        check(m(1, 2) == 5.0 && m.data()[5] == 5.0, "at(1, 2) is not item 5");
        bool threw = false;
        try {
            (void)m.at(2, 0);
        } catch (const spmd::Error& e) {
            threw = std::string(e.what()) ==
                    "NdArray::at: index 2 is out of range for axis 0 of extent 2";
        }
        check(threw, "at(2, 0) did not say which index was out of range");
        threw = false;
        try {
            (void)m.at(1);
        } catch (const spmd::Error& e) {
            threw = std::string(e.what()) == "NdArray::at: 1 indices for an array of 2 dimensions";
        }
        check(threw, "at(1) on a matrix did not say the index count was wrong");
    }));
}

TEST_CASE(".npy round trips of 1-D to 4-D arrays take the shape from the array") {
    const auto shape =
        GENERATE(std::vector<std::size_t>{7}, std::vector<std::size_t>{3, 5},
                 std::vector<std::size_t>{2, 3, 4}, std::vector<std::size_t>{2, 1, 3, 2});
    const int ranks = GENERATE(1, 2, 4);
    CAPTURE(shape, ranks);
    const std::string path = "nd" + std::to_string(shape.size()) + ".npy";
    REQUIRE_NOTHROW(spmd::launch(ranks, [&](spmd::World& world) {
        auto a = world.shared<double>("A", shape);
        for (spmd::Range r : world.schedule(a.size(), spmd::Schedule::static_))
            for (std::size_t k = r.begin; k < r.end; ++k) a.data()[k] = value_at(k);
        world.barrier();
        if (world.rank() == 0) spmd::npy::save(path, a);
        world.barrier();
        auto b = world.shared<double>("B", shape);
        if (world.rank() == 0) spmd::npy::load_into(path, b);
        world.barrier();
        check(std::equal(a.begin(), a.end(), b.begin(), b.end()), "loaded items differ");
    }));
    std::vector<double> items(spmd::shape_count(shape, "test"));
    for (std::size_t k = 0; k < items.size(); ++k) items[k] = value_at(k);
    CHECK(test::read_file(path) == numpy_bytes(shape, items));
    CHECK(spmd::npy::read_header(path).shape == shape);
}

TEST_CASE("loading a file of another shape is an error naming both shapes") {
    REQUIRE_NOTHROW(spmd::launch(1, [](spmd::World& world) {
        auto a = world.shared<double>("A", {2, 3});
        spmd::npy::save("two_by_three.npy", a);
        auto b = world.shared<double>("B", {3, 2});
        bool threw = false;
        try {
            spmd::npy::load_into("two_by_three.npy", b);
        } catch (const spmd::npy::FormatError& e) {
            threw = std::string(e.what()) ==
                    "two_by_three.npy: shape (2, 3) does not match the array's (3, 2)";
        }
        check(threw, "a shape mismatch was not reported");
    }));
}
