// spmd::npy: reads and writes numpy .npy files (versions 1.0-3.0, little-endian), the format
// of every array a kernel takes or makes. Reads C or Fortran order, floats, (unsigned)
// integers and complex128, converted once on load; writes C order.
//   auto pts = spmd::npy::load_as<double>("pts.npy");   // any real dtype, any order -> doubles
//   spmd::npy::save("d.npy", values, {rows, cols});      // temp file + rename: all or nothing
#pragma once
#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "spmd/error.hpp"

namespace spmd::npy {

// A file that is not a .npy we can read: bad magic, unparsable or lying header, a dtype
// or order we do not support. Its message is one line: "<path>: <what is wrong>".
class FormatError : public UsageError {
public:
    using UsageError::UsageError;
};

// The first five can be written; the narrower integers are read (and converted) only.
enum class Dtype { f8, f4, i8, i4, c16, i2, i1, u8, u4, u2, u1 };

std::size_t itemsize(Dtype d);
std::string_view descr(Dtype d);  // numpy's spelling: "<f8", "<f4", "<i8", "<i4", "<c16"
std::string_view name(Dtype d);   // "float64", ... for messages

template <class T>
constexpr Dtype dtype_of() {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, double>)
        return Dtype::f8;
    else if constexpr (std::is_same_v<U, float>)
        return Dtype::f4;
    else if constexpr (std::is_same_v<U, std::int64_t>)
        return Dtype::i8;
    else if constexpr (std::is_same_v<U, std::int32_t>)
        return Dtype::i4;
    else if constexpr (std::is_same_v<U, std::complex<double>>)
        return Dtype::c16;
    else
        static_assert(!sizeof(U), "npy supports double, float, int64_t, int32_t, complex<double>");
}

struct Header {
    Dtype dtype = Dtype::f8;
    std::vector<std::size_t> shape;  // empty for a 0-d (scalar) array
    std::size_t data_offset = 0;     // bytes from the start of the file to the data
    bool fortran_order = false;      // the file's data is column-major; loads give C order
    std::size_t count() const;       // product of shape (1 for 0-d); cannot overflow once parsed
    std::size_t data_bytes() const { return count() * itemsize(dtype); }
    bool operator==(const Header&) const = default;
};

template <class T>
struct Array {
    std::vector<T> data;
    std::vector<std::size_t> shape;
};

// Parses and checks the header, including that the file holds exactly count() items.
Header read_header(const std::string& path);

// (rows, columns) of a file read as a matrix of real numbers (points x coordinates): a 2-D
// array of any real dtype, or a 1-D array as one column (n points of 1 coordinate). Throws
// FormatError naming what else it is: complex, 0-D or 3-D and more.
std::pair<std::size_t, std::size_t> matrix_shape(const std::string& path, const Header& header);

namespace detail {
// One open .npy file whose header has been checked against the file size. read() streams
// the data into `out` with few large read() calls, converting the dtype and Fortran order
// on the way when needed (through a bounded buffer, never a second copy of the whole array).
class Reader {
public:
    explicit Reader(const std::string& path);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    const Header& header() const { return header_; }
    // Throws unless the file's dtype is `to`, or, with convert, one it holds exactly:
    // any real dtype for f8 (int64 beyond 2^53 rounds, as numpy's astype), f4 for
    // f4, any integer but uint64 for i8, int32 and narrower for i4.
    void check_dtype(Dtype to, bool convert) const;
    void read(Dtype to, void* out, std::size_t count);

private:
    std::string path_;
    int fd_ = -1;
    Header header_;
};

void save_bytes(const std::string& path, Dtype dtype, const void* data, std::size_t count,
                const std::vector<std::size_t>& shape);

template <class R>
concept SavableRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    !std::is_same_v<std::remove_cvref_t<R>, std::span<const std::ranges::range_value_t<R>>>;
}  // namespace detail

// Loads a file whose dtype is exactly T.
template <class T>
Array<T> load(const std::string& path) {
    detail::Reader r(path);
    r.check_dtype(dtype_of<T>(), false);
    Array<T> a{std::vector<T>(r.header().count()), r.header().shape};
    r.read(dtype_of<T>(), a.data.data(), a.data.size());
    return a;
}

