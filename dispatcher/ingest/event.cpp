// Validation of stream payloads (CONTRACT section 1). The payload is scanned, not parsed
// into a document (common/json's scan_untrusted_json: the document parser's checks and
// messages), and never written back: receivers verify signatures over the producer's exact
// bytes, so the body is the payload itself, with at most an "id" member spliced in after
// the opening brace.
#include "dispatcher/ingest/event.hpp"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/random.hpp"

namespace dispatcher::ingest {

namespace {

using json = nlohmann::json;
using value_t = json::value_t;

const char* type_name(value_t type) {
  switch (type) {
    case value_t::array:
      return "an array";
    case value_t::string:
      return "a string";
    case value_t::boolean:
      return "a boolean";
    case value_t::null:
      return "null";
    case value_t::number_integer:
    case value_t::number_unsigned:
    case value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

// A top-level member the contract names; `discarded` stands for absent.
struct member_value {
  value_t type = value_t::discarded;
  std::string text;  // a string's value
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;

  bool present() const { return type != value_t::discarded; }
  bool is_string() const { return type == value_t::string; }
  bool is_null() const { return type == value_t::null; }
};

// Keeps the members validation reads; the scan refuses a key given twice, so each is
// seen at most once.
struct contract_members final : json_member_sink {
  value_t root_type = value_t::discarded;
  member_value event, accountid, consumerid, created, id, connectionid, status;

  void root(value_t type) override { root_type = type; }
  void member(const json_member& m) override {
    member_value* slot = find(m.key);
    if (slot == nullptr) return;
    slot->type = m.type;
    slot->text.assign(m.text);
    slot->integer = m.integer;
    slot->unsigned_integer = m.unsigned_integer;
  }

 private:
  member_value* find(std::string_view key) {
    if (key == "event") return &event;
    if (key == "accountid") return &accountid;
    if (key == "consumerid") return &consumerid;
    if (key == "created") return &created;
    if (key == "id") return &id;
    if (key == "connectionid") return &connectionid;
    if (key == "status") return &status;
    return nullptr;
  }
};

validation_error missing(std::string_view field) {
  return {"field '" + std::string(field) + "' is required", std::string(field)};
}

// Takes a required UUID string member into `out`; an error message when it is not one.
std::optional<validation_error> read_uuid(member_value& value, const char* field,
                                          std::string& out) {
  if (!value.present()) return missing(field);
  if (!value.is_string() || !is_uuid(value.text)) {
    return validation_error{"field '" + std::string(field) + "' must be a UUID string", field};
  }
  out = std::move(value.text);
  return std::nullopt;
}

// Splices "id":"<id>" in right after the object's opening brace.
std::string insert_id(std::string_view payload, const std::string& id) {
  // The payload parsed as an object, so only whitespace can come before its first '{'.
  const std::size_t brace = payload.find('{');
  std::size_t next = brace + 1;
  while (next < payload.size() && (payload[next] == ' ' || payload[next] == '\t' ||
                                   payload[next] == '\n' || payload[next] == '\r')) {
    ++next;
  }
  const bool empty_object = next < payload.size() && payload[next] == '}';
  std::string body;
  body.reserve(payload.size() + id.size() + 9);
  body.append(payload.substr(0, brace + 1));
  body.append("\"id\":");
  append_json_string(body, id);
  if (!empty_object) body += ',';
  body.append(payload.substr(brace + 1));
  return body;
}

}  // namespace

std::variant<event, validation_error> parse_event(std::string_view payload,
                                                  std::string_view entry_id,
                                                  std::size_t max_payload) {
  if (payload.empty()) return validation_error{"payload is empty"};
  if (payload.size() > max_payload) {
    return validation_error{"payload is " + std::to_string(payload.size()) +
                            " bytes, more than the " + std::to_string(max_payload) + " allowed"};
  }
  // nlohmann would skip a byte order mark, but it would then reach receivers whose parsers
  // refuse it (RFC 8259 forbids sending one).
  if (payload.starts_with("\xEF\xBB\xBF")) {
    return validation_error{"payload starts with a byte order mark, which JSON does not allow"};
  }
  // nlohmann rejects ill-formed UTF-8 inside strings and any non-ASCII byte outside them,
  // so a successful scan also proves the payload is valid UTF-8. The scan builds no
  // document: only the members below are kept.
  contract_members doc;
  if (auto problem = scan_untrusted_json(payload, doc)) {
    return validation_error{"payload " + problem->message};
  }
  if (doc.root_type != value_t::object) {
    return validation_error{std::string("payload must be a JSON object, not ") +
                            type_name(doc.root_type)};
  }

  event ev;

  if (!doc.event.present()) return missing("event");
  if (!doc.event.is_string() || !is_event_type(doc.event.text)) {
    return validation_error{
        "field 'event' must be a string of dot-separated lowercase segments, like "
        "account.connection.created",
        "event"};
  }
  ev.type = std::move(doc.event.text);

  if (auto error = read_uuid(doc.accountid, "accountid", ev.accountid)) return *error;
  if (auto error = read_uuid(doc.consumerid, "consumerid", ev.consumerid)) return *error;

  const member_value& created = doc.created;
  if (!created.present()) return missing("created");
  // A value near int64 max overflowed the "* 1000" of the history and pinned a
  // connection's status; the bound is the end of what RFC 3339 can write.
  const bool created_ok = created.type == value_t::number_unsigned
                              ? created.unsigned_integer <= static_cast<std::uint64_t>(max_created)
                              : created.type == value_t::number_integer && created.integer >= 0 &&
                                    created.integer <= max_created;
  if (!created_ok) {
    return validation_error{"field 'created' must be an integer from 0 to " +
                                std::to_string(max_created) + " (unix seconds)",
                            "created"};
  }
  ev.created = created.type == value_t::number_unsigned
                   ? static_cast<std::int64_t>(created.unsigned_integer)
                   : created.integer;

  const bool has_id = doc.id.present();
  if (has_id) {
    // A null id is refused rather than treated as absent: splicing our own "id" in would
    // leave the body with two "id" members that receivers could read differently.
    if (!doc.id.is_string() || !is_event_id(doc.id.text)) {
      return validation_error{
          "field 'id' must be a string of 1 to 128 letters, digits, '_', '.', ':' or '-'", "id"};
    }
    ev.id = std::move(doc.id.text);
  } else {
    ev.id.reserve(4 + entry_id.size());
    ev.id.append("evt_").append(entry_id);
  }

  const bool connection_event = ev.type.starts_with("account.connection.");

  // connectionid and status have a contract type wherever they appear; null counts as
  // absent so producers that always emit the key are not refused on other event types.
  const bool has_connection = doc.connectionid.present() && !doc.connectionid.is_null();
  if (has_connection) {
    if (auto error = read_uuid(doc.connectionid, "connectionid", ev.connectionid)) return *error;
  } else if (connection_event) {
    return missing("connectionid");
  }

  const bool status_required =
      connection_event && (ev.type.ends_with(".created") || ev.type.ends_with(".updated"));
  // On a connection event the contract allows a status absent or one of the two: a null
  // one is refused, not read as absent (tests/corpus: status_null_on_deleted).
  const bool has_status = doc.status.present() && !(doc.status.is_null() && !connection_event);
  if (has_status) {
    if (!doc.status.is_string() || (doc.status.text != "active" && doc.status.text != "inactive")) {
      return validation_error{"field 'status' must be \"active\" or \"inactive\"", "status"};
    }
    ev.status = std::move(doc.status.text);
  } else if (status_required) {
    return missing("status");
  }

  ev.body = has_id ? std::string(payload) : insert_id(payload, ev.id);
  return ev;
}

std::string api_entry_id() {
  return "api_" + random_id(20);
}

}  // namespace dispatcher::ingest
