// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// "\x93NUMPY", major, minor, header length (uint16 LE in 1.0, uint32 LE in 2.0/3.0), then a
// Python dict literal padded with spaces and '\n' so the data starts 64-byte aligned.
#include "spmd/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <utility>

namespace spmd::npy {
namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kMaxHeaderLen = std::size_t{1} << 20;  // numpy's own writer never nears it
constexpr std::size_t kAlign = 64;                           // numpy's ARRAY_ALIGN
constexpr std::size_t kGrowthDigits = 21;                    // numpy's GROWTH_AXIS_MAX_DIGITS
constexpr std::size_t kMaxIo = std::size_t{1} << 30;         // Linux moves < 2 GiB per call

struct DtypeInfo {
    Dtype dtype;
    std::string_view descr, name;
    std::size_t size;
};
constexpr std::array<DtypeInfo, 11> kDtypes{{{Dtype::f8, "<f8", "float64", 8},
                                             {Dtype::f4, "<f4", "float32", 4},
                                             {Dtype::i8, "<i8", "int64", 8},
                                             {Dtype::i4, "<i4", "int32", 4},
                                             {Dtype::c16, "<c16", "complex128", 16},
                                             {Dtype::i2, "<i2", "int16", 2},
                                             {Dtype::i1, "|i1", "int8", 1},
                                             {Dtype::u8, "<u8", "uint64", 8},
                                             {Dtype::u4, "<u4", "uint32", 4},
                                             {Dtype::u2, "<u2", "uint16", 2},
                                             {Dtype::u1, "|u1", "uint8", 1}}};

const DtypeInfo& info(Dtype d) {
    return kDtypes.at(static_cast<std::size_t>(d));
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
    throw FormatError(path + ": " + what);
}

std::string sys_error(const std::string& path, const char* doing) {
    return path + ": " + doing + ": " + std::strerror(errno);
}

// Text from the file, quoted and shortened so a message stays one readable line.
std::string quote(std::string_view s, std::size_t max = 60) {
    std::string q = "'";
    for (unsigned char c : s.substr(0, max)) {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\x%02x", c);
        q += c >= 0x20 && c < 0x7f && c != '\\' ? std::string(1, static_cast<char>(c)) : esc;
    }
    return q + (s.size() > max ? "'..." : "'");
}

std::string shape_text(const std::vector<std::size_t>& shape) {
    if (shape.empty()) return "scalar";
    std::string s;
    for (std::size_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

// The product of shape, or nothing if it overflows. A zero axis makes any product 0, so
// numpy accepts (huge, huge, 0); so do we.
std::optional<std::size_t> checked_count(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    bool overflow = false;
    for (std::size_t d : shape) overflow |= __builtin_mul_overflow(n, d, &n);
    if (overflow && std::find(shape.begin(), shape.end(), 0) == shape.end()) return std::nullopt;
    return n;
}

std::string describe(const Header& h) {
    return shape_text(h.shape) + " " + std::string(name(h.dtype)) + " (" +
           std::to_string(h.data_bytes()) + " bytes)";
}

// Reads until n bytes or end of file; returns how many arrived.
std::size_t read_full(int fd, void* buf, std::size_t n, const std::string& path) {
    auto* p = static_cast<char*>(buf);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, p + got, std::min(n - got, kMaxIo));
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            throw UsageError(sys_error(path, "cannot read"));
        }
        got += static_cast<std::size_t>(r);
    }
    return got;
}

