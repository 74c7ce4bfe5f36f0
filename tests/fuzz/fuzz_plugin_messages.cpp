// Fuzz target: the plugin protocol's request bodies
// (src/plugin_api/messages.cpp), as every decoder sees them, and the error
// replies built from what they reject.
//
// Contract checked (messages.hpp, handlers.hpp): decoders throw only
// holdfast::Error; a decoded request has the non-empty fields the endpoint
// needs; json_depth() never undercounts a document the decoders accept; the
// {"Err": ...} reply made from any decoder error is a JSON object.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <holdfast/error.hpp>

#include "fuzz_check.hpp"
#include "plugin_api/handlers.hpp"
#include "plugin_api/messages.hpp"

using holdfast::fuzz::fuzz_require;
using holdfast::Endpoint;

namespace {

void check_error_reply(const holdfast::Error& error) {
  const std::string body = holdfast::error_body(error.what());
  const auto reply = nlohmann::json::parse(body, nullptr, false);
  fuzz_require(reply.is_object() && reply.contains("Err") && reply["Err"].is_string(),
               "error reply is not a JSON object with Err");
}

// Runs one decoder; true if it accepted the body.
bool decodes(const std::function<void()>& decode) {
  try {
    decode();
    return true;
  } catch (const holdfast::Error& e) {
    check_error_reply(e);
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = holdfast::fuzz::as_text(data, size);

  bool accepted = decodes([&] {
    const auto request = holdfast::decode_create(body);
    fuzz_require(!request.name.empty(), "Create without a name accepted");
  });
  accepted = decodes([&] {
    const auto request = holdfast::decode_name(Endpoint::remove, body);
    fuzz_require(!request.name.empty(), "Remove without a name accepted");
  }) || accepted;
  accepted = decodes([&] {
    const auto request = holdfast::decode_mount(Endpoint::mount, body);
    fuzz_require(!request.name.empty() && !request.id.empty(), "Mount without a name or ID accepted");
  }) || accepted;
  accepted = decodes([&] { holdfast::decode_no_arguments(Endpoint::list, body); }) || accepted;

  if (accepted) {
    fuzz_require(holdfast::json_depth(body, holdfast::k_max_json_depth) <= holdfast::k_max_json_depth,
                 "a body nested deeper than the limit was accepted");
  }

  // The router: only exact paths are endpoints.
  if (const auto endpoint = holdfast::find_endpoint(body)) {
    fuzz_require(holdfast::endpoint_path(*endpoint) == body, "find_endpoint matched an inexact path");
  }
  return 0;
}
