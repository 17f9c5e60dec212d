// spmd::npy: round trips, numpy's exact bytes, every kind of bad file, and that writers
// never leave partial or temporary files behind.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "spmd/npy.hpp"
#include "spmd/shared_array.hpp"

namespace fs = std::filesystem;
namespace npy = spmd::npy;
using Catch::Matchers::Contains;

namespace {

// Makes this process's openat() with O_TMPFILE fail with EOPNOTSUPP, as on a file system
// without O_TMPFILE (vfat, older NFS and overlayfs), so the named-temp-file path runs.
bool refuse_o_tmpfile() {
    constexpr std::uint32_t tmpfile_bit = O_TMPFILE & ~O_DIRECTORY;
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[2])),  // flags, low word
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, tmpfile_bit, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

template <class T>
std::string raw(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A .npy file built by hand from the format's definition; pad aligns the data as numpy does.
std::string npy_file(int major, std::string dict, const std::string& data, bool pad = true) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    if (pad) {
        while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
        dict += '\n';
    }
    std::string out("\x93NUMPY", 6);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t b = 0; b < prefix - 8; ++b)
        out += static_cast<char>((dict.size() >> (8 * b)) & 0xff);
    return out + dict + data;
}

std::string f8_dict(const std::string& shape) {
    return "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
}

template <class T>
T value(std::size_t i) {
    if constexpr (std::is_same_v<T, std::complex<double>>)
        return {0.5 * double(i), -1.25 * double(i)};
    else if constexpr (std::is_floating_point_v<T>)
        return T(i) * T(0.75) - T(3);
    else
        return T(i) * 7919 - 1000;
}

// Every rejection: the right type, one line, the file's name and the specific problem.
void require_rejected(const std::string& path, const std::string& problem) {
    REQUIRE_THROWS_AS(npy::read_header(path), spmd::UsageError);
    REQUIRE_THROWS_WITH(npy::read_header(path),
                        Contains(path) && Contains(problem) && !Contains("\n"));
    REQUIRE_THROWS_WITH(npy::load<double>(path), Contains(path) && Contains(problem));
}

}  // namespace

TEMPLATE_TEST_CASE("save then load round-trips every dtype and shape", "[npy]", double, float,
                   std::int64_t, std::int32_t, std::complex<double>) {
    test::TempDir tmp;
    const auto shape = GENERATE(std::vector<std::size_t>{}, std::vector<std::size_t>{7},
                                std::vector<std::size_t>{0}, std::vector<std::size_t>{0, 3},
                                std::vector<std::size_t>{2, 3}, std::vector<std::size_t>{2, 3, 4});
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<TestType> data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = value<TestType>(i);

    const auto path = tmp / "a.npy";
    npy::save(path, data, shape);
    const auto h = npy::read_header(path);
    CHECK(h.dtype == npy::dtype_of<TestType>());
    CHECK(h.shape == shape);
    CHECK(h.count() == n);
    CHECK(h.data_offset % 64 == 0);
    const auto bytes = read_bytes(path);
    CHECK(bytes.size() == h.data_offset + n * sizeof(TestType));
    CHECK(bytes[h.data_offset - 1] == '\n');

    const auto a = npy::load<TestType>(path);
    CHECK(a.shape == shape);
    CHECK(a.data == data);
    CHECK(tmp.entries() == std::vector<std::string>{"a.npy"});  // no temp file left
}

TEST_CASE("dtype tables agree with numpy's names", "[npy]") {
    CHECK(npy::descr(npy::Dtype::f8) == "<f8");
    CHECK(npy::descr(npy::Dtype::f4) == "<f4");
    CHECK(npy::descr(npy::Dtype::i8) == "<i8");
    CHECK(npy::descr(npy::Dtype::i4) == "<i4");
    CHECK(npy::descr(npy::Dtype::c16) == "<c16");
    CHECK(npy::itemsize(npy::Dtype::c16) == 16);
    CHECK(npy::itemsize(npy::Dtype::i4) == 4);
    STATIC_REQUIRE(npy::dtype_of<std::complex<double>>() == npy::Dtype::c16);
    STATIC_REQUIRE(npy::dtype_of<const std::int64_t>() == npy::Dtype::i8);
}

