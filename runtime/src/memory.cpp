#include "spmd/memory.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace spmd {

double available_memory() {
    std::ifstream meminfo("/proc/meminfo");
    for (std::string key; meminfo >> key;) {
        double kib = 0;
        if (key == "MemAvailable:" && meminfo >> kib) return kib * 1024;
        meminfo.ignore(256, '\n');
    }
    return double(::sysconf(_SC_AVPHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
}

double available_shared_memory() {
    const double ram = available_memory();
    struct statvfs fs {};
    if (::statvfs("/dev/shm", &fs) != 0) return ram;
    return std::min(ram, double(fs.f_bavail) * double(fs.f_frsize));
}

}  // namespace spmd