void write_full(int fd, const void* buf, std::size_t n, const std::string& path) {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t r = ::write(fd, p, std::min(n, kMaxIo));
        if (r < 0) {
            if (errno == EINTR) continue;
            throw Error(sys_error(path, "cannot write"));
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

Dtype parse_descr(const std::string& path, const std::string& s) {
    for (const auto& d : kDtypes)
        if (s == d.descr) return d.dtype;
    auto base = s.size() > 1 ? std::string_view(s).substr(1) : std::string_view();
    bool known = std::any_of(kDtypes.begin(), kDtypes.end(),
                             [&](const DtypeInfo& d) { return d.descr.substr(1) == base; });
    std::string why = !s.empty() && s[0] == '>'          ? "big-endian"
                      : s.find('O') != std::string::npos ? "object arrays cannot be read"
                      : known                            ? "byte order must be '<'"
                      : s.find('c') != std::string::npos ? "supported complex: <c16"
                      : s.find('U') != std::string::npos || s.find('S') != std::string::npos
                          ? "strings are not numbers"
                          : "supported: <f8 <f4, <i8 <i4 <i2 |i1, <u8 <u4 <u2 |u1, <c16";
    bad(path, "unsupported dtype " + quote(s) + " (" + why + ")");
}

// A recursive-descent reader for the one dict literal numpy writes, accepting what Python's
// literal syntax allows there: any key order, any whitespace, trailing commas, ' or " quotes.
class DictParser {
public:
    DictParser(const std::string& path, std::string_view text) : path_(path), s_(text) {}

    Header parse() {
        std::optional<std::string> descr;
        std::optional<bool> fortran;
        std::optional<std::vector<std::size_t>> shape;
        skip_ws();
        expect('{');
        while (skip_ws(), !eat('}')) {
            std::string key = string_literal();
            skip_ws();
            expect(':');
            skip_ws();
            if (key == "descr") {
                if (peek() != '\'' && peek() != '"')
                    bad(path_, "unsupported dtype " + quote(skip_value()) +
                                   " (structured arrays cannot be read)");
                descr = string_literal();
            } else if (key == "fortran_order") {
                if (eat_word("True"))
                    fortran = true;
                else if (eat_word("False"))
                    fortran = false;
                else
                    bad(path_, "fortran_order is " + quote(skip_value()) + ", not True or False");
            } else if (key == "shape") {
                shape = tuple();
            } else {
                bad(path_, "unexpected key " + quote(key) + " in header");
            }
            skip_ws();
            if (!eat(',')) {
                skip_ws();
                expect('}');
                break;
            }
        }
        skip_ws();
        if (i_ != s_.size()) fail("text after the closing '}'");
        for (auto [have, key] : {std::pair{descr.has_value(), "descr"},
                                 std::pair{fortran.has_value(), "fortran_order"},
                                 std::pair{shape.has_value(), "shape"}})
            if (!have) bad(path_, std::string("header has no '") + key + "'");

        Header h;
        h.dtype = parse_descr(path_, *descr);
        h.shape = std::move(*shape);
        auto n = checked_count(h.shape);
        if (!n)
            bad(path_, "shape " + shape_text(h.shape) + " is too large (element count overflows)");
        std::size_t bytes;
        if (__builtin_mul_overflow(*n, itemsize(h.dtype), &bytes) || bytes > PTRDIFF_MAX)
            bad(path_, "shape " + shape_text(h.shape) + " of " + std::string(name(h.dtype)) +
                           " is too large");
        // Fortran and C order lay out the same bytes unless two axes are longer than 1:
        // only then is the order kept, for read() to transpose.
        h.fortran_order =
            *fortran && *n > 0 &&
            std::count_if(h.shape.begin(), h.shape.end(), [](auto d) { return d > 1; }) > 1;
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        bad(path_,
            "unparsable header: " + what + " at byte " + std::to_string(i_) + " of " + quote(s_));
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c) { return peek() == c && (++i_, true); }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    void skip_ws() {
        while (i_ < s_.size() && std::strchr(" \t\r\n\f\v", s_[i_]) && s_[i_]) ++i_;
    }
    bool eat_word(std::string_view w) {
        bool ok = s_.substr(i_, w.size()) == w &&
                  !std::isalnum(static_cast<unsigned char>(
                      i_ + w.size() < s_.size() ? s_[i_ + w.size()] : ' '));
        if (ok) i_ += w.size();
        return ok;
    }

    std::string string_literal() {
        if (peek() == 'u' || peek() == 'U') ++i_;  // u'...' from Python 2 writers
        char q = peek();
        if (q != '\'' && q != '"') fail("expected a string");
        ++i_;
        std::string out;
        while (i_ < s_.size() && s_[i_] != q) {
            if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;  // escapes only matter for matching
            out += s_[i_++];
        }
        if (!eat(q)) fail("unterminated string");
        return out;
    }

    // Skips one value of a type we do not accept (lists, numbers...) to quote it in a message.
    std::string_view skip_value() {
        std::size_t start = i_;
        int depth = 0;
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == '\'' || c == '"') {
                string_literal();
                continue;
            }
            if (depth == 0 && (c == ',' || c == '}')) break;
            depth += (c == '(' || c == '[' || c == '{') - (c == ')' || c == ']' || c == '}');
            ++i_;
        }
        return s_.substr(start, i_ - start);
    }

    std::vector<std::size_t> tuple() {
        if (peek() != '(')
            bad(path_, "shape is " + quote(skip_value()) + ", not a tuple of integers");
        ++i_;
        std::vector<std::size_t> dims;
        bool comma = false;
        while (skip_ws(), !eat(')')) {
            dims.push_back(dimension());
            skip_ws();
            comma = eat(',');
            if (!comma) {
                skip_ws();
                expect(')');
                break;
            }
        }
        // In Python "(3)" is the integer 3; only "(3,)" is a tuple.
        if (dims.size() == 1 && !comma)
            bad(path_, "shape (" + std::to_string(dims[0]) + ") is not a tuple: write (" +
                           std::to_string(dims[0]) + ",)");
        return dims;
    }

    std::size_t dimension() {
        if (peek() == '-') bad(path_, "shape has a negative dimension");
        if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected an integer in shape");
        std::size_t start = i_, v = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s_[i_] - '0', &v)) {
                while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
                bad(path_, "shape dimension " + std::string(s_.substr(start, i_ - start)) +
                               " is too large");
            }
            ++i_;
        }
        if (peek() == 'L' || peek() == 'l') ++i_;  // Python 2 longs: (3L, 4L)
        return v;
    }

    const std::string& path_;
    std::string_view s_;
    std::size_t i_ = 0;
};

