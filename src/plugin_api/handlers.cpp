#include "plugin_api/handlers.hpp"

#include <chrono>
#include <exception>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <holdfast/error.hpp>

#include "plugin_api/messages.hpp"
#include "volume/volume_manager.hpp"

namespace holdfast {

namespace {

using Json = nlohmann::json;

// Replies never fail to serialise: text from commands or libraries may hold
// invalid UTF-8, which is replaced rather than thrown on.
std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Appends `text` as a JSON string. Names and paths are plain ASCII in
// practice and are copied as they are; anything else goes through
// nlohmann's serializer (escapes, invalid UTF-8 replaced).
void append_json_string(std::string& out, const std::string& text) {
  bool plain = true;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += dump(Json(text));
  }
}

Reply ok(Json body) {
  body["Err"] = "";
  return Reply{200, dump(body)};
}

// Mount IDs are 64 hex digits; the first 12 identify them in logs, as
// docker's short IDs do.
std::string short_id(const std::string& id) {
  return id.size() > 12 ? id.substr(0, 12) : id;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 408: return "request timeout";
    case 413: return "request body larger than 1 MiB";
    case 414: return "request URI too long";
    case 416: return "range not satisfiable";
    case 417: return "expectation failed";
    case 431: return "request headers too large";
    case 501: return "not implemented";
    default: return status >= 500 ? "internal error" : "invalid request";
  }
}