TEST_CASE("save writes the bytes numpy writes", "[npy]") {
    test::TempDir tmp;
    SECTION("2x3 float64") {
        // np.save(f, np.arange(6.0).reshape(2, 3)): 10-byte preamble, dict, spaces, '\n' at 127.
        const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
        std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict;
        expected += std::string(127 - expected.size(), ' ') + "\n";
        std::vector<double> v{0, 1, 2, 3, 4, 5};
        expected += raw(v);
        npy::save(tmp / "a.npy", v, {2, 3});
        CHECK(read_bytes(tmp / "a.npy") == expected);
    }
    SECTION("1-d int32 and a 0-d complex128") {
        std::string i4 = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                         "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
        i4 += std::string(127 - i4.size(), ' ') + "\n" + raw(std::vector<std::int32_t>{1, -2, 3});
        npy::save(tmp / "i.npy", std::vector<std::int32_t>{1, -2, 3}, {3});
        CHECK(read_bytes(tmp / "i.npy") == i4);

        std::string c = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                        "{'descr': '<c16', 'fortran_order': False, 'shape': (), }";
        c += std::string(127 - c.size(), ' ') + "\n" +
             raw(std::vector<std::complex<double>>{{1, 2}});
        npy::save(tmp / "c.npy", std::vector<std::complex<double>>{{1, 2}}, {});
        CHECK(read_bytes(tmp / "c.npy") == c);
    }
    SECTION("a header too long for version 1.0 is written as 2.0") {
        std::vector<std::size_t> shape(23000, 1);  // "1, " x 23000 > 65535 bytes
        npy::save(tmp / "v2.npy", std::vector<double>{42.0}, shape);
        const auto bytes = read_bytes(tmp / "v2.npy");
        CHECK(bytes[6] == 2);
        const auto a = npy::load<double>(tmp / "v2.npy");
        CHECK(a.shape == shape);
        CHECK(a.data == std::vector<double>{42.0});
    }
}

TEST_CASE("save accepts spans and contiguous ranges", "[npy]") {
    test::TempDir tmp;
    std::vector<double> v{1, 2, 3, 4};
    npy::save(tmp / "a.npy", std::span<const double>(v), {4});
    npy::save(tmp / "b.npy", std::span<double>(v), {2, 2});
    npy::save<double>(tmp / "c.npy", v, {4, 1});
    npy::save(tmp / "d.npy", spmd::SharedArray<double>(nullptr, v.data(), v.size()), {4});
    CHECK(npy::load<double>(tmp / "d.npy").data == v);
    CHECK(npy::load<double>(tmp / "a.npy").data == v);
    CHECK(npy::load<double>(tmp / "b.npy").shape == std::vector<std::size_t>{2, 2});
    CHECK(npy::load<double>(tmp / "c.npy").data == v);
}

