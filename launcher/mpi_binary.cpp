#include "mpi_binary.hpp"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>

#include "spmd/error.hpp"

namespace mprun {

namespace {

// Reads the file through bounds-checked pread: a truncated or hostile file gives "no
// libraries", never a read outside what was read.
class File {
public:
    explicit File(const std::string& path) : fd_(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
    ~File() {
        if (fd_ >= 0) close(fd_);
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    bool ok() const { return fd_ >= 0; }

    template <class T>
    std::optional<T> read(std::uint64_t offset) const {
        T value;
        if (offset > std::uint64_t(INT64_MAX) - sizeof value ||
            pread(fd_, &value, sizeof value, off_t(offset)) != ssize_t(sizeof value))
            return std::nullopt;
        return value;
    }
    // A NUL-terminated string of at most 4096 bytes at `offset`.
    std::optional<std::string> read_string(std::uint64_t offset) const {
        char buffer[4096];
        if (offset > std::uint64_t(INT64_MAX) - sizeof buffer) return std::nullopt;
        const ssize_t got = pread(fd_, buffer, sizeof buffer, off_t(offset));
        if (got <= 0) return std::nullopt;
        const void* end = std::memchr(buffer, '\0', std::size_t(got));
        if (!end) return std::nullopt;
        return std::string(buffer, static_cast<const char*>(end) - buffer);
    }

private:
    int fd_;
};

// The dynamic section's DT_NEEDED entries of a 32- or 64-bit ELF of this machine's byte
// order. DT_STRTAB holds a virtual address: the PT_LOAD segment that covers it maps it to
// a file offset.
template <class Ehdr, class Phdr, class Dyn>
std::vector<std::string> needed_of(const File& file) {
    std::vector<std::string> needed;
    const auto header = file.read<Ehdr>(0);
    if (!header || header->e_phentsize != sizeof(Phdr) || header->e_phnum == 0) return needed;
    std::vector<Phdr> segments;
    for (unsigned i = 0; i < header->e_phnum; ++i) {
        const auto segment = file.read<Phdr>(header->e_phoff + std::uint64_t(i) * sizeof(Phdr));
        if (!segment) return needed;
        segments.push_back(*segment);
    }
    auto file_offset = [&](std::uint64_t address) -> std::optional<std::uint64_t> {
        for (const Phdr& s : segments)
            if (s.p_type == PT_LOAD && address >= s.p_vaddr && address - s.p_vaddr < s.p_filesz)
                return s.p_offset + (address - s.p_vaddr);
        return std::nullopt;
    };
    for (const Phdr& s : segments) {
        if (s.p_type != PT_DYNAMIC) continue;
        std::vector<std::uint64_t> name_offsets;
        std::optional<std::uint64_t> strtab;
        // Real dynamic sections hold a few dozen entries; the cap bounds a hostile file.
        const std::uint64_t most = std::min<std::uint64_t>(s.p_filesz, 4096 * sizeof(Dyn));
        for (std::uint64_t at = 0; at + sizeof(Dyn) <= most; at += sizeof(Dyn)) {
            const auto entry = file.read<Dyn>(s.p_offset + at);
            if (!entry || entry->d_tag == DT_NULL) break;
            if (entry->d_tag == DT_NEEDED) name_offsets.push_back(entry->d_un.d_val);
            if (entry->d_tag == DT_STRTAB) strtab = file_offset(entry->d_un.d_ptr);
        }
        if (!strtab) return needed;
        for (std::uint64_t offset : name_offsets)
            if (auto name = file.read_string(*strtab + offset)) needed.push_back(*name);
        break;
    }
    return needed;
}

}  // namespace

std::vector<std::string> needed_libraries(const std::string& path) {
    const File file(path);
    if (!file.ok()) return {};
    const auto ident = file.read<std::array<unsigned char, EI_NIDENT>>(0);
    if (!ident || std::memcmp(ident->data(), ELFMAG, SELFMAG) != 0) return {};  // a script
    const bool little_endian = std::endian::native == std::endian::little;
    if ((*ident)[EI_DATA] != (little_endian ? ELFDATA2LSB : ELFDATA2MSB)) return {};
    if ((*ident)[EI_CLASS] == ELFCLASS64) return needed_of<Elf64_Ehdr, Elf64_Phdr, Elf64_Dyn>(file);
    if ((*ident)[EI_CLASS] == ELFCLASS32) return needed_of<Elf32_Ehdr, Elf32_Phdr, Elf32_Dyn>(file);
    return {};
}

std::string mpi_of_library(const std::string& soname) {
    auto starts = [&](const char* prefix) { return soname.rfind(prefix, 0) == 0; };
    if (starts("libmpich.so") || starts("libmpichcxx.so") || starts("libmpichf90.so"))
        return "MPICH";
    // OpenMPI's ABI is libmpi.so.40 since 3.0 (libmpi.so.1x and .20 before); MPICH since
    // 3.1 and Intel MPI both ship libmpi.so.12.
    if (starts("libmpi.so.12") || starts("libmpifort.so")) return "MPICH or Intel MPI";
    if (starts("libmpi.so") || starts("libmpi_cxx.so") || starts("libmpi_mpifh.so"))
        return "OpenMPI";
    return "";
}

void refuse_real_mpi(const std::string& program, const std::string& path) {
    for (const std::string& library : needed_libraries(path)) {
        const std::string mpi = mpi_of_library(library);
        if (mpi.empty()) continue;
        throw spmd::UsageError("'" + program + "' is built for " + mpi + " (it links " + library +
                               ") and would run as " +
                               "separate worlds of size 1 here: run it with " + mpi +
                               "'s own mpirun, or rebuild it with mprun's MPI wrapper spmdcc");
    }
}

}  // namespace mprun
