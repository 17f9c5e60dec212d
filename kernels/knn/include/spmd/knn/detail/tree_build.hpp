// build_tree: every rank of a World comes to hold the same kd-tree. A built nanoflann tree
// is pointers into its own pool, so it cannot live in shared memory; instead rank 0 cuts
// the top of the tree (a plan), the ranks build the subtrees below it in parallel, publish
// them as bytes in shared arrays, and each rank loads the others' subtrees under the plan.
// Why, measured at n = 10^6, d = 8 on 2 cores (bench_knn --variants): one rank builds in
// 0.33 s; with 2 ranks, each building the whole tree takes 0.34 s; one building it and the
// other loading it from shared memory 0.35 s (writing and reading its 11 MB of nodes is
// cheap, ~0.02 s, but the second rank idles); this split build 0.23 s (cutting the root,
// serial, 0.03 s; the halves, in parallel, 0.17 s).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "spmd/detail/copy.hpp"
#include "spmd/knn/detail/kd_tree.hpp"
#include "spmd/knn/knn.hpp"
#include "spmd/world.hpp"

namespace spmd::knn::detail {

// Collective. `prefix` names this call's shared arrays; `subtrees_wanted`: how many to cut the
// tree into (0: as many as an even share of the work needs; 1: one rank builds it all).
template <class Tree>
void build_tree(World& world, Tree& tree, IndexBuild how, std::size_t subtrees_wanted,
                const std::string& prefix) {
    // The split build shares its parts through arrays that one host's ranks share: across
    // hosts, every rank builds the whole tree (the same tree: the build is deterministic).
    if (world.size() == 1 || how == IndexBuild::each_rank || world.node().count > 1) {
        tree.buildIndex();
        return;
    }
    const auto& cloud = TreeMembers::dataset(tree);
    const std::size_t n = cloud.rows, d = cloud.dim(), box = 2 * d;
    const std::size_t ranks = std::size_t(world.size());
    const std::size_t max_nodes = 2 * max_plan_subtrees(ranks, subtrees_wanted) - 1;  // + the cuts

    auto order = world.shared<std::uint32_t>(prefix + "order", n);
    auto plan = world.shared<PlanNode>(prefix + "plan", max_nodes + 1);  // + 1: the count
    auto in_boxes = world.shared<double>(prefix + "in", max_nodes * box);
    auto out_boxes = world.shared<double>(prefix + "out", max_nodes * box);
    auto sizes = world.shared<std::uint64_t>(prefix + "sizes", max_nodes);
    auto& indices = TreeMembers::indices(tree);

    if (world.rank() == 0) {
        std::vector<PlanNode> nodes;
        std::vector<double> boxes;
        plan_top(tree, ranks, subtrees_wanted, nodes, boxes);
        std::copy(nodes.begin(), nodes.end(), plan.begin());
        plan[max_nodes].left = nodes.size();  // the last entry holds the count
        std::copy(boxes.begin(), boxes.end(), in_boxes.begin());
        std::copy(indices.begin(), indices.end(), order.begin());
    }
    world.barrier();
    const std::size_t count = plan[max_nodes].left;
    indices.resize(n);

    // Subtrees, largest first so that the dynamic schedule ends evenly.
    std::vector<std::uint32_t> subtrees;
    for (std::uint32_t id = 0; id < count; ++id)
        if (plan[id].cutfeat < 0) subtrees.push_back(id);
    std::stable_sort(subtrees.begin(), subtrees.end(), [&](auto a, auto b) {
        return plan[a].right - plan[a].left > plan[b].right - plan[b].left;
    });

    using Node = typename Tree::Node;
    std::vector<Node*> roots(count, nullptr);
    std::vector<std::pair<std::uint32_t, std::vector<std::byte>>> mine;
    for (Range r : world.schedule(subtrees.size(), Schedule::dynamic, 1)) {
        for (std::size_t s = r.begin; s < r.end; ++s) {
            const std::uint32_t id = subtrees[s];
            const PlanNode& p = plan[id];
            std::copy(order.begin() + p.left, order.begin() + p.right, indices.begin() + p.left);
            typename Tree::BoundingBox bbox;
            load_box(in_boxes.data() + id * box, d, bbox);
            roots[id] = tree.divideTree(tree, p.left, p.right, bbox);
            store_box(bbox, d, out_boxes.data() + id * box);
            std::copy(indices.begin() + p.left, indices.begin() + p.right, order.begin() + p.left);
            mine.emplace_back(id, std::vector<std::byte>());
            save_subtree(roots[id], mine.back().second);
            sizes[id] = mine.back().second.size();
        }
    }
    world.barrier();

    std::vector<std::size_t> offset(count + 1, 0);
    for (std::size_t id = 0; id < count; ++id) offset[id + 1] = offset[id] + sizes[id];
    auto blob = world.shared<std::byte>(prefix + "tree", offset[count]);
    for (const auto& [id, bytes] : mine)
        spmd::detail::copy_bytes(blob.data() + offset[id], bytes.data(), bytes.size());
    world.barrier();

    std::copy(order.begin(), order.end(), indices.begin());
    for (std::uint32_t id : subtrees) {
        if (roots[id] != nullptr) continue;  // built here
        const std::byte* in = blob.data() + offset[id];
        roots[id] = load_subtree(tree, in);
    }
    join_plan(tree, plan.data(), count, out_boxes.data(), roots);
}

}  // namespace spmd::knn::detail