TEST_CASE("version 2.0 and 3.0 headers and hand-written dicts are read", "[npy]") {
    test::TempDir tmp;
    const std::vector<double> v{1.5, -2.5, 3.5, 4.5, 5.5, 6.5};
    const auto path = tmp / "h.npy";
    auto check = [&] {
        const auto a = npy::load<double>(path);
        CHECK(a.shape == std::vector<std::size_t>{2, 3});
        CHECK(a.data == v);
    };
    SECTION("2.0") {
        write_bytes(path, npy_file(2, f8_dict("(2, 3)"), raw(v)));
        check();
    }
    SECTION("3.0") {
        write_bytes(path, npy_file(3, f8_dict("(2, 3)"), raw(v)));
        check();
    }
    SECTION("keys in any order, no trailing comma, double quotes, odd spacing") {
        write_bytes(
            path, npy_file(1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}", raw(v)));
        check();
        write_bytes(
            path,
            npy_file(1, "{ \"descr\" :\"<f8\",\n\t'fortran_order':False ,'shape':( 2 ,3 , ) , }",
                     raw(v)));
        check();
    }
    SECTION("Python 2 longs and an unaligned (old numpy) header") {
        write_bytes(path, npy_file(1, f8_dict("(2L, 3L)") + "\n", raw(v), false));
        check();
    }
    SECTION("Fortran order where it means the same bytes") {
        write_bytes(
            path,
            npy_file(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 6, 1), }", raw(v)));
        CHECK(npy::load<double>(path).data == v);
    }
}

TEST_CASE("load_as widens float32 and int32 in one pass", "[npy]") {
    test::TempDir tmp;
    std::vector<float> f(7 * 75001);  // over 2 MiB: several conversion chunks
    for (std::size_t i = 0; i < f.size(); ++i) f[i] = float(i) * 0.37f - 11.0f;
    npy::save(tmp / "f.npy", f, {f.size() / 7, 7});
    const auto d = npy::load_as<double>(tmp / "f.npy");
    CHECK(d.shape == std::vector<std::size_t>{f.size() / 7, 7});
    REQUIRE(d.data.size() == f.size());
    bool same = true;
    for (std::size_t i = 0; i < f.size(); ++i) same = same && d.data[i] == double(f[i]);
    CHECK(same);

    npy::save(tmp / "i.npy", std::vector<std::int32_t>{-5, 7, INT32_MAX}, {3});
    CHECK(npy::load_as<std::int64_t>(tmp / "i.npy").data ==
          std::vector<std::int64_t>{-5, 7, INT32_MAX});
    CHECK(npy::load_as<double>(tmp / "f.npy").data.size() == f.size());
    REQUIRE_THROWS_WITH(npy::load<double>(tmp / "f.npy"),
                        Contains("f.npy: dtype is float32 ('<f4') but float64 was expected"));
    CHECK(npy::load_as<double>((tmp / "i.npy")).data == std::vector<double>{-5, 7, INT32_MAX});
    npy::save((tmp / "c.npy"), std::vector<std::complex<double>>{1.0}, {1});
    REQUIRE_THROWS_WITH(npy::load_as<double>((tmp / "c.npy")),
                        Contains("c.npy: dtype is complex128 ('<c16') but a real number (float "
                                 "or integer) was expected"));
    npy::save((tmp / "d.npy"), std::vector<double>{1.0}, {1});
    REQUIRE_THROWS_WITH(npy::load_as<float>((tmp / "d.npy")),  // never narrows
                        Contains("d.npy: dtype is float64 ('<f8') but float32 was expected"));
}

TEST_CASE("Fortran order and every integer dtype load as their C-order float64 values", "[npy]") {
    test::TempDir tmp;
    const auto p = (tmp / "f.npy");
    // numpy's np.asfortranarray([[1, 2, 3], [4, 5, 6]]): the columns one after the other.
    const std::string columns = raw(std::vector<double>{1, 4, 2, 5, 3, 6});
    write_bytes(p,
                npy_file(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", columns));
    CHECK(npy::read_header(p).fortran_order);
    CHECK(npy::load<double>(p).data == std::vector<double>{1, 2, 3, 4, 5, 6});
    CHECK(npy::load<double>(p).shape == std::vector<std::size_t>{2, 3});

    // Three axes: axis 0 fastest in the file; element (i, j, k) at i + 2 j + 6 k.
    std::vector<double> fortran(2 * 3 * 4), c_order(2 * 3 * 4);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 4; ++k) {
                const double v = double(100 * i + 10 * j + k);
                fortran[i + 2 * j + 6 * k] = v;
                c_order[(i * 3 + j) * 4 + k] = v;
            }
    write_bytes(p, npy_file(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }",
                            raw(fortran)));
    CHECK(npy::load<double>(p).data == c_order);

    // Large enough for several conversion chunks, float32 in Fortran order.
    const std::size_t rows = 70001, cols = 3;
    std::vector<float> f32(rows * cols);
    std::vector<double> want(rows * cols);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) {
            const float v = float(i) * 0.37f - float(j);
            f32[j * rows + i] = v;
            want[i * cols + j] = double(v);
        }
    write_bytes(
        p, npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (70001, 3), }", raw(f32)));
    CHECK(npy::load_as<double>(p).data == want);
    const auto same_dtype = npy::load<float>(p).data;  // no conversion, still transposed
    REQUIRE(same_dtype.size() == want.size());
    CHECK(std::equal(same_dtype.begin(), same_dtype.end(), want.begin(),
                     [](float x, double y) { return double(x) == y; }));

    const auto ints = [&](const std::string& descr, const std::string& data,
                          std::vector<double> values) {
        write_bytes(p, npy_file(1,
                                "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                                    std::to_string(values.size()) + ",), }",
                                data));
        INFO(descr);
        CHECK(npy::load_as<double>(p).data == values);
    };
    ints("|i1", raw(std::vector<std::int8_t>{-128, 0, 127}), {-128, 0, 127});
    ints("|u1", raw(std::vector<std::uint8_t>{0, 200, 255}), {0, 200, 255});
    ints("<i2", raw(std::vector<std::int16_t>{-32768, 5, 32767}), {-32768, 5, 32767});
    ints("<u2", raw(std::vector<std::uint16_t>{0, 65535}), {0, 65535});
    ints("<u4", raw(std::vector<std::uint32_t>{0, 4294967295u}), {0, 4294967295.0});
    ints("<i8", raw(std::vector<std::int64_t>{-(std::int64_t(1) << 53), 3}), {-0x1p53, 3});
    ints("<u8", raw(std::vector<std::uint64_t>{~std::uint64_t(0)}), {0x1p64});  // rounds as numpy
    write_bytes(p, npy_file(1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }",
                            raw(std::vector<std::uint16_t>{7, 65535})));
    CHECK(npy::load_as<std::int64_t>(p).data == std::vector<std::int64_t>{7, 65535});
    write_bytes(p, npy_file(1, "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }",
                            raw(std::vector<std::uint64_t>{1})));
    REQUIRE_THROWS_WITH(npy::load_as<std::int64_t>(p), Contains("dtype is uint64"));
}

