// Validation of stream payloads (CONTRACT section 1). The parsed JSON is only read, never
// written back: receivers verify signatures over the producer's exact bytes, so the body is
// the payload itself, with at most an "id" member spliced in after the opening brace.
#include "dispatcher/ingest/event.hpp"

#include <nlohmann/json.hpp>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/random.hpp"

namespace dispatcher::ingest {

namespace {

using json = nlohmann::json;

const char* type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

validation_error missing(std::string_view field) {
  return {"field '" + std::string(field) + "' is required", std::string(field)};
}

// Reads a required UUID string member into `out`; an error message when it is not one.
std::optional<validation_error> read_uuid(const json& object, const char* field, std::string& out) {
  const auto it = object.find(field);
  if (it == object.end()) return missing(field);
  if (!it->is_string() || !is_uuid(it->get_ref<const std::string&>())) {
    return validation_error{"field '" + std::string(field) + "' must be a UUID string", field};
  }
  out = it->get<std::string>();
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
  const std::string member = "\"id\":" + json(id).dump();

  std::string body;
  body.reserve(payload.size() + member.size() + 1);
  body.append(payload.substr(0, brace + 1));
  body.append(member);
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
  // so a successful parse also proves the payload is valid UTF-8.
  auto parsed = parse_untrusted_json(payload);
  if (auto* problem = std::get_if<json_problem>(&parsed)) {
    return validation_error{"payload " + problem->message};
  }
  const json& doc = std::get<json>(parsed);
  if (!doc.is_object()) {
    return validation_error{std::string("payload must be a JSON object, not ") + type_name(doc)};
  }

  event ev;

  const auto type_it = doc.find("event");
  if (type_it == doc.end()) return missing("event");
  if (!type_it->is_string() || !is_event_type(type_it->get_ref<const std::string&>())) {
    return validation_error{
        "field 'event' must be a string of dot-separated lowercase segments, like "
        "account.connection.created",
        "event"};
  }
  ev.type = type_it->get<std::string>();

  if (auto error = read_uuid(doc, "accountid", ev.accountid)) return *error;
  if (auto error = read_uuid(doc, "consumerid", ev.consumerid)) return *error;

  const auto created_it = doc.find("created");
  if (created_it == doc.end()) return missing("created");
  // A value near int64 max overflowed the "* 1000" of the history and pinned a
  // connection's status; the bound is the end of what RFC 3339 can write.
  const bool created_ok =
      created_it->is_number_integer() &&
      (created_it->is_number_unsigned()
           ? created_it->get<std::uint64_t>() <= static_cast<std::uint64_t>(max_created)
           : created_it->get<std::int64_t>() >= 0 &&
                 created_it->get<std::int64_t>() <= max_created);
  if (!created_ok) {
    return validation_error{"field 'created' must be an integer from 0 to " +
                                std::to_string(max_created) + " (unix seconds)",
                            "created"};
  }
  ev.created = created_it->get<std::int64_t>();

  const auto id_it = doc.find("id");
  const bool has_id = id_it != doc.end();
  if (has_id) {
    // A null id is refused rather than treated as absent: splicing our own "id" in would
    // leave the body with two "id" members that receivers could read differently.
    if (!id_it->is_string() || !is_event_id(id_it->get_ref<const std::string&>())) {
      return validation_error{
          "field 'id' must be a string of 1 to 128 letters, digits, '_', '.', ':' or '-'", "id"};
    }
    ev.id = id_it->get<std::string>();
  } else {
    ev.id = "evt_" + std::string(entry_id);
  }

  const bool connection_event = ev.type.starts_with("account.connection.");

  // connectionid and status have a contract type wherever they appear; null counts as
  // absent so producers that always emit the key are not refused on other event types.
  const auto connection_it = doc.find("connectionid");
  const bool has_connection = connection_it != doc.end() && !connection_it->is_null();
  if (has_connection) {
    if (auto error = read_uuid(doc, "connectionid", ev.connectionid)) return *error;
  } else if (connection_event) {
    return missing("connectionid");
  }

  const bool status_required =
      connection_event && (ev.type.ends_with(".created") || ev.type.ends_with(".updated"));
  const auto status_it = doc.find("status");
  // On a connection event the contract allows a status absent or one of the two: a null
  // one is refused, not read as absent (tests/corpus: status_null_on_deleted).
  const bool has_status = status_it != doc.end() && !(status_it->is_null() && !connection_event);
  if (has_status) {
    if (!status_it->is_string() || (status_it->get_ref<const std::string&>() != "active" &&
                                    status_it->get_ref<const std::string&>() != "inactive")) {
      return validation_error{"field 'status' must be \"active\" or \"inactive\"", "status"};
    }
    ev.status = status_it->get<std::string>();
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