// Like load, but converts what T can hold: load_as<double> reads any float or integer file,
// load_as<int64_t> any integer file but uint64. Both loads accept C and Fortran order.
template <class T>
Array<T> load_as(const std::string& path) {
    detail::Reader r(path);
    r.check_dtype(dtype_of<T>(), true);
    Array<T> a{std::vector<T>(r.header().count()), r.header().shape};
    r.read(dtype_of<T>(), a.data.data(), a.data.size());
    return a;
}

// Reads the data of `path`, whose header the caller read earlier (e.g. to size a shared
// array), into `out`, converting like load_as. Throws if the file changed since or
// out.size() != header.count().
template <class T>
void load_into(const std::string& path, const Header& header, std::span<T> out) {
    detail::Reader r(path);
    if (!(r.header() == header))
        throw FormatError(path + ": file changed since its header was read");
    r.check_dtype(dtype_of<T>(), true);
    r.read(dtype_of<T>(), out.data(), out.size());
}

// Writes data (row-major, product(shape) items) as a version 1.0 file (2.0 if the header is
// too long for 1.0), byte for byte as numpy would. Goes through `<path>.tmp.<pid>.<n>` and a
// rename, so `path` is either the complete new file or untouched.
template <class T>
void save(const std::string& path, std::span<const T> data, const std::vector<std::size_t>& shape) {
    detail::save_bytes(path, dtype_of<T>(), data.data(), data.size(), shape);
}
// The same for any contiguous range: std::vector, SharedArray, std::span<T>, ...
template <detail::SavableRange R>
void save(const std::string& path, const R& data, const std::vector<std::size_t>& shape) {
    using T = std::ranges::range_value_t<R>;
    save(path, std::span<const T>(std::ranges::data(data), std::ranges::size(data)), shape);
}

// A .npy file that several processes fill in place (e.g. RBF's n x n matrix):
//   OutputFile out("D.npy", Dtype::f8, {n, n});   // header written, space reserved
//   every rank: fd = open(out.temp_path(), O_RDWR); p = mmap(0, out.file_size(),
//               PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); data at p + out.data_offset()
//   (mmap offsets must be page-aligned and data_offset() is only 64-aligned, so map from 0)
//   after a barrier, the creator: out.commit();   // rename to D.npy
// Not committed when destroyed (an exception, a failed rank): the temp file is removed.
// Only the creating process removes the temp file, so forked children may hold copies.
// Where the file system allows, the file has no name until commit (O_TMPFILE): a rank
// killed mid-work then leaves nothing behind; temp_path() is its /proc/<pid>/fd/ link,
// which other processes of the same user open to map it.
class OutputFile {
public:
    // Throws spmd::Error if the disk lacks the space (checked with statvfs, then reserved
    // with posix_fallocate so a full disk fails here, not as SIGBUS in a mapped write).
    OutputFile(std::string path, Dtype dtype, std::vector<std::size_t> shape);
    ~OutputFile();
    OutputFile(OutputFile&& other) noexcept;
    OutputFile& operator=(OutputFile&&) = delete;  // would silently discard a file

    int fd() const { return fd_; }  // O_RDWR, for mmap in this process
    const Header& header() const { return header_; }
    std::size_t data_offset() const { return header_.data_offset; }
    std::size_t file_size() const { return header_.data_offset + header_.data_bytes(); }
    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }
    void commit();  // gives the file its name, path(); call once all writes are done

    // The whole array from this process, for data small enough to hold: data.size() must be
    // header().count() and T the file's dtype. Creating the file early and writing it at the
    // end makes a bad path fail before the work rather than after it.
    template <class T>
    void write(std::span<const T> data) {
        write_bytes(dtype_of<T>(), data.data(), data.size());
    }

private:
    friend void commit_all(std::initializer_list<OutputFile*> files);
    void discard() noexcept;
    void write_bytes(Dtype dtype, const void* data, std::size_t count);
    std::string hidden_name();  // the complete file under a temporary name beside path()
    void committed() noexcept;  // after hidden_name() became path()

    std::string path_, temp_path_;
    Header header_;
    int fd_ = -1;
    int owner_pid_ = 0;
    bool unnamed_ = false;    // O_TMPFILE: no name until commit, nothing to unlink
    bool committed_ = false;  // or discarded, or moved from: nothing left to clean up
};

// Commits several files so that they appear together or not at all (a kernel's outputs):
// each is first named under a temporary name beside its path, then all are renamed. If
// any step fails, the files already renamed are taken back (a file they replaced comes
// back too, where the file system can exchange names) and the error is thrown.
void commit_all(std::initializer_list<OutputFile*> files);

}  // namespace spmd::npy
