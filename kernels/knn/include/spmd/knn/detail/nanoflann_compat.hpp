// The one place that knows nanoflann's version-specific names: 1.5 gave the tree's data
// members a trailing underscore (vAcc -> vAcc_, root_node -> root_node_, ...), and the split
// build reaches them only through TreeMembers. (1.5 also renamed SearchParams to
// SearchParameters; we need neither, as queries call searchLevel with eps directly.)
#pragma once
#include <cstddef>
#include <nanoflann.hpp>

namespace spmd::knn::detail {

// One accessor a line: the table reads best unformatted.
// clang-format off
#if NANOFLANN_VERSION >= 0x150
struct TreeMembers {
    template <class Tree> static auto& indices(Tree& t) { return t.vAcc_; }
    template <class Tree> static auto& root(Tree& t) { return t.root_node_; }
    template <class Tree> static auto& root_bbox(Tree& t) { return t.root_bbox_; }
    template <class Tree> static auto& pool(Tree& t) { return t.pool_; }
    template <class Tree> static const auto& dataset(const Tree& t) { return t.dataset_; }
    template <class Tree> static std::size_t leaf_max_size(const Tree& t) { return t.leaf_max_size_; }
};
#else
struct TreeMembers {
    template <class Tree> static auto& indices(Tree& t) { return t.vAcc; }
    template <class Tree> static auto& root(Tree& t) { return t.root_node; }
    template <class Tree> static auto& root_bbox(Tree& t) { return t.root_bbox; }
    template <class Tree> static auto& pool(Tree& t) { return t.pool; }
    template <class Tree> static const auto& dataset(const Tree& t) { return t.dataset; }
    template <class Tree> static std::size_t leaf_max_size(const Tree& t) { return t.m_leaf_max_size; }
};
#endif
// clang-format on

// Trees are built with this flag and then filled by buildIndex() or the split build.
inline nanoflann::KDTreeSingleIndexAdaptorParams deferred_build(std::size_t leafsize) {
    return nanoflann::KDTreeSingleIndexAdaptorParams(
        leafsize, nanoflann::KDTreeSingleIndexAdaptorFlags::SkipInitialBuildIndex);
}

}  // namespace spmd::knn::detail