// numpy's header, byte for byte: sorted keys, room for axis 0 to grow to 21 digits, spaces
// up to a 64-byte boundary, '\n'. Version 1.0 unless the length needs 2.0's uint32.
std::string make_header(Dtype dtype, const std::vector<std::size_t>& shape) {
    std::string dict =
        "{'descr': '" + std::string(descr(dtype)) + "', 'fortran_order': False, 'shape': (";
    for (std::size_t k = 0; k < shape.size(); ++k)
        dict += (k ? ", " : "") + std::to_string(shape[k]);
    dict += shape.size() == 1 ? ",), }" : "), }";
    if (!shape.empty()) dict.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
    std::size_t prefix = 10, hlen = dict.size() + 1;
    std::size_t total = hlen + kAlign - (prefix + hlen) % kAlign;  // numpy pads 1..64 bytes
    if (total > UINT16_MAX) {
        prefix = 12;
        total = hlen + kAlign - (prefix + hlen) % kAlign;
    }
    std::string out(kMagic);
    out += static_cast<char>(prefix == 10 ? 1 : 2);
    out += '\0';
    for (std::size_t b = 0; b < prefix - 8; ++b)
        out += static_cast<char>((total >> (8 * b)) & 0xff);
    out += dict;
    out.append(total - hlen, ' ');
    return out + '\n';
}

std::size_t element_count(const std::string& path, const std::vector<std::size_t>& shape) {
    if (auto n = checked_count(shape)) return *n;
    throw UsageError(path + ": shape " + shape_text(shape) + " is too large");
}

