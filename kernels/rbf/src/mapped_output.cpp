#include "spmd/rbf/mapped_output.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    Note* note = nullptr;
    SharedArray<Note> shared;
    Note local{};
    if (world.size() > 1) {
        shared = world.shared<Note>("rbf.output", 1);
        note = shared.data();
    } else {
        note = &local;
    }
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
    if (world.size() > 1) world.barrier();
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
    world_.barrier();  // every rank's rows are in the page cache of the temp file
    if (file_) file_->commit();
    // Whichever rank returns first, the file is in place under its name.
    if (world_.size() > 1) world_.barrier();
}

}  // namespace spmd::rbf
