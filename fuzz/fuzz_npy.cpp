// libFuzzer target for the .npy reader: the input is a whole file. It is handed over as a
// memfd, so the reader runs exactly as on a disk file: magic and version, the header dict,
// the size check against fstat, the streamed data and the float32/int32 widening.
// Refusing an input with spmd::Error is correct; a crash or a sanitizer report is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <complex>
#include <cstdint>
#include <cstdlib>
#include <spmd/npy.hpp>
#include <string>
#include <vector>

namespace npy = spmd::npy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("fuzz.npy", MFD_CLOEXEC);
    if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
    try {
        npy::detail::Reader reader("/proc/self/fd/" + std::to_string(fd));
        const npy::Dtype from = reader.header().dtype;
        // Read as load_as would: the wider type of the same kind where there is one.
        const npy::Dtype to = from == npy::Dtype::f4   ? npy::Dtype::f8
                              : from == npy::Dtype::i4 ? npy::Dtype::i8
                                                       : from;
        const std::size_t count = reader.header().count();
        // complex<double> is the largest and most aligned element: room for any of them.
        std::vector<std::complex<double>> out((count * npy::itemsize(to) + 15) / 16);
        reader.read(to, out.data(), count);
    } catch (const spmd::Error&) {
    }
    ::close(fd);
    return 0;
}