// A unique sibling of path, created exclusively: same directory, so rename() is atomic.
std::pair<std::string, int> create_temp(const std::string& path, int flags) {
    static std::atomic<unsigned> counter{0};
    for (;;) {
        std::string tmp =
            path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
        int fd = ::open(tmp.c_str(), flags | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return {tmp, fd};
        if (errno != EEXIST) throw UsageError(sys_error(path, "cannot create"));
    }
}

bool is_integer(Dtype d) {
    return d == Dtype::i8 || d == Dtype::i4 || d == Dtype::i2 || d == Dtype::i1 || d == Dtype::u8 ||
           d == Dtype::u4 || d == Dtype::u2 || d == Dtype::u1;
}

// Whether `to` holds every value of `from` (int64 and uint64 beyond 2^53 round in f8, as
// numpy's astype(float64) rounds them).
bool converts(Dtype from, Dtype to) {
    if (from == to) return true;
    switch (to) {
        case Dtype::f8:
            return from == Dtype::f4 || is_integer(from);
        case Dtype::i8:
            return is_integer(from) && from != Dtype::u8;
        case Dtype::i4:
            return from == Dtype::i2 || from == Dtype::i1 || from == Dtype::u2 || from == Dtype::u1;
        default:
            return false;
    }
}

template <class From, class To>
void convert_as(const unsigned char* src, To* dst, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        From v;
        std::memcpy(&v, src + k * sizeof(From), sizeof(From));
        dst[k] = static_cast<To>(v);
    }
}

// n items of dtype `from` at src into dst, as To.
template <class To>
void convert(Dtype from, const unsigned char* src, To* dst, std::size_t n) {
    if constexpr (std::is_arithmetic_v<To>) {
        switch (from) {
            case Dtype::f8:
                return convert_as<double>(src, dst, n);
            case Dtype::f4:
                return convert_as<float>(src, dst, n);
            case Dtype::i8:
                return convert_as<std::int64_t>(src, dst, n);
            case Dtype::i4:
                return convert_as<std::int32_t>(src, dst, n);
            case Dtype::i2:
                return convert_as<std::int16_t>(src, dst, n);
            case Dtype::i1:
                return convert_as<std::int8_t>(src, dst, n);
            case Dtype::u8:
                return convert_as<std::uint64_t>(src, dst, n);
            case Dtype::u4:
                return convert_as<std::uint32_t>(src, dst, n);
            case Dtype::u2:
                return convert_as<std::uint16_t>(src, dst, n);
            case Dtype::u1:
                return convert_as<std::uint8_t>(src, dst, n);
            case Dtype::c16:
                break;
        }
    }
    std::memcpy(dst, src, n * sizeof(To));  // same dtype (check_dtype saw to it)
}

// Where the items of a Fortran-order file go in C order: item k of the file has axis 0
// fastest; `offset` is its C-order index, stepped like an odometer.
class FortranToC {
public:
    explicit FortranToC(const std::vector<std::size_t>& shape)
        : shape_(shape), index_(shape.size(), 0), stride_(shape.size(), 1) {
        for (std::size_t a = shape.size(); a-- > 1;) stride_[a - 1] = stride_[a] * shape[a];
    }
    std::size_t offset() const { return offset_; }
    void next() {
        for (std::size_t a = 0; a < shape_.size(); ++a) {
            offset_ += stride_[a];
            if (++index_[a] < shape_[a]) return;
            offset_ -= shape_[a] * stride_[a];
            index_[a] = 0;
        }
    }

private:
    std::vector<std::size_t> shape_, index_, stride_;
    std::size_t offset_ = 0;
};

// The items of `r`'s file as To, in C order: chunks of the file converted through `buf`.
template <class To>
void read_converted(int fd, const Header& h, To* out, const std::string& path,
                    const std::function<void(std::size_t)>& short_read) {
    const std::size_t from = itemsize(h.dtype), total = h.data_bytes();
    const std::size_t chunk = (std::size_t{1} << 20) / 16 * from;  // whole items
    std::vector<unsigned char> buf(std::min(total, chunk));
    std::vector<To> items;
    std::optional<FortranToC> place;
    if (h.fortran_order) place.emplace(h.shape);
    for (std::size_t done = 0; done < total;) {
        const std::size_t want = std::min(total - done, chunk), n = want / from;
        if (std::size_t got = read_full(fd, buf.data(), want, path); got < want)
            short_read(done + got);
        if (!place) {
            convert(h.dtype, buf.data(), out + done / from, n);
        } else {
            items.resize(n);
            convert(h.dtype, buf.data(), items.data(), n);
            for (std::size_t k = 0; k < n; ++k, place->next()) out[place->offset()] = items[k];
        }
        done += want;
    }
}

}  // namespace

