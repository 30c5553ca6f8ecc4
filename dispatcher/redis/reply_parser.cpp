// hiredis's reply tree copied into redis::reply values, so replies outlive the reader's
// buffer and no hiredis type leaves this file.
#include "dispatcher/redis/reply_parser.hpp"

#include <memory>
#include <new>

#include <hiredis/hiredis.h>

namespace dispatcher::redis {

namespace {

// Recursion is bounded: hiredis refuses replies nested deeper than 7 levels.
reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  return out;
}

// hiredis allocates an array reply's pointer table as soon as it reads the header, so
// "*2000000000" alone (13 bytes) would make it ask for 16 GB. No reply we ask for comes
// near this bound (the largest are a connection's whole history and a consumer's
// connections); beyond it the reply is refused as a protocol error.
constexpr long long max_array_elements = 4 * 1024 * 1024;

// hiredis's own array constructor, wrapped by bounded_create_array.
decltype(redisReplyObjectFunctions::createArray) default_create_array = nullptr;

// The count's type differs between hiredis 0.14 (int) and 1.x (size_t).
template <class Count>
void* bounded_create_array(const redisReadTask* task, Count elements) {
  const auto count = static_cast<long long>(elements);
  if (count < 0 || count > max_array_elements) return nullptr;  // hiredis: a reader error
  return default_create_array(task, elements);
}

// hiredis's reply constructors with the array bound; set up once, shared by all readers.
redisReplyObjectFunctions* bounded_functions(const redisReplyObjectFunctions* defaults) {
  static redisReplyObjectFunctions functions = [defaults] {
    redisReplyObjectFunctions f = *defaults;
    default_create_array = f.createArray;
    f.createArray = &bounded_create_array;
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
  reader_->fn = bounded_functions(reader_->fn);
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
  // Owned before converting, so a bad_alloc while copying does not leak the tree.
  const std::unique_ptr<redisReply, void (*)(void*)> r(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
  return {{}, convert(r.get())};
}

}  // namespace dispatcher::redis