TEST_CASE("matrix_shape: 2-D as it is, 1-D as one column, anything else refused", "[npy]") {
    const auto shape = [](npy::Dtype dtype, std::vector<std::size_t> dims) {
        npy::Header h;
        h.dtype = dtype;
        h.shape = std::move(dims);
        return npy::matrix_shape("p.npy", h);
    };
    CHECK(shape(npy::Dtype::f8, {5, 3}) == std::pair<std::size_t, std::size_t>{5, 3});
    CHECK(shape(npy::Dtype::u1, {7}) == std::pair<std::size_t, std::size_t>{7, 1});
    REQUIRE_THROWS_WITH(shape(npy::Dtype::f8, {2, 3, 4}),
                        "p.npy: expected a 2-D array (points x coordinates) or a 1-D one (d = 1), "
                        "got shape 2x3x4");
    REQUIRE_THROWS_WITH(shape(npy::Dtype::f8, {}), Contains("got shape scalar"));
    REQUIRE_THROWS_AS(shape(npy::Dtype::c16, {2, 2}), npy::FormatError);
}

TEST_CASE("commit_all: outputs appear together or not at all", "[npy]") {
    test::TempDir tmp;
    const auto a = (tmp / "out_a.npy"), b = (tmp / "out_b.npy");
    const auto sorted_entries = [&] {
        auto names = tmp.entries();
        std::sort(names.begin(), names.end());
        return names;
    };
    const std::vector<double> one{1, 2}, two{3, 4, 5};
    const auto make = [&](npy::OutputFile& fa, npy::OutputFile& fb) {
        fa.write(std::span<const double>(one));
        fb.write(std::span<const double>(two));
    };
    SECTION("both, replacing what was there") {
        npy::save(a, std::vector<double>{9}, {1});
        npy::OutputFile fa(a, npy::Dtype::f8, {2}), fb(b, npy::Dtype::f8, {3});
        make(fa, fb);
        npy::commit_all({&fa, &fb});
        CHECK(npy::load<double>(a).data == one);
        CHECK(npy::load<double>(b).data == two);
        CHECK(sorted_entries() == std::vector<std::string>{"out_a.npy", "out_b.npy"});
    }
    SECTION("the second fails: the first is taken back, an old file restored") {
        npy::save(a, std::vector<double>{9}, {1});
        const std::string old = read_bytes(a);
        npy::OutputFile fa(a, npy::Dtype::f8, {2}), fb(b, npy::Dtype::f8, {3});
        make(fa, fb);
        fs::create_directory(b);  // appears after the check at creation: the rename fails
        REQUIRE_THROWS_WITH(npy::commit_all({&fa, &fb}),
                            Contains("out_b.npy: cannot replace: it is a directory"));
        CHECK(read_bytes(a) == old);
        CHECK(fs::is_directory(b));
        CHECK(sorted_entries() == std::vector<std::string>{"out_a.npy", "out_b.npy"});
    }
    SECTION("the second fails where nothing was: neither appears") {
        npy::OutputFile fa(a, npy::Dtype::f8, {2}), fb(b, npy::Dtype::f8, {3});
        make(fa, fb);
        fs::create_directory(b);
        REQUIRE_THROWS_AS(npy::commit_all({&fa, &fb}), spmd::UsageError);
        CHECK_FALSE(fs::exists(a));
        CHECK(tmp.entries() == std::vector<std::string>{"out_b.npy"});
    }
}

