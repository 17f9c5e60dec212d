// Communicators and groups. A communicator is an ordered list of world ranks and a
// context id that its members agreed on (the lowest id free on all of them, found by an
// OR of their used-id masks), so its messages never match another communicator's.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "state.hpp"

namespace spmd::mpi {

namespace {

constexpr int first_user_comm = 3;
constexpr std::size_t mask_words = (max_contexts + 31) / 32;

struct Tables {
    std::vector<std::shared_ptr<Comm>> comms;
    std::vector<std::shared_ptr<Group>> groups;
    std::uint32_t used[mask_words] = {};
};
Tables& tables() {
    static Tables t;
    return t;
}

void use_context(int id, bool used) {
    auto& word = tables().used[std::size_t(id) / 32];
    const std::uint32_t bit = std::uint32_t(1) << (id % 32);
    word = used ? (word | bit) : (word & ~bit);
}

MPI_Comm add_comm(std::shared_ptr<Comm> c) {
    auto& comms = tables().comms;
    for (std::size_t h = first_user_comm; h < comms.size(); ++h)
        if (!comms[h]) {
            comms[h] = std::move(c);
            return MPI_Comm(h);
        }
    comms.push_back(std::move(c));
    return MPI_Comm(comms.size() - 1);
}

MPI_Group add_group(std::vector<int> world_of) {
    auto g = std::make_shared<Group>();
    g->world_of = std::move(world_of);
    auto& groups = tables().groups;
    for (std::size_t h = 2; h < groups.size(); ++h)
        if (!groups[h]) {
            groups[h] = std::move(g);
            return MPI_Group(h);
        }
    groups.push_back(std::move(g));
    return MPI_Group(groups.size() - 1);
}

std::shared_ptr<Group> group(MPI_Group handle) {
    auto& groups = tables().groups;
    if (handle == MPI_GROUP_NULL) fail(MPI_ERR_GROUP, "the group is MPI_GROUP_NULL");
    if (handle < 0 || std::size_t(handle) >= groups.size() || !groups[std::size_t(handle)])
        fail(MPI_ERR_GROUP, "unknown group handle " + std::to_string(handle));
    return groups[std::size_t(handle)];
}

// A communicator of the given world ranks (in order) with context `id`, or null if
// this rank is not among them.
std::shared_ptr<Comm> make_comm(std::vector<int> world_of, int id, MPI_Errhandler handler) {
    const int me = world().rank();
    const auto at = std::find(world_of.begin(), world_of.end(), me);
    if (at == world_of.end()) return nullptr;
    auto c = std::make_shared<Comm>();
    c->context = id;
    c->rank = int(at - world_of.begin());
    c->rank_of.assign(std::size_t(world().size()), -1);
    for (std::size_t r = 0; r < world_of.size(); ++r) c->rank_of[std::size_t(world_of[r])] = int(r);
    c->world_of = std::move(world_of);
    c->errhandler = handler;
    use_context(id, true);
    return c;
}

Members members_of(const Comm& c) {
    return {c.world_of, c.rank, coll_field(c)};
}

void check_ranks(const Group& g, int n, const int ranks[], const char* what) {
    if (n < 0 || n > int(g.world_of.size()))
        fail(MPI_ERR_ARG, std::string(what) + " count " + std::to_string(n) + " is not within 0.." +
                              std::to_string(g.world_of.size()));
    std::vector<bool> seen(g.world_of.size());
    for (int i = 0; i < n; ++i) {
        if (ranks[i] < 0 || ranks[i] >= int(g.world_of.size()))
            fail(MPI_ERR_RANK, "rank " + std::to_string(ranks[i]) +
                                   " is out of range for a group of size " +
                                   std::to_string(g.world_of.size()));
        if (seen[std::size_t(ranks[i])])
            fail(MPI_ERR_RANK, "rank " + std::to_string(ranks[i]) + " is listed twice");
        seen[std::size_t(ranks[i])] = true;
    }
}

}  // namespace

int new_context(const Members& m) {
    std::uint32_t words[mask_words];
    std::copy(std::begin(tables().used), std::end(tables().used), words);
    coll_allreduce_or(m, words, mask_words);
    for (int id = 0; id < max_contexts; ++id)
        if (!(words[id / 32] >> (id % 32) & 1)) return id;
    fail(MPI_ERR_INTERN, "no free communicator context left (at most " +
                             std::to_string(max_contexts) + " communicators at once)");
}

Comm* find_comm(MPI_Comm handle) {
    auto& comms = tables().comms;
    if (handle <= MPI_COMM_NULL || std::size_t(handle) >= comms.size()) return nullptr;
    return comms[std::size_t(handle)].get();
}

const std::shared_ptr<Comm>& comm(MPI_Comm handle) {
    require_initialized();
    if (handle == MPI_COMM_NULL) fail(MPI_ERR_COMM, "the communicator is MPI_COMM_NULL");
    auto& comms = tables().comms;
    if (handle < 0 || std::size_t(handle) >= comms.size() || !comms[std::size_t(handle)])
        fail(MPI_ERR_COMM, "unknown communicator handle " + std::to_string(handle));
    return comms[std::size_t(handle)];
}

void make_predefined_comms() {
    auto& t = tables();
    t.comms.assign(first_user_comm, nullptr);
    t.groups.assign(2, nullptr);
    t.groups[MPI_GROUP_EMPTY] = std::make_shared<Group>();
    std::vector<int> all(std::size_t(world().size()));
    std::iota(all.begin(), all.end(), 0);
    t.comms[MPI_COMM_WORLD] = make_comm(all, 0, MPI_ERRORS_ARE_FATAL);
    t.comms[MPI_COMM_WORLD]->is_world = true;
    // MPI_COMM_SELF's context 1 is only ever used between a rank and itself.
    t.comms[MPI_COMM_SELF] = make_comm({world().rank()}, 1, MPI_ERRORS_ARE_FATAL);
}

void free_all_comms() {
    auto& t = tables();
    t.comms.clear();
    t.groups.clear();
    std::fill(std::begin(t.used), std::end(t.used), 0);
}

}  // namespace spmd::mpi

