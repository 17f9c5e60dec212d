// MappedOutput: one .npy file that every rank maps MAP_SHARED and fills in place, so the
// result is written where it is computed, never gathered and copied. Collective: rank 0
// creates the file (header written, space reserved: a full disk fails here, before any
// work), every rank maps it; commit() publishes it under its name once all ranks are done.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "spmd/npy.hpp"
#include "spmd/world.hpp"

namespace spmd::rbf {

class MappedOutput {
public:
    // Collective. If rank 0 cannot create the file, every rank throws the same error
    // (a UsageError: the output path or size is the user's to fix).
    MappedOutput(World& world, const std::string& path, npy::Dtype dtype,
                 std::vector<std::size_t> shape);
    ~MappedOutput();
    MappedOutput(const MappedOutput&) = delete;
    MappedOutput& operator=(const MappedOutput&) = delete;

    // The array's first element in this rank's mapping.
    void* data() const { return base_ + offset_; }
    // Collective: a barrier (every rank's writes are in the file), then rank 0 renames the
    // temp file to the path. Without it, the destructor on rank 0 removes the temp file.
    void commit();

private:
    World& world_;
    std::optional<npy::OutputFile> file_;  // rank 0 only: it alone renames or removes
    char* base_ = nullptr;
    std::size_t size_ = 0;
    std::size_t offset_ = 0;
};

}  // namespace spmd::rbf