std::size_t itemsize(Dtype d) {
    return info(d).size;
}
std::string_view descr(Dtype d) {
    return info(d).descr;
}
std::string_view name(Dtype d) {
    return info(d).name;
}

std::size_t Header::count() const {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

Header read_header(const std::string& path) {
    return detail::Reader(path).header();
}

std::pair<std::size_t, std::size_t> matrix_shape(const std::string& path, const Header& h) {
    if (h.dtype == Dtype::c16)
        bad(path, "complex128 values are not points: expected a real dtype (float or integer)");
    if (h.shape.size() == 1) return {h.shape[0], 1};  // n points of one coordinate
    if (h.shape.size() != 2)
        bad(path, "expected a 2-D array (points x coordinates) or a 1-D one (d = 1), got shape " +
                      shape_text(h.shape));
    return {h.shape[0], h.shape[1]};
}

namespace detail {

Reader::Reader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw UsageError(sys_error(path, "cannot open"));
    try {
        unsigned char pre[12];
        std::size_t got = read_full(fd_, pre, 10, path);
        if (std::memcmp(pre, kMagic.data(), std::min(got, kMagic.size())) != 0 || got == 0)
            bad(path, got == 0 ? "empty file, not a .npy file" : "not a .npy file (bad magic)");
        if (got < 10)
            bad(path, "truncated header (file ends after " + std::to_string(got) + " bytes)");
        if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
            bad(path, "unsupported .npy format version " + std::to_string(pre[6]) + "." +
                          std::to_string(pre[7]));
        std::size_t prefix = pre[6] == 1 ? 10 : 12;
        if (prefix == 12 && (got += read_full(fd_, pre + 10, 2, path)) < 12)
            bad(path, "truncated header (file ends after " + std::to_string(got) + " bytes)");
        std::size_t hlen = 0;
        for (std::size_t b = prefix; b-- > 8;) hlen = hlen << 8 | pre[b];
        if (hlen > kMaxHeaderLen)
            bad(path, "header length " + std::to_string(hlen) + " exceeds the 1 MiB limit");
        std::string text(hlen, '\0');
        if (std::size_t n = read_full(fd_, text.data(), hlen, path); n < hlen)
            bad(path, "truncated header: it says " + std::to_string(hlen) + " bytes but " +
                          std::to_string(n) + " follow");
        header_ = DictParser(path, text).parse();
        header_.data_offset = prefix + hlen;
        // Check the size before anyone allocates what a lying header asks for.
        struct stat st;
        if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
            auto size = static_cast<std::size_t>(st.st_size);
            std::size_t rest = size > header_.data_offset ? size - header_.data_offset : 0;
            if (rest != header_.data_bytes())
                bad(path,
                    std::string(rest < header_.data_bytes() ? "truncated" : "trailing bytes") +
                        ": header says " + describe(header_) + " but " + std::to_string(rest) +
                        " bytes follow");
        }
    } catch (...) {
        ::close(fd_);
        throw;
    }
}

Reader::~Reader() {
    ::close(fd_);
}

void Reader::check_dtype(Dtype to, bool convert) const {
    if (header_.dtype == to || (convert && converts(header_.dtype, to))) return;
    std::string want(name(to));
    if (convert && to == Dtype::f8) want = "a real number (float or integer)";
    if (convert && to == Dtype::i8) want = "an integer (int8 to int64, uint8 to uint32)";
    throw FormatError(path_ + ": dtype is " + std::string(name(header_.dtype)) + " (" +
                      quote(descr(header_.dtype)) + ") but " + want + " was expected");
}