// "create", "remove", "mount", "unmount": the audit log's call names.
std::string audit_call_name(Endpoint endpoint) {
  std::string_view name = endpoint_name(endpoint);
  name.remove_prefix(name.find('.') + 1);
  std::string out(name);
  for (char& c : out) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

// Error texts quote what the client sent (a rejected option value, a name)
// and what commands printed. A control character in them would let a
// client break or forge lines of the daemon's log, and garble the Err the
// engine shows: each one becomes \xNN (backends are asked to quote values
// safely themselves; this is the one place that guarantees it).
std::string one_line(std::string text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

struct CallLog {
  std::string volume;
  std::string id;
  bool decoded = false;
};

}  // namespace

std::string error_body(std::string_view message) {
  Json body = Json::object();
  body["Err"] = std::string(message);
  return dump(body);
}

PluginApi::PluginApi(VolumeManager& manager, PluginMetrics& metrics, AuditLog* audit)
    : m_manager(manager), m_metrics(metrics), m_audit(audit) {}

Reply PluginApi::handle(std::string_view method, std::string_view path, std::string_view body) {
  std::optional<Endpoint> found = find_endpoint(path);
  if (!found) {
    m_metrics.record_unrouted();
    spdlog::debug("{} {}: unknown endpoint (404)", method, path);
    return Reply{404, error_body(fmt::format("unknown endpoint {:?}: holdfast implements /Plugin.Activate and "
                                             "/VolumeDriver.{{Create,Remove,Mount,Unmount,Path,Get,List,Capabilities}}",
                                             path))};
  }
  const Endpoint endpoint = *found;
  if (method != "POST") {
    m_metrics.record_unrouted();
    spdlog::debug("{} {}: method not allowed (405)", method, path);
    return Reply{405, error_body(fmt::format("method {} not allowed for {}; the plugin API uses POST", method, path))};
  }

  const auto start = std::chrono::steady_clock::now();
  CallLog call;
  Reply reply;
  std::string error;
  bool internal = false;  // a bug or an unclassified failure: always logged loudly
  // The one place where failures become Docker's Err.
  try {
    switch (endpoint) {
      case Endpoint::activate: {
        decode_no_arguments(endpoint, body);
        call.decoded = true;
        reply = ok(Json{{"Implements", Json::array({"VolumeDriver"})}});
        break;
      }
      case Endpoint::create: {
        CreateRequest request = decode_create(body);
        call.volume = request.name;
        call.decoded = true;
        m_manager.create(request.name, request.options);
        reply = ok(Json::object());
        break;
      }
      case Endpoint::remove: {
        NameRequest request = decode_name(endpoint, body);
        call.volume = request.name;
        call.decoded = true;
        m_manager.remove(request.name);
        reply = ok(Json::object());
        break;
      }
      case Endpoint::mount: {
        MountRequest request = decode_mount(endpoint, body);
        call.volume = request.name;
        call.id = request.id;
        call.decoded = true;
        std::string mountpoint = m_manager.mount(request.name, request.id);
        reply = ok(Json{{"Mountpoint", std::move(mountpoint)}});
        break;
      }
      case Endpoint::unmount: {
        MountRequest request = decode_mount(endpoint, body);
        call.volume = request.name;
        call.id = request.id;
        call.decoded = true;
        m_manager.unmount(request.name, request.id);
        reply = ok(Json::object());
        break;
      }
      case Endpoint::path: {
        NameRequest request = decode_name(endpoint, body);
        call.volume = request.name;
        call.decoded = true;
        reply = ok(Json{{"Mountpoint", m_manager.path(request.name)}});
        break;
      }
      case Endpoint::get: {
        NameRequest request = decode_name(endpoint, body);
        call.volume = request.name;
        call.decoded = true;
        VolumeInfo info = m_manager.get(request.name);
        // The engine uses the returned Name as the volume's name: echo the
        // request exactly.
        Json volume{{"Name", request.name}, {"Mountpoint", std::move(info.mountpoint)}};
        if (info.created_at) {
          volume["CreatedAt"] = std::move(*info.created_at);
        }
        volume["Status"] = info.status.is_object() ? std::move(info.status) : Json::object();
        reply = ok(Json{{"Volume", std::move(volume)}});
        break;
      }
      case Endpoint::list: {
        decode_no_arguments(endpoint, body);
        call.decoded = true;
        // Written straight into the reply: a JSON tree of 10,000 entries
        // costs more than the manager's own work.
        std::vector<VolumeInfo> volumes = m_manager.list();
        std::string out = R"({"Err":"","Volumes":[)";
        out.reserve(out.size() + volumes.size() * 64);
        bool first = true;
        for (const VolumeInfo& info : volumes) {
          out += first ? R"({"Name":)" : R"(,{"Name":)";
          first = false;
          append_json_string(out, info.name);
          out += R"(,"Mountpoint":)";
          append_json_string(out, info.mountpoint);
          out += '}';
        }
        out += "]}";
        reply = Reply{200, std::move(out)};
        break;
      }
      case Endpoint::capabilities: {
        decode_no_arguments(endpoint, body);
        call.decoded = true;
        const char* scope = m_manager.scope() == Scope::global ? "global" : "local";
        reply = ok(Json{{"Capabilities", Json{{"Scope", scope}}}});
        break;
      }
    }
  } catch (const Error& e) {
    // Before decoding succeeded the request itself is at fault.
    error = one_line(e.what());
    reply = Reply{call.decoded ? 500 : 400, error_body(error)};
  } catch (const std::exception& e) {
    error = one_line(std::string("internal error: ") + e.what());
    internal = true;
    reply = Reply{500, error_body(error)};
  } catch (...) {
    error = "internal error";
    internal = true;
    reply = Reply{500, error_body(error)};
  }

  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  m_metrics.record(endpoint, !error.empty(), elapsed);
  if (m_audit != nullptr && is_mutating(endpoint)) {
    AuditEntry entry;
    entry.source = "plugin";
    entry.call = audit_call_name(endpoint);
    entry.volume = call.volume;
    entry.mount_id = call.id;
    entry.error = error;
    entry.duration = elapsed;
    m_audit->write(entry);
  }

  const double ms = static_cast<double>(elapsed.count()) / 1000.0;
  std::string subject;
  if (!call.volume.empty()) {
    subject = fmt::format(" volume={:?}", call.volume);
  }
  if (!call.id.empty()) {
    subject += fmt::format(" id={:?}", short_id(call.id));
  }
  const bool loud = is_mutating(endpoint) || endpoint == Endpoint::activate;
  if (error.empty()) {
    spdlog::log(loud ? spdlog::level::info : spdlog::level::debug, "{}{} {:.1f}ms ok", endpoint_name(endpoint),
                subject, ms);
  } else {
    auto level = internal ? spdlog::level::err : (loud ? spdlog::level::warn : spdlog::level::debug);
    spdlog::log(level, "{}{} {:.1f}ms error ({}): {}", endpoint_name(endpoint), subject, ms, reply.status, error);
  }
  return reply;
}

void PluginApi::install(httplib::Server& server) {
  static const std::string k_content_type(k_reply_content_type);
  auto route = [this](const httplib::Request& request, httplib::Response& response) {
    Reply reply = handle(request.method, request.path, request.body);
    response.status = reply.status;
    response.body = std::move(reply.body);
    response.set_header("Content-Type", k_content_type);
    if (reply.status == 405) {
      response.set_header("Allow", "POST");
    }
  };
  // One catch-all per method: the route table is find_endpoint(), so that
  // a wrong method on a known path is a 405, not httplib's 404.
  const std::string any = ".*";
  server.Post(any, route);
  server.Get(any, route);
  server.Put(any, route);
  server.Patch(any, route);
  server.Delete(any, route);
  server.Options(any, route);

  // httplib's own failures (unparsable request line, body over the limit,
  // timeouts) come here with an empty body: give them an Err too.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    spdlog::debug("{} {}: rejected by the HTTP layer ({})", request.method, request.path, response.status);
    response.body = error_body(fmt::format("HTTP {}: {}", response.status, reason_phrase(response.status)));
    response.set_header("Content-Type", k_content_type);
    return httplib::Server::HandlerResponse::Handled;
  }));
  // handle() never throws; this covers httplib's own code around it.
  server.set_exception_handler(
      [](const httplib::Request& request, httplib::Response& response, std::exception_ptr failure) {
        std::string message = "internal error";
        try {
          if (failure) {
            std::rethrow_exception(failure);
          }
        } catch (const std::exception& e) {
          message += ": ";
          message += e.what();
        } catch (...) {
        }
        spdlog::error("{} {}: {}", request.method, request.path, message);
        response.status = 500;
        response.body = error_body(message);
        response.set_header("Content-Type", k_content_type);
      });
}

}  // namespace holdfast
