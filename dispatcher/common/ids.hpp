// The grammars of the identifiers the contract names: event types and filters of them,
// event ids, UUIDs and Redis stream entry ids. Ingest validates events with them, routing
// endpoint filters and consumer lists, history the delivery list's filters, the admin API
// path and query values: one definition here, below all of them, so they agree and none
// reaches into another's folder.
#pragma once

#include <string_view>

namespace dispatcher {

/// True for event ids as the contract allows them: ^[A-Za-z0-9_.:-]{1,128}$. The assigned
/// forms, evt_<stream entry id> and api_<random>, fit it too.
bool is_event_id(std::string_view text);

/// True for Redis stream entry ids as XADD * makes them: <ms>-<seq>, both decimal, each
/// within 64 bits. Ids from a path are checked with it before they reach a command.
bool is_stream_id(std::string_view text);

/// True for 8-4-4-4-12 hexadecimal UUID strings (either case).
bool is_uuid(std::string_view text);

/// True for event type names: ^[a-z0-9_]+(\.[a-z0-9_]+)+$ (at least two dot-separated
/// segments). Events and endpoint filters share it, so they agree on the grammar.
bool is_event_type(std::string_view text);

/// An event filter: an exact type, or a prefix of one or more segments followed by ".*"
/// (`account.connection.*`). Endpoints and the delivery list share this grammar.
bool is_event_filter(std::string_view filter);
/// Whether an event type passes one such filter.
bool event_filter_matches(std::string_view filter, std::string_view event_type);

}  // namespace dispatcher