using namespace spmd::mpi;

extern "C" {

int MPI_Comm_rank(MPI_Comm c, int* rank) {
    return call("MPI_Comm_rank", c, [&] { *rank = comm(c)->rank; });
}

int MPI_Comm_size(MPI_Comm c, int* size) {
    return call("MPI_Comm_size", c, [&] { *size = comm(c)->size(); });
}

int MPI_Comm_dup(MPI_Comm c, MPI_Comm* newcomm) {
    return call("MPI_Comm_dup", c, [&] {
        const auto parent = comm(c);
        const int id = new_context(members_of(*parent));
        *newcomm = add_comm(make_comm(parent->world_of, id, parent->errhandler));
    });
}

int MPI_Comm_split(MPI_Comm c, int color, int key, MPI_Comm* newcomm) {
    return call("MPI_Comm_split", c, [&] {
        const auto parent = comm(c);
        if (color < 0 && color != MPI_UNDEFINED)
            fail(MPI_ERR_ARG,
                 "color " + std::to_string(color) + " is negative (use MPI_UNDEFINED to stay out)");
        // Everyone learns everyone's (color, key), then takes its color's members
        // ordered by key, ties by rank in the parent.
        const Members m = members_of(*parent);
        int mine[2] = {color, key};
        std::vector<int> all(2 * std::size_t(parent->size()));
        std::vector<std::size_t> sizes(std::size_t(parent->size()), sizeof mine),
            offsets(sizes.size());
        for (std::size_t r = 0; r < offsets.size(); ++r) offsets[r] = r * sizeof mine;
        coll_gatherv(m, mine, sizeof mine, reinterpret_cast<std::byte*>(all.data()), sizes, offsets,
                     0);
        coll_bcast(m, all.data(), all.size() * sizeof(int), 0);
        const int id = new_context(m);
        *newcomm = MPI_COMM_NULL;
        if (color == MPI_UNDEFINED) return;
        std::vector<std::tuple<int, int, int>> chosen;  // key, parent rank, world rank
        for (int r = 0; r < parent->size(); ++r)
            if (all[2 * std::size_t(r)] == color)
                chosen.emplace_back(all[2 * std::size_t(r) + 1], r,
                                    parent->world_of[std::size_t(r)]);
        std::sort(chosen.begin(), chosen.end());
        std::vector<int> world_of;
        for (const auto& [k, r, w] : chosen) world_of.push_back(w);
        *newcomm = add_comm(make_comm(std::move(world_of), id, parent->errhandler));
    });
}

int MPI_Comm_split_type(MPI_Comm c, int split_type, int key, MPI_Info info, MPI_Comm* newcomm) {
    (void)info;
    if (split_type != MPI_COMM_TYPE_SHARED && split_type != MPI_UNDEFINED)
        return call("MPI_Comm_split_type", c, [&] {
            fail(MPI_ERR_ARG, "split type " + std::to_string(split_type) +
                                  " is not supported (only MPI_COMM_TYPE_SHARED)");
        });
    // Every rank of an mprun job shares this machine's memory: one color.
    return MPI_Comm_split(c, split_type == MPI_UNDEFINED ? MPI_UNDEFINED : 0, key, newcomm);
}

int MPI_Comm_free(MPI_Comm* c) {
    return call("MPI_Comm_free", *c, [&] {
        const auto victim = comm(*c);
        if (*c == MPI_COMM_WORLD || *c == MPI_COMM_SELF)
            fail(MPI_ERR_COMM, "MPI_COMM_WORLD and MPI_COMM_SELF cannot be freed");
        use_context(victim->context, false);
        tables().comms[std::size_t(*c)].reset();
        *c = MPI_COMM_NULL;
    });
}

int MPI_Comm_compare(MPI_Comm a, MPI_Comm b, int* result) {
    return call("MPI_Comm_compare", a, [&] {
        const auto ca = comm(a), cb = comm(b);
        if (ca == cb)
            *result = MPI_IDENT;
        else if (ca->world_of == cb->world_of)
            *result = MPI_CONGRUENT;
        else {
            auto sa = ca->world_of, sb = cb->world_of;
            std::sort(sa.begin(), sa.end());
            std::sort(sb.begin(), sb.end());
            *result = sa == sb ? MPI_SIMILAR : MPI_UNEQUAL;
        }
    });
}

int MPI_Comm_group(MPI_Comm c, MPI_Group* g) {
    return call("MPI_Comm_group", c, [&] { *g = add_group(comm(c)->world_of); });
}

int MPI_Comm_create(MPI_Comm c, MPI_Group g, MPI_Comm* newcomm) {
    return call("MPI_Comm_create", c, [&] {
        const auto parent = comm(c);
        const auto members = group(g);
        for (int w : members->world_of)
            if (parent->rank_of[std::size_t(w)] < 0)
                fail(MPI_ERR_GROUP, "the group has a rank that is not in the communicator");
        const int id = new_context(members_of(*parent));
        auto made = make_comm(members->world_of, id, parent->errhandler);
        *newcomm = made ? add_comm(std::move(made)) : MPI_COMM_NULL;
    });
}

int MPI_Comm_create_group(MPI_Comm c, MPI_Group g, int tag, MPI_Comm* newcomm) {
    return call("MPI_Comm_create_group", c, [&] {
        const auto parent = comm(c);
        const auto members = group(g);
        if (tag < 0 || tag >= SPMD_MPI_TAG_MAX)
            fail(MPI_ERR_TAG, "tag " + std::to_string(tag) + " is not within 0.." +
                                  std::to_string(SPMD_MPI_TAG_MAX - 1));
        for (int w : members->world_of)
            if (parent->rank_of[std::size_t(w)] < 0)
                fail(MPI_ERR_GROUP, "the group has a rank that is not in the communicator");
        const auto at =
            std::find(members->world_of.begin(), members->world_of.end(), world().rank());
        if (at == members->world_of.end()) {
            *newcomm = MPI_COMM_NULL;
            return;
        }
        // Only the group's members take part: they agree among themselves, on the
        // parent's collective context with the caller's tag (+ 1: 0 is the parent's own).
        Members m{members->world_of, int(at - members->world_of.begin()), coll_field(*parent),
                  tag + 1};
        const int id = new_context(m);
        *newcomm = add_comm(make_comm(members->world_of, id, parent->errhandler));
    });
}

int MPI_Comm_set_errhandler(MPI_Comm c, MPI_Errhandler handler) {
    return call("MPI_Comm_set_errhandler", c, [&] {
        const auto target = comm(c);
        if (handler != MPI_ERRORS_ARE_FATAL && handler != MPI_ERRORS_RETURN)
            fail(MPI_ERR_ARG, "unknown error handler " + std::to_string(handler));
        target->errhandler = handler;
    });
}

int MPI_Group_incl(MPI_Group g, int n, const int ranks[], MPI_Group* newgroup) {
    return call("MPI_Group_incl", MPI_COMM_WORLD, [&] {
        const auto from = group(g);
        check_ranks(*from, n, ranks, "MPI_Group_incl");
        std::vector<int> world_of;
        for (int i = 0; i < n; ++i) world_of.push_back(from->world_of[std::size_t(ranks[i])]);
        *newgroup = n == 0 ? MPI_GROUP_EMPTY : add_group(std::move(world_of));
    });
}

int MPI_Group_excl(MPI_Group g, int n, const int ranks[], MPI_Group* newgroup) {
    return call("MPI_Group_excl", MPI_COMM_WORLD, [&] {
        const auto from = group(g);
        check_ranks(*from, n, ranks, "MPI_Group_excl");
        std::vector<bool> out(from->world_of.size());
        for (int i = 0; i < n; ++i) out[std::size_t(ranks[i])] = true;
        std::vector<int> world_of;
        for (std::size_t r = 0; r < out.size(); ++r)
            if (!out[r]) world_of.push_back(from->world_of[r]);
        *newgroup = world_of.empty() ? MPI_GROUP_EMPTY : add_group(std::move(world_of));
    });
}

int MPI_Group_size(MPI_Group g, int* size) {
    return call("MPI_Group_size", MPI_COMM_WORLD, [&] { *size = int(group(g)->world_of.size()); });
}

int MPI_Group_rank(MPI_Group g, int* rank) {
    return call("MPI_Group_rank", MPI_COMM_WORLD, [&] {
        const auto& w = group(g)->world_of;
        const auto at = std::find(w.begin(), w.end(), world().rank());
        *rank = at == w.end() ? MPI_UNDEFINED : int(at - w.begin());
    });
}

int MPI_Group_translate_ranks(MPI_Group g1, int n, const int ranks1[], MPI_Group g2, int ranks2[]) {
    return call("MPI_Group_translate_ranks", MPI_COMM_WORLD, [&] {
        const auto a = group(g1), b = group(g2);
        for (int i = 0; i < n; ++i) {
            if (ranks1[i] == MPI_PROC_NULL) {
                ranks2[i] = MPI_PROC_NULL;
                continue;
            }
            if (ranks1[i] < 0 || ranks1[i] >= int(a->world_of.size()))
                fail(MPI_ERR_RANK, "rank " + std::to_string(ranks1[i]) +
                                       " is out of range for a group of size " +
                                       std::to_string(a->world_of.size()));
            const int w = a->world_of[std::size_t(ranks1[i])];
            const auto at = std::find(b->world_of.begin(), b->world_of.end(), w);
            ranks2[i] = at == b->world_of.end() ? MPI_UNDEFINED : int(at - b->world_of.begin());
        }
    });
}

int MPI_Group_free(MPI_Group* g) {
    return call("MPI_Group_free", MPI_COMM_WORLD, [&] {
        group(*g);
        if (*g != MPI_GROUP_EMPTY) tables().groups[std::size_t(*g)].reset();
        *g = MPI_GROUP_NULL;
    });
}

}  // extern "C"