void Reader::read(Dtype to, void* out, std::size_t count) {
    if (count != header_.count())
        throw UsageError(path_ + ": holds " + std::to_string(header_.count()) +
                         " items but the destination has room for " + std::to_string(count));
    check_dtype(to, true);
    const std::size_t total = header_.data_bytes();
    auto short_read = [&](std::size_t got) {
        bad(path_, "truncated: header says " + describe(header_) + " but " + std::to_string(got) +
                       " bytes follow");
    };
    if (header_.dtype == to && !header_.fortran_order) {
        if (std::size_t got = read_full(fd_, out, total, path_); got < total) short_read(got);
    } else {
        switch (to) {
            case Dtype::f8:
                read_converted(fd_, header_, static_cast<double*>(out), path_, short_read);
                break;
            case Dtype::f4:
                read_converted(fd_, header_, static_cast<float*>(out), path_, short_read);
                break;
            case Dtype::i8:
                read_converted(fd_, header_, static_cast<std::int64_t*>(out), path_, short_read);
                break;
            case Dtype::i4:
                read_converted(fd_, header_, static_cast<std::int32_t*>(out), path_, short_read);
                break;
            case Dtype::c16:
                read_converted(fd_, header_, static_cast<std::complex<double>*>(out), path_,
                               short_read);
                break;
            default:
                throw Error(path_ + ": cannot read into " + std::string(name(to)));
        }
    }
    char extra;  // the size check above misses pipes and files that grew since
    if (read_full(fd_, &extra, 1, path_) != 0)
        bad(path_, "trailing bytes: header says " + describe(header_) + " but more follow");
}

void save_bytes(const std::string& path, Dtype dtype, const void* data, std::size_t count,
                const std::vector<std::size_t>& shape) {
    if (std::size_t n = element_count(path, shape); n != count)
        throw UsageError(path + ": shape " + shape_text(shape) + " holds " + std::to_string(n) +
                         " items but " + std::to_string(count) + " were given");
    std::string header = make_header(dtype, shape);
    auto [tmp, fd] = create_temp(path, O_WRONLY);
    try {
        write_full(fd, header.data(), header.size(), path);
        write_full(fd, data, count * itemsize(dtype), path);
        // No fsync: a crash leaves the old file or none, and results can be recomputed;
        // flushing gigabytes would cost more than the kernels that produce them.
        int rc = ::close(fd);
        fd = -1;
        if (rc != 0) throw Error(sys_error(path, "cannot write"));
        if (::rename(tmp.c_str(), path.c_str()) != 0)
            throw UsageError(sys_error(path, "cannot replace"));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
}

}  // namespace detail

OutputFile::OutputFile(std::string path, Dtype dtype, std::vector<std::size_t> shape)
    : path_(std::move(path)) {
    element_count(path_, shape);
    std::string header = make_header(dtype, shape);
    header_ = Header{dtype, std::move(shape), header.size()};
    std::size_t bytes;
    if (__builtin_mul_overflow(header_.count(), itemsize(dtype), &bytes) ||
        bytes > PTRDIFF_MAX - header.size())
        throw UsageError(path_ + ": shape " + shape_text(header_.shape) + " is too large");
    // Caught here rather than at commit(), after all the work and maybe after a sibling
    // output was already named.
    if (struct stat st; ::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw UsageError(path_ + ": cannot write: it is a directory");
    owner_pid_ = ::getpid();
    const auto slash = path_.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
        unnamed_ = true;
        temp_path_ = "/proc/" + std::to_string(owner_pid_) + "/fd/" + std::to_string(fd_);
    } else {  // a file system without O_TMPFILE: a named temp file, removed on failure
        std::tie(temp_path_, fd_) = create_temp(path_, O_RDWR);
    }
    try {
        const std::size_t size = file_size();
        struct statvfs vfs;
        if (::fstatvfs(fd_, &vfs) == 0 && std::size_t{vfs.f_bavail} * vfs.f_frsize < size)
            throw Error(path_ + ": not enough disk space: needs " + std::to_string(size) +
                        " bytes, " + std::to_string(std::size_t{vfs.f_bavail} * vfs.f_frsize) +
                        " available");
        // Reserve the blocks now: a full disk would otherwise surface as SIGBUS in a rank
        // writing through its mapping, long after the work began.
        if (size > 0) {
            if (int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(size)); err != 0)
                throw Error(path_ + ": cannot reserve " + std::to_string(size) +
                            " bytes: " + std::strerror(err));
        }
        write_full(fd_, header.data(), header.size(), path_);
    } catch (...) {
        discard();
        throw;
    }
}

