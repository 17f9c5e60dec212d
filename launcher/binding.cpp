#include "binding.hpp"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mprun {

std::vector<int> allowed_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cores;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cores.push_back(cpu);
    return cores;
}

std::vector<int> plan_bindings(bool bind, int ranks, const std::vector<int>& cores) {
    std::vector<int> plan(std::size_t(ranks), -1);
    if (bind && !cores.empty())
        for (int rank = 0; rank < ranks; ++rank)
            plan[std::size_t(rank)] = cores[std::size_t(rank) % cores.size()];
    return plan;
}

bool apply_binding(int core) {
    if (core < 0) return true;
    if (core >= CPU_SETSIZE) {
        errno = EINVAL;
        return false;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

void bind_or_exit(int rank, int core) {
    if (apply_binding(core)) return;
    const std::string message = "mprun: rank " + std::to_string(rank) + " cannot bind to core " +
                                std::to_string(core) + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] auto ignored = write(2, message.data(), message.size());
    _exit(1);
}

std::string core_list(const std::vector<int>& cores) {
    std::string text;
    for (std::size_t i = 0; i < cores.size();) {
        std::size_t j = i;
        while (j + 1 < cores.size() && cores[j + 1] == cores[j] + 1) ++j;
        if (!text.empty()) text += ',';
        text += std::to_string(cores[i]);
        if (j > i) text += '-' + std::to_string(cores[j]);
        i = j + 1;
    }
    return text;
}

std::string describe_binding(int rank, int pid, int core, const std::vector<int>& cores) {
    const std::string who = "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
    if (core >= 0) return who + " bound to core " + std::to_string(core);
    return who + " not bound: cores " + core_list(cores);
}

}  // namespace mprun
