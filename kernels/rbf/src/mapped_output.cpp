#include "spmd/rbf/mapped_output.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <string>

namespace spmd::rbf {

namespace {

// What rank 0 tells the others: the file's geometry and temp path, or why it failed.
struct Note {
    char status;  // 'o' created, 'e' failed
    std::size_t size;
    std::size_t offset;
    char text[4000];
};

}  // namespace

MappedOutput::MappedOutput(World& world, const std::string& path, npy::Dtype dtype,
                           std::vector<std::size_t> shape)
    : world_(world) {
    // Broadcast, not a shared array: ranks on other hosts must hear it too.
    Note local{};
    Note* note = &local;
    if (world.rank() == 0) {
        std::string text;
        try {
            file_.emplace(path, dtype, std::move(shape));
            text = file_->temp_path();
            note->size = file_->file_size();
            note->offset = file_->data_offset();
        } catch (const Error& e) {
            text = e.what();
        }
        note->status = file_ ? 'o' : 'e';
        text.copy(note->text, sizeof note->text - 1);
    }
    if (world.size() > 1) world.broadcast(std::span<Note>(note, 1));
    if (note->status != 'o') throw UsageError(note->text);

    size_ = note->size;
    offset_ = note->offset;
    const std::string temp(note->text);
    int fd = file_ ? file_->fd() : ::open(temp.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw Error(temp + ": cannot open: " + std::strerror(errno));
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int err = errno;
    if (!file_) ::close(fd);  // the mapping keeps the file open
    if (p == MAP_FAILED) throw Error(temp + ": cannot map: " + std::strerror(err));
    base_ = static_cast<char*>(p);
}

MappedOutput::~MappedOutput() {
    if (base_) ::munmap(base_, size_);
}

void MappedOutput::commit() {
    // On one host every rank's rows are in the page cache of the temp file once all reach
    // the barrier; other hosts' page caches must first write theirs to the shared file.
    if (world_.node().count > 1 && ::msync(base_, size_, MS_SYNC) != 0)
        throw Error(std::string("cannot write the matrix to its file: ") + std::strerror(errno));
    world_.barrier();
    if (file_) file_->commit();
    // Whichever rank returns first, the file is in place under its name.
    if (world_.size() > 1) world_.barrier();
}

}  // namespace spmd::rbf
