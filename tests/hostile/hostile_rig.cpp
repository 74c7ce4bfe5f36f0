#include "hostile/hostile_rig.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <chrono>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/backend_yaml.hpp"

namespace holdfast::test {

namespace {

using namespace std::chrono_literals;

std::string config_yaml(const TempDir& dir, int hole_port) {
  // refresh_interval: the maintenance thread would otherwise talk to the
  // black hole on its own and blur the "never reached the network" check.
  return "refresh_interval: 1440m\n"
         "backends:\n" +
         local_backend_yaml(dir.sub("volumes")) +
         nfs_backend_yaml("filer", hole_port, {"provision_timeout: 2s", "probe_timeout: 1s"}) +
         "  vg:\n"
         "    type: lvm\n"
         "    volume_group: hostile_vg_absent\n";
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool has_control_character(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Shows request bytes in a failure message without garbling it.
std::string shown(std::string_view bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < 160; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > 160) {
    out += "... (" + std::to_string(bytes.size()) + " bytes)";
  }
  return out;
}

// A daemon that stopped reading must not hang the test in send().
void bound_sends(const RawConnection& connection) {
  timeval limit{20, 0};
  ::setsockopt(connection.fd(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
}

}  // namespace

std::string raw_json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

HostileRig::HostileRig() : m_daemon(m_dir.path(), DaemonSettings{config_yaml(m_dir, m_hole.port()), "debug", {}}) {
  m_daemon.start();
  // The daemon's first refresh runs at start and talks to the black hole:
  // wait until it has given up (provision_timeout: 2s), so that the cases'
  // "never reached the network" checks count only what they cause.
  const auto give_up_by = std::chrono::steady_clock::now() + 20s;
  while (m_daemon.log().find("refresh: backend \"filer\"") == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < give_up_by);
    std::this_thread::sleep_for(50ms);
  }
  m_hole_baseline = m_hole.accepted();
  SocketClient client(m_daemon.socket_path(), 10s);
  auto created = client.post("/VolumeDriver.Create", R"({"Name":"keep","Opts":{"mode":"0750"}})");
  REQUIRE(created.status == 200);
  auto mounted = client.post("/VolumeDriver.Mount", R"({"Name":"keep","ID":"m1"})");
  REQUIRE(mounted.status == 200);
}

Footprint HostileRig::footprint() const {
  return capture_footprint({m_daemon.state_dir(), volumes_dir(), m_daemon.mount_root()}, m_dir.path());
}

void HostileRig::expect_unharmed(const std::string& label, const Footprint& before) {
  INFO("case: " << label);
  REQUIRE(m_daemon.running());
  SocketClient client(m_daemon.socket_path(), 10s);
  auto listed = client.try_post("/VolumeDriver.List", "{}");
  REQUIRE(listed);
  CHECK(listed->status == 200);
  auto body = nlohmann::json::parse(listed->body, nullptr, false);
  CHECK((body.is_object() && body.value("Err", "x").empty()));
  Footprint after = footprint();
  INFO("changed on disk or in the mount table:\n" << before.diff(after));
  CHECK(after == before);
  // The audit log grows with refused calls too, one JSON object per line:
  // a hostile name must not be able to forge or break a line.
  std::ifstream audit(m_daemon.state_dir() + "/audit.log");
  std::string line;
  while (std::getline(audit, line)) {
    INFO("audit line: " << shown(line));
    CHECK(nlohmann::json::parse(line, nullptr, false).is_object());
  }
}

void HostileRig::refuse_api(const ApiCase& c) {
  ++m_cases;
  INFO("case: " << c.label << " -- POST " << c.endpoint << " " << shown(c.body));
  Footprint before = footprint();
  // A plain socket rather than libcurl: for a body over the limit the
  // daemon answers 413 and stops reading, which libcurl reports as a send
  // error instead of the answer.
  std::optional<HttpReply> reply;
  {
    RawConnection connection(m_daemon.socket_path());
    bound_sends(connection);
    (void)connection.send("POST " + c.endpoint +
                          " HTTP/1.1\r\nHost: plugin\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n"
                          "Content-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" + c.body);
    reply = connection.read_reply(10s);
  }
  REQUIRE(reply);  // answered, not a dropped connection or a hang
  CHECK(reply->status >= 400);
  auto body = nlohmann::json::parse(reply->body, nullptr, false);
  REQUIRE(body.is_object());
  auto err = body.find("Err");
  REQUIRE(err != body.end());
  REQUIRE(err->is_string());
  const std::string text = err->get<std::string>();
  INFO("Err: " << shown(text));
  CHECK_FALSE(text.empty());
  CHECK_FALSE(has_control_character(text));
  CHECK(text.size() <= 2048);
  for (const auto& word : c.mentions) {
    CHECK_THAT(lower(text), Catch::Contains(lower(word)));
  }
  expect_unharmed(c.label, before);
}

void HostileRig::refuse_raw(const std::string& label, std::string_view bytes, bool tolerated) {
  ++m_cases;
  INFO("case: " << label << " -- " << shown(bytes));
  Footprint before = footprint();
  {
    RawConnection connection(m_daemon.socket_path());
    bound_sends(connection);
    (void)connection.send(bytes);  // the daemon may stop reading (and close) early
    connection.shutdown_write();
    auto reply = connection.read_reply(10s);
    while (reply && reply->status >= 100 && reply->status < 200) {
      reply = connection.read_reply(10s);  // "100 Continue": the real answer follows
    }
    if (reply) {
      INFO("status " << reply->status << ", body " << shown(reply->body));
      if (tolerated && reply->status == 200) {
        auto body = nlohmann::json::parse(reply->body, nullptr, false);
        CHECK((body.is_object() && body.value("Err", "x").empty()));
      } else {
        CHECK(reply->status >= 400);
        CHECK(reply->status < 600);
      }
    } else {
      // No reply: the connection must have been closed, not left hanging.
      CHECK(connection.closed_by_peer(10s));
    }
  }
  expect_unharmed(label, before);
}

}  // namespace holdfast::test