TEST_CASE("load_into fills a caller's buffer", "[npy]") {
    test::TempDir tmp;
    const std::vector<float> f{1, 2, 3, 4, 5, 6};
    npy::save(tmp / "f.npy", f, {3, 2});
    const auto h = npy::read_header(tmp / "f.npy");
    std::vector<double> out(h.count());
    npy::load_into(tmp / "f.npy", h, std::span<double>(out));
    CHECK(out == std::vector<double>{1, 2, 3, 4, 5, 6});

    std::vector<double> small(5);
    REQUIRE_THROWS_WITH(npy::load_into(tmp / "f.npy", h, std::span<double>(small)),
                        Contains("f.npy: holds 6 items but the destination has room for 5"));
    npy::save(tmp / "f.npy", f, {2, 3});
    REQUIRE_THROWS_WITH(npy::load_into(tmp / "f.npy", h, std::span<double>(out)),
                        Contains("f.npy: file changed since its header was read"));
}

TEST_CASE("malformed files are rejected with the file name and the problem", "[npy]") {
    test::TempDir tmp;
    const auto p = tmp / "bad.npy";
    const std::string six(48, '\0');

    SECTION("missing or empty") {
        require_rejected(tmp / "none.npy", "cannot open: No such file or directory");
        write_bytes(p, "");
        require_rejected(p, "empty file");
        require_rejected(tmp.path.string(), "cannot read: Is a directory");
    }
    SECTION("bad magic") {
        write_bytes(p, "\x93NUMPZ\x01\x00" + std::string(100, ' '));
        require_rejected(p, "not a .npy file (bad magic)");
        write_bytes(p, "PK\x03\x04 this is a zip");
        require_rejected(p, "bad magic");
    }
    SECTION("unsupported version") {
        auto f = npy_file(1, f8_dict("(2, 3)"), six);
        f[6] = 4;
        write_bytes(p, f);
        require_rejected(p, "unsupported .npy format version 4.0");
    }
    SECTION("truncated header") {
        write_bytes(p, std::string("\x93NUMPY\x01", 7));
        require_rejected(p, "truncated header (file ends after 7 bytes)");
        write_bytes(p, std::string("\x93NUMPY\x02\x00\x10", 9));
        require_rejected(p, "truncated header (file ends after 9 bytes)");
        write_bytes(p, npy_file(1, f8_dict("(2, 3)"), "").substr(0, 40));
        require_rejected(p, "truncated header: it says 118 bytes but 30 follow");
    }
    SECTION("absurd header length") {
        write_bytes(p, std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12) + f8_dict("(2, 3)"));
        require_rejected(p, "header length 2147483647 exceeds the 1 MiB limit");
    }
    SECTION("data shorter or longer than the shape says") {
        write_bytes(p, npy_file(1, f8_dict("(1000, 3)"), std::string(800, '\0')));
        require_rejected(
            p, "truncated: header says 1000x3 float64 (24000 bytes) but 800 bytes follow");
        write_bytes(p, npy_file(1, f8_dict("(2, 3)"), six + "x"));
        require_rejected(p,
                         "trailing bytes: header says 2x3 float64 (48 bytes) but 49 bytes follow");
        write_bytes(p, npy_file(1, f8_dict("()"), ""));
        require_rejected(p, "truncated: header says scalar float64 (8 bytes) but 0 bytes follow");
    }
    SECTION("unsupported dtypes and order") {
        write_bytes(
            p, npy_file(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", six));
        require_rejected(p, "unsupported dtype '>f8' (big-endian)");
        write_bytes(p,
                    npy_file(1, "{'descr': '|O', 'fortran_order': False, 'shape': (6,), }", six));
        require_rejected(p, "unsupported dtype '|O' (object arrays cannot be read)");
        write_bytes(p,
                    npy_file(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (24,), }", six));
        require_rejected(p,
                         "unsupported dtype '<f2' (supported: <f8 <f4, <i8 <i4 <i2 |i1, <u8 "
                         "<u4 <u2 |u1, <c16)");
        write_bytes(p,
                    npy_file(1, "{'descr': '<U6', 'fortran_order': False, 'shape': (2,), }", six));
        require_rejected(p, "unsupported dtype '<U6' (strings are not numbers)");
        write_bytes(p,
                    npy_file(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (6,), }", six));
        require_rejected(p, "unsupported dtype '<c8' (supported complex: <c16)");
        write_bytes(p,
                    npy_file(1, "{'descr': '|f8', 'fortran_order': False, 'shape': (6,), }", six));
        require_rejected(p, "unsupported dtype '|f8' (byte order must be '<')");
        write_bytes(
            p,
            npy_file(
                1,
                "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                six));
        require_rejected(
            p,
            "unsupported dtype '[('x', '<f8'), ('y', '<f8')]' (structured arrays cannot be read)");
        write_bytes(p,
                    npy_file(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (12,), }", six));
        REQUIRE_THROWS_WITH(npy::load<double>(p),
                            Contains(p) && Contains("dtype is int32 ('<i4') but float64"));
    }
    SECTION("shapes that lie or overflow") {
        write_bytes(p, npy_file(1, f8_dict("(4294967296, 4294967296)"), six));
        require_rejected(p, "shape 4294967296x4294967296 is too large (element count overflows)");
        write_bytes(p, npy_file(1, f8_dict("(4611686018427387904,)"), six));
        require_rejected(p, "shape 4611686018427387904 of float64 is too large");
        write_bytes(p, npy_file(1, f8_dict("(99999999999999999999999, 1)"), six));
        require_rejected(p, "shape dimension 99999999999999999999999 is too large");
        write_bytes(p, npy_file(1, f8_dict("(2, -3)"), six));
        require_rejected(p, "shape has a negative dimension");
        write_bytes(p, npy_file(1, f8_dict("(6)"), six));
        require_rejected(p, "shape (6) is not a tuple: write (6,)");
        write_bytes(p, npy_file(1, f8_dict("[2, 3]"), six));
        require_rejected(p, "shape is '[2, 3]', not a tuple of integers");
        write_bytes(p, npy_file(1, f8_dict("(2, 3.0)"), six));
        require_rejected(p, "unparsable header: expected ')'");
    }
    SECTION("unparsable or incomplete dicts") {
        for (const char* dict : {"{'descr' '<f8', 'fortran_order': False, 'shape': (6,), }",
                                 "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), ",
                                 "{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} junk",
                                 "{'descr': '<f8, 'fortran_order': False, 'shape': (6,)}",
                                 "'descr': '<f8', 'fortran_order': False, 'shape': (6,)",
                                 "{descr: '<f8', 'fortran_order': False, 'shape': (6,)}",
                                 "{'descr': '<f8' 'fortran_order': False, 'shape': (6,)}"}) {
            INFO(dict);
            write_bytes(p, npy_file(1, dict, six));
            require_rejected(p, "unparsable header");
        }
        write_bytes(p, npy_file(1, "{'descr': '<f8', 'shape': (6,), }", six));
        require_rejected(p, "header has no 'fortran_order'");
        write_bytes(
            p, npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", six));
        require_rejected(p, "unexpected key 'x' in header");
        write_bytes(p, npy_file(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (6,)}", six));
        require_rejected(p, "fortran_order is '0', not True or False");
        write_bytes(p,
                    npy_file(1, "{'descr': '<f8', 'fortran_order': Falsey, 'shape': (6,)}", six));
        require_rejected(p, "not True or False");
    }
}

TEST_CASE("save fails cleanly and leaves no file behind", "[npy]") {
    test::TempDir tmp;
    const std::vector<double> v{1, 2, 3, 4, 5, 6};
    SECTION("shape that does not match the data") {
        REQUIRE_THROWS_WITH(npy::save(tmp / "a.npy", v, {2, 2}),
                            Contains("a.npy: shape 2x2 holds 4 items but 6 were given"));
        CHECK(tmp.entries().empty());
    }
    SECTION("missing directory, or a file where a directory should be") {
        const auto p = tmp / "no/such/dir/a.npy";
        REQUIRE_THROWS_AS(npy::save(p, v, {6}), spmd::UsageError);
        REQUIRE_THROWS_WITH(npy::save(p, v, {6}),
                            Contains(p) && Contains("No such file or directory"));
        write_bytes(tmp / "plain", "x");
        REQUIRE_THROWS_WITH(npy::save(tmp / "plain/a.npy", v, {6}),
                            Contains("plain/a.npy") && Contains("Not a directory"));
        CHECK(tmp.entries() == std::vector<std::string>{"plain"});
    }
    SECTION("target is a directory: the temp file is removed") {
        fs::create_directory(tmp.path / "out.npy");
        REQUIRE_THROWS_WITH(npy::save(tmp / "out.npy", v, {6}),
                            Contains("out.npy: cannot replace: Is a directory"));
        CHECK(tmp.entries() == std::vector<std::string>{"out.npy"});
    }
    SECTION("read-only directory") {
        if (::geteuid() == 0)
            SUCCEED("root ignores permissions; skipped");
        else {
            fs::permissions(tmp.path, fs::perms::owner_read | fs::perms::owner_exec);
            REQUIRE_THROWS_WITH(npy::save(tmp / "a.npy", v, {6}),
                                Contains("a.npy: cannot create: Permission denied"));
            fs::permissions(tmp.path, fs::perms::owner_all);
            CHECK(tmp.entries().empty());
        }
    }
    SECTION("an existing file is replaced whole") {
        npy::save(tmp / "a.npy", v, {6});
        npy::save(tmp / "a.npy", std::vector<double>{9}, {});
        CHECK(npy::load<double>(tmp / "a.npy").data == std::vector<double>{9});
        CHECK(tmp.entries() == std::vector<std::string>{"a.npy"});
    }
}

TEST_CASE("OutputFile is filled through mappings and appears only on commit", "[npy]") {
    test::TempDir tmp;
    const auto path = tmp / "D.npy";
    SECTION("commit") {
        npy::OutputFile out(path, npy::Dtype::f8, {5, 4});
        CHECK(out.data_offset() % 64 == 0);
        CHECK(out.file_size() == out.data_offset() + 5 * 4 * 8);
        CHECK(fs::file_size(out.temp_path()) == out.file_size());
        CHECK_FALSE(fs::exists(path));
        // Another rank would reopen the temp file by name and map it from offset 0.
        int fd = ::open(out.temp_path().c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        void* p = ::mmap(nullptr, out.file_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(p != MAP_FAILED);
        ::close(fd);
        auto* d = reinterpret_cast<double*>(static_cast<char*>(p) + out.data_offset());
        for (int i = 0; i < 20; ++i) d[i] = i * 1.5;
        ::munmap(p, out.file_size());
        out.commit();
        CHECK_FALSE(fs::exists(out.temp_path()));
        const auto a = npy::load<double>(path);
        CHECK(a.shape == std::vector<std::size_t>{5, 4});
        for (int i = 0; i < 20; ++i) CHECK(a.data[i] == i * 1.5);
        REQUIRE_THROWS_AS(out.commit(), spmd::UsageError);
    }
    SECTION("destroyed without commit leaves nothing") {
        { npy::OutputFile out(path, npy::Dtype::c16, {3}); }
        CHECK(tmp.entries().empty());
        npy::OutputFile a(path, npy::Dtype::f4, {2});
        {
            npy::OutputFile b = std::move(a);  // the moved-from object owns nothing
            CHECK(fs::exists(b.temp_path()));
        }
        CHECK(tmp.entries().empty());
    }
    SECTION("a forked copy does not remove the creator's file") {
        // Under O_TMPFILE the temp file has no name and nothing is ever unlinked, so the
        // owner check only matters for the named temp file of a file system without
        // O_TMPFILE. A child process plays that file system (a seccomp filter cannot be
        // lifted again) and reports by exit code.
        enum { ok, filter_failed, still_unnamed, copy_removed_it, creator_left_it };
        const pid_t creator = ::fork();
        REQUIRE(creator >= 0);
        if (creator == 0) {  // never return into Catch from a forked child
            if (!refuse_o_tmpfile()) ::_exit(filter_failed);
            std::string temp;
            {
                npy::OutputFile out(path, npy::Dtype::f8, {2});
                temp = out.temp_path();
                if (!fs::exists(temp) || temp.rfind("/proc/", 0) == 0) ::_exit(still_unnamed);
                const pid_t pid = ::fork();
                if (pid == 0) {
                    { npy::OutputFile copy = std::move(out); }
                    ::_exit(0);
                }
                ::waitpid(pid, nullptr, 0);
                if (!fs::exists(temp)) ::_exit(copy_removed_it);
            }
            ::_exit(fs::exists(temp) ? creator_left_it : ok);  // the creator does remove it
        }
        int status = 0;
        ::waitpid(creator, &status, 0);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == ok);
        CHECK(tmp.entries().empty());
    }
    SECTION("write fills the data of one process's array") {
        npy::OutputFile out(path, npy::Dtype::f8, {2, 3});
        const std::vector<double> values = {1, 2, 3, 4, 5, 6.5};
        REQUIRE_THROWS_WITH(out.write(std::span<const double>(values).first(5)),
                            Contains("D.npy: writing 5 float64 items to a float64 array of 6"));
        const std::vector<float> narrow(6);
        REQUIRE_THROWS_WITH(out.write(std::span<const float>(narrow)),
                            Contains("writing 6 float32 items to a float64 array"));
        out.write(std::span<const double>(values));
        CHECK_FALSE(fs::exists(path));
        out.commit();
        CHECK(npy::load<double>(path).data == values);
        REQUIRE_THROWS_WITH(out.write(std::span<const double>(values)), Contains("after commit"));
    }
    SECTION("a directory in the way is refused before any work") {
        fs::create_directory(path);
        REQUIRE_THROWS_AS(npy::OutputFile(path, npy::Dtype::f8, {2}), spmd::UsageError);
        REQUIRE_THROWS_WITH(npy::OutputFile(path, npy::Dtype::f8, {2}),
                            Contains("D.npy: cannot write: it is a directory"));
        CHECK(tmp.entries() == std::vector<std::string>{"D.npy"});
    }
    SECTION("not enough space is reported before any work") {
        REQUIRE_THROWS_WITH(
            npy::OutputFile(path, npy::Dtype::f8, {std::size_t{1} << 24, std::size_t{1} << 24}),
            Contains("D.npy: not enough disk space"));
        REQUIRE_THROWS_WITH(
            npy::OutputFile(path, npy::Dtype::f8, {std::size_t{1} << 32, std::size_t{1} << 32}),
            Contains("D.npy: shape 4294967296x4294967296 is too large"));
        CHECK(tmp.entries().empty());
    }
}
