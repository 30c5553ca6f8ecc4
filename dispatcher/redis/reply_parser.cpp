// hiredis's reader with reply constructors of our own: replies are built as redis::reply
// values directly, outlive the reader's buffer, and no hiredis type leaves this file.
#include "dispatcher/redis/reply_parser.hpp"

#include <memory>
#include <new>

#include <hiredis/hiredis.h>

namespace dispatcher::redis {

namespace {

// hiredis's reader builds replies through these constructors; ours build redis::reply
// values in place (an array's elements inside its vector), so a reply is made once instead
// of as a hiredis tree that is then copied and freed: half the allocations per reply.
// hiredis only ever frees the root (freeObject), which owns everything below it.

// hiredis allocates an array reply's pointer table as soon as it reads the header, so
// "*2000000000" alone (13 bytes) would make it ask for 16 GB. No reply we ask for comes
// near this bound (the largest are a connection's whole history and a consumer's
// connections); beyond it the reply is refused as a protocol error.
constexpr long long max_array_elements = 4 * 1024 * 1024;

/// Where the value of `task` goes: a new root, or its slot in the parent array (sized when
/// the array's header was read).
reply* slot_of(const redisReadTask* task) {
  if (task->parent == nullptr) return new (std::nothrow) reply();
  auto* parent = static_cast<reply*>(task->parent->obj);
  return &parent->elements[static_cast<std::size_t>(task->idx)];
}

/// Runs `fill` on the task's slot; null (hiredis: out of memory, a reader error) when it
/// throws, which must not unwind through C. A root that failed is freed here; a child is
/// freed with its root.
template <class Fill>
void* build(const redisReadTask* task, Fill fill) noexcept {
  reply* r = slot_of(task);
  if (r == nullptr) return nullptr;
  try {
    fill(*r);
    return r;
  } catch (...) {
    if (task->parent == nullptr) delete r;
    return nullptr;
  }
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  return build(task, [&](reply& r) {
    r.type = task->type == REDIS_REPLY_ERROR    ? reply::kind::error
             : task->type == REDIS_REPLY_STATUS ? reply::kind::status
                                                : reply::kind::string;
    r.str.assign(str, len);
  });
}

// The count's type differs between hiredis 0.14 (int) and 1.x (size_t).
template <class Count>
void* create_array(const redisReadTask* task, Count elements) {
  const auto count = static_cast<long long>(elements);
  if (count < 0 || count > max_array_elements) return nullptr;  // hiredis: a reader error
  return build(task, [&](reply& r) {
    r.type = reply::kind::array;
    r.elements.resize(static_cast<std::size_t>(count));
  });
}

void* create_integer(const redisReadTask* task, long long value) {
  return build(task, [&](reply& r) {
    r.type = reply::kind::integer;
    r.integer = value;
  });
}

void* create_nil(const redisReadTask* task) {
  return build(task, [](reply& r) { r.type = reply::kind::nil; });
}

void free_reply(void* r) {
  delete static_cast<reply*>(r);
}

// Set up once from hiredis's defaults (whatever else they hold), shared by all readers.
redisReplyObjectFunctions* reply_functions(const redisReplyObjectFunctions* defaults) {
  static redisReplyObjectFunctions functions = [defaults] {
    redisReplyObjectFunctions f = *defaults;
    f.createString = &create_string;
    f.createArray = &create_array;
    f.createInteger = &create_integer;
    f.createNil = &create_nil;
    f.freeObject = &free_reply;
    return f;
  }();
  return &functions;
}

}  // namespace

void reply_parser::reader_deleter::operator()(redisReader* r) const noexcept {
  redisReaderFree(r);
}

reply_parser::reply_parser() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
  reader_->fn = reply_functions(reader_->fn);
}
reply_parser::~reply_parser() = default;
reply_parser::reply_parser(reply_parser&&) noexcept = default;
reply_parser& reply_parser::operator=(reply_parser&&) noexcept = default;

std::error_code reply_parser::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    return errc::redis_protocol;
  }
  return {};
}

reply_parser::next_reply reply_parser::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) return {errc::redis_protocol, {}};
  if (raw == nullptr) return {};
  const std::unique_ptr<reply> r(static_cast<reply*>(raw));
  return {{}, std::move(*r)};
}

}  // namespace dispatcher::redis
