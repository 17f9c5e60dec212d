// The kd-tree and the pieces of its split build that need no World: cutting the top of
// the tree exactly as nanoflann's divideTree would (a "plan"), writing a built subtree to
// bytes and reading it back into another process's tree, and joining the subtrees under
// the planned cuts. Built this way, the tree equals buildIndex()'s node for node.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

#include "spmd/knn/detail/nanoflann_compat.hpp"
#include "spmd/knn/detail/point_cloud.hpp"

namespace spmd::knn::detail {

// Indices are 32-bit (half the memory of size_t in the index array): n < 2^32 is checked.
template <Metric M>
using KdTree = nanoflann::KDTreeSingleIndexAdaptor<ScipyDistance<M>, PointCloud, -1, std::uint32_t>;

// One node of the plan: either a cut that nanoflann's divideTree would make, or a subtree
// (cutfeat < 0) left for some rank to build. Lives in shared memory, hence plain data.
struct PlanNode {
    std::uint64_t left = 0, right = 0;  // the points indices[left, right)
    std::int32_t cutfeat = -1;
    std::uint32_t child1 = 0, child2 = 0;  // plan node ids, for a cut
};
static_assert(std::is_trivially_copyable_v<PlanNode>, "plan nodes live in shared memory");

// A node's box as 2*d doubles (low, high per coordinate) in a flat array.
template <class BBox>
void store_box(const BBox& box, std::size_t d, double* out) {
    for (std::size_t j = 0; j < d; ++j) {
        out[2 * j] = box[j].low;
        out[2 * j + 1] = box[j].high;
    }
}
template <class BBox>
void load_box(const double* in, std::size_t d, BBox& box) {
    nanoflann::resize(box, d);
    for (std::size_t j = 0; j < d; ++j) {
        box[j].low = in[2 * j];
        box[j].high = in[2 * j + 1];
    }
}

// The most subtrees plan_top makes (its callers size shared arrays by it).
inline std::size_t max_plan_subtrees(std::size_t ranks, std::size_t subtrees_wanted) {
    return subtrees_wanted ? subtrees_wanted : 16 * ranks;
}

// The largest share of `sizes` that one of `ranks` ends up with when each subtree, largest
// first, goes to the least loaded rank (LPT, as the dynamic schedule hands them out).
inline std::uint64_t largest_share(std::vector<std::uint64_t> sizes, std::size_t ranks) {
    std::sort(sizes.begin(), sizes.end(), std::greater<>());
    std::vector<std::uint64_t> load(ranks, 0);
    for (auto s : sizes) *std::min_element(load.begin(), load.end()) += s;
    return *std::max_element(load.begin(), load.end());
}

// Cuts the top of the tree with nanoflann's own middleSplit_, permuting the tree's index
// array as divideTree would, always the largest subtree next: into `subtrees` of them if
// that is not 0, else until `ranks` can share them within 15% of an even share (or there
// are 16 per rank). Cuts are serial work on one rank, so no more than balance asks: two
// even halves for two ranks. Appends the nodes (node 0 is the root; children come after
// their parent) and each node's input box (2*d doubles) to `boxes`.
template <class Tree>
void plan_top(Tree& tree, std::size_t ranks, std::size_t subtrees_wanted,
              std::vector<PlanNode>& nodes, std::vector<double>& boxes) {
    using BBox = typename Tree::BoundingBox;
    const std::size_t n = TreeMembers::dataset(tree).kdtree_get_point_count();
    const std::size_t d = TreeMembers::dataset(tree).dim();
    const std::size_t leaf = TreeMembers::leaf_max_size(tree);
    tree.init_vind();
    BBox box;
    tree.computeBoundingBox(box);
    nodes.assign(1, PlanNode{0, n, -1, 0, 0});
    boxes.assign(2 * d, 0.0);
    store_box(box, d, boxes.data());

    std::vector<std::uint32_t> subtrees{0};
    auto size = [&](std::uint32_t id) { return nodes[id].right - nodes[id].left; };
    for (;;) {
        std::vector<std::uint64_t> sizes;
        for (auto id : subtrees) sizes.push_back(size(id));
        if (subtrees_wanted
                ? subtrees.size() >= subtrees_wanted
                : subtrees.size() >= max_plan_subtrees(ranks, 0) ||
                      double(largest_share(sizes, ranks)) <= 1.15 * double(n) / double(ranks))
            break;
        const auto largest = std::max_element(subtrees.begin(), subtrees.end(),
                                              [&](auto a, auto b) { return size(a) < size(b); });
        const std::uint32_t id = *largest;
        if (size(id) <= leaf) break;  // divideTree would make it a leaf: nothing left to cut

        load_box(boxes.data() + id * 2 * d, d, box);
        typename Tree::Offset cut_index;
        typename Tree::Dimension cutfeat;
        double cutval;
        const std::uint64_t left = nodes[id].left, right = nodes[id].right;
        tree.middleSplit_(tree, left, right - left, cut_index, cutfeat, cutval, box);
        BBox left_box(box), right_box(box);
        left_box[cutfeat].high = cutval;
        right_box[cutfeat].low = cutval;
        const auto c1 = std::uint32_t(nodes.size()), c2 = c1 + 1;
        nodes.push_back(PlanNode{left, left + cut_index, -1, 0, 0});
        nodes.push_back(PlanNode{left + cut_index, right, -1, 0, 0});
        nodes[id].cutfeat = cutfeat;
        nodes[id].child1 = c1;
        nodes[id].child2 = c2;
        boxes.resize(nodes.size() * 2 * d);
        store_box(left_box, d, boxes.data() + c1 * 2 * d);
        store_box(right_box, d, boxes.data() + c2 * 2 * d);
        *largest = c1;
        subtrees.push_back(c2);
    }
}

// A subtree as bytes: its nodes in preorder, each copied whole; in the copy the child
// pointers only say whether children follow (a leaf has none, a cut has two).
template <class Node>
void save_subtree(const Node* node, std::vector<std::byte>& out) {
    static_assert(std::is_trivially_copyable_v<Node>);
    const std::size_t at = out.size();
    out.resize(at + sizeof(Node));
    std::memcpy(out.data() + at, node, sizeof(Node));
    if (node->child1 != nullptr) {
        save_subtree(node->child1, out);
        save_subtree(node->child2, out);
    }
}

// Reads one subtree written by save_subtree into the tree's node pool; advances `in`.
template <class Tree>
typename Tree::Node* load_subtree(Tree& tree, const std::byte*& in) {
    using Node = typename Tree::Node;
    Node* node = TreeMembers::pool(tree).template allocate<Node>();
    std::memcpy(static_cast<void*>(node), in, sizeof(Node));
    in += sizeof(Node);
    if (node->child1 != nullptr) {
        node->child1 = load_subtree(tree, in);
        node->child2 = load_subtree(tree, in);
    }
    return node;
}

// Makes the planned cuts into tree nodes above the subtrees (roots[id] for every subtree
// id, out_boxes[id] its tight box as divideTree left it) and installs the root, filling
// in the cut bounds and boxes bottom-up just as divideTree does on its way back.
template <class Tree>
void join_plan(Tree& tree, const PlanNode* nodes, std::size_t count, const double* out_boxes,
               std::vector<typename Tree::Node*>& roots) {
    using BBox = typename Tree::BoundingBox;
    using Node = typename Tree::Node;
    const std::size_t d = TreeMembers::dataset(tree).dim();
    std::vector<BBox> boxes(count);
    // Children come after their parent, so walking backwards meets them first.
    for (std::size_t id = count; id-- > 0;) {
        const PlanNode& p = nodes[id];
        if (p.cutfeat < 0) {
            load_box(out_boxes + id * 2 * d, d, boxes[id]);
            continue;
        }
        Node* node = TreeMembers::pool(tree).template allocate<Node>();
        const BBox& lb = boxes[p.child1];
        const BBox& rb = boxes[p.child2];
        node->child1 = roots[p.child1];
        node->child2 = roots[p.child2];
        node->node_type.sub.divfeat = p.cutfeat;
        node->node_type.sub.divlow = lb[p.cutfeat].high;
        node->node_type.sub.divhigh = rb[p.cutfeat].low;
        nanoflann::resize(boxes[id], d);
        for (std::size_t j = 0; j < d; ++j) {
            boxes[id][j].low = std::min(lb[j].low, rb[j].low);
            boxes[id][j].high = std::max(lb[j].high, rb[j].high);
        }
        roots[id] = node;
    }
    TreeMembers::root(tree) = roots[0];
    TreeMembers::root_bbox(tree) = boxes[0];
}

}  // namespace spmd::knn::detail
