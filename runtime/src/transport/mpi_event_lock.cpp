// spmd::Event and spmd::Lock of the MPI transport: their state is one word in rank 0's memory
// (detail::RemoteEvent, detail::RemoteLock), so they work between ranks on different hosts.
#include "spmd/detail/remote_event.hpp"
#include "spmd/event.hpp"
#include "spmd/lock.hpp"

namespace spmd {

Event::Event(World&, std::string_view name)
    : name_(name), remote_(std::make_shared<detail::RemoteEvent>(name)) {}

void Event::set() {
    remote_->set();
}
void Event::clear() {
    remote_->clear();
}
bool Event::is_set() const {
    return remote_->is_set();
}
void Event::wait() {
    remote_->wait_ns(-1);
}
bool Event::wait_ns(long long timeout_ns) {
    return remote_->wait_ns(timeout_ns);
}

Lock::Lock(World&, std::string_view name)
    : name_(name), remote_(std::make_shared<detail::RemoteLock>(name)) {}

void Lock::lock() {
    remote_->lock();
}
bool Lock::try_lock() {
    return remote_->try_lock();
}
void Lock::unlock() {
    remote_->unlock();
}
int Lock::owner() const {
    return remote_->owner();
}

}  // namespace spmd