OutputFile::~OutputFile() {
    discard();
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)),
      temp_path_(std::move(o.temp_path_)),
      header_(std::move(o.header_)),
      fd_(std::exchange(o.fd_, -1)),
      owner_pid_(o.owner_pid_),
      unnamed_(o.unnamed_),
      committed_(std::exchange(o.committed_, true)) {}

void OutputFile::commit() {
    commit_all({this});
}

std::string OutputFile::hidden_name() {
    if (committed_) throw UsageError(path_ + ": OutputFile committed twice");
    if (!unnamed_) return temp_path_;  // a named temp file already
    static std::atomic<unsigned> counter{0};
    const std::string linked =
        path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    ::unlink(linked.c_str());
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, linked.c_str(), AT_SYMLINK_FOLLOW) != 0)
        throw UsageError(sys_error(path_, "cannot name the output"));
    return linked;
}

void OutputFile::committed() noexcept {
    if (fd_ >= 0) ::close(fd_);  // mappings stay valid; the /proc link of temp_path() goes
    fd_ = -1;
    committed_ = true;
}

void commit_all(std::initializer_list<OutputFile*> files) {
    // Phase 1: every file complete under a temporary name. Phase 2: each temporary takes
    // its path: exchanged with an existing file (which then waits under the temporary
    // name, so that it can come back) or renamed onto a free path.
    struct Step {
        OutputFile* file;
        std::string temp;
        bool exchanged = false, done = false;
    };
    std::vector<Step> steps;
    const auto undo = [&] {
        for (Step& s : steps) {
            if (s.done && s.exchanged)
                ::renameat2(AT_FDCWD, s.temp.c_str(), AT_FDCWD, s.file->path_.c_str(),
                            RENAME_EXCHANGE);
            else if (s.done)
                ::unlink(s.file->path_.c_str());
            if (s.file->unnamed_ || s.exchanged) ::unlink(s.temp.c_str());
        }
    };
    try {
        for (OutputFile* f : files) steps.push_back({f, f->hidden_name()});
        for (Step& s : steps) {
            const char* path = s.file->path_.c_str();
            struct stat st;
            if (::lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                throw UsageError(s.file->path_ + ": cannot replace: it is a directory");
            int rc = ::renameat2(AT_FDCWD, s.temp.c_str(), AT_FDCWD, path, RENAME_NOREPLACE);
            if (rc != 0 && errno == EEXIST) {
                rc = ::renameat2(AT_FDCWD, s.temp.c_str(), AT_FDCWD, path, RENAME_EXCHANGE);
                s.exchanged = rc == 0;
            }
            if (rc != 0 && errno == EINVAL)  // no renameat2 flags here: plain, with no way back
                rc = ::rename(s.temp.c_str(), path);
            if (rc != 0) throw UsageError(sys_error(s.file->path_, "cannot replace"));
            s.done = true;
        }
    } catch (...) {
        undo();
        throw;
    }
    for (Step& s : steps) {
        if (s.exchanged) ::unlink(s.temp.c_str());  // the file it replaced
        s.file->committed();
    }
}

void OutputFile::write_bytes(Dtype dtype, const void* data, std::size_t count) {
    if (dtype != header_.dtype || count != header_.count())
        throw Error(path_ + ": writing " + std::to_string(count) + " " + std::string(name(dtype)) +
                    " items to a " + std::string(name(header_.dtype)) + " array of " +
                    std::to_string(header_.count()));
    if (committed_) throw Error(path_ + ": written after commit");
    if (::lseek(fd_, static_cast<off_t>(header_.data_offset), SEEK_SET) < 0)
        throw Error(sys_error(path_, "cannot write"));
    write_full(fd_, data, count * itemsize(dtype), path_);
}

void OutputFile::discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    // A forked child holds a copy of this object; only the creator may remove the file.
    if (!committed_ && !unnamed_ && !temp_path_.empty() && ::getpid() == owner_pid_)
        ::unlink(temp_path_.c_str());
    committed_ = true;
}

}  // namespace spmd::npy
