#include "spmd/detail/segment.hpp"

#include <dirent.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "spmd/error.hpp"

namespace spmd::detail {
namespace bip = boost::interprocess;

namespace {

constexpr const char* shm_dir = "/dev/shm";
constexpr const char* name_prefix = "spmd-";

// Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; 0 if gone.
unsigned long long start_time_of(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return 0;
    auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) return std::stoull(field);
    return 0;
}

// "spmd-<pid>-<start>-" of a name: the process that owns the job.
std::string owner_part(const std::string& name) {
    return name.substr(0, name.rfind('-') + 1);
}

class BoostMapping final : public Mapping {
public:
    explicit BoostMapping(bip::mapped_region region) : region_(std::move(region)) {}
    void* address() const override { return region_.get_address(); }
    std::size_t size() const override { return region_.get_size(); }

private:
    bip::mapped_region region_;
};

}  // namespace

std::uint64_t new_segment_key() {
    std::uint64_t key = 0;
    while (key == 0)  // 0 marks "no segment" where keys are recorded
        if (getrandom(&key, sizeof key, 0) != sizeof key)
            throw Error(std::string("cannot draw a random segment name: ") + std::strerror(errno));
    return key;
}

std::string new_segment_name() {
    char name[96];
    std::snprintf(name, sizeof name, "%s%ld-%llu-%016llx", name_prefix, long(getpid()),
                  start_time_of(getpid()), (unsigned long long)new_segment_key());
    return name;
}

std::string segment_name(const std::string& job_name, std::uint64_t key) {
    char random[24];
    std::snprintf(random, sizeof random, "%016llx", (unsigned long long)key);
    return owner_part(job_name) + random;
}

std::shared_ptr<Mapping> create_segment(const std::string& name, std::size_t bytes) {
    bytes = bytes == 0 ? 1 : bytes;  // a mapping cannot be empty
    struct statvfs fs {};
    if (statvfs(shm_dir, &fs) == 0) {
        const double available = double(fs.f_bavail) * double(fs.f_frsize);
        if (double(bytes) > available)
            throw Error("shared memory of " + std::to_string(bytes) +
                        " bytes does not fit: " + shm_dir + " has " +
                        std::to_string((unsigned long long)available) + " bytes free");
    }
    try {
        bip::permissions owner_only(0600);
        bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write, owner_only);
        try {
            shm.truncate(bip::offset_t(bytes));
            return std::make_shared<BoostMapping>(bip::mapped_region(shm, bip::read_write));
        } catch (...) {
            bip::shared_memory_object::remove(name.c_str());
            throw;
        }
    } catch (const bip::interprocess_exception& e) {
        throw Error("cannot create shared memory '" + name + "' of " + std::to_string(bytes) +
                    " bytes: " + e.what());
    }
}

std::shared_ptr<Mapping> open_segment(const std::string& name) {
    try {
        bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
        return std::make_shared<BoostMapping>(bip::mapped_region(shm, bip::read_write));
    } catch (const bip::interprocess_exception& e) {
        throw Error("cannot attach to shared memory '" + name + "': " + e.what());
    }
}

bool remove_segment(const std::string& name) {
    return bip::shared_memory_object::remove(name.c_str());
}

namespace {
template <class Predicate>
int remove_matching(Predicate&& matches) {
    int removed = 0;
    DIR* dir = opendir(shm_dir);
    if (!dir) return 0;
    while (dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name.rfind(name_prefix, 0) == 0 && matches(name) && remove_segment(name)) ++removed;
    }
    closedir(dir);
    return removed;
}
}  // namespace

int remove_segments_of_owner(const std::string& job_name) {
    const std::string owner = owner_part(job_name);
    return remove_matching([&](const std::string& name) { return name.rfind(owner, 0) == 0; });
}

int sweep_stale_segments() {
    return remove_matching([](const std::string& name) {
        long pid = 0;
        unsigned long long start = 0;
        if (std::sscanf(name.c_str() + std::strlen(name_prefix), "%ld-%llu-", &pid, &start) != 2)
            return false;
        return start_time_of(pid) != start;
    });
}

}  // namespace spmd::detail
