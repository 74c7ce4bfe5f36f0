// The plugin API on a real unix socket, in process: UnixHttpServer +
// PluginApi + the real VolumeManager over a FakeBackend, driven by a libcurl
// client that talks like the engine, and by raw bytes for malformed HTTP.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "plugin_api/handlers.hpp"
#include "plugin_api/unix_http_server.hpp"
#include "support/fake_backend.hpp"
#include "support/fake_mounter.hpp"
#include "support/socket_client.hpp"
#include "support/temp_dir.hpp"
#include "volume/backend_set.hpp"
#include "volume/state_store.hpp"
#include "volume/volume_manager.hpp"

using namespace std::chrono_literals;
using holdfast::test::FakeBackend;
using holdfast::test::FakeOp;
using holdfast::test::HttpReply;
using holdfast::test::RawConnection;
using holdfast::test::SocketClient;
using Json = nlohmann::json;

namespace {

constexpr const char* k_type = "application/vnd.docker.plugins.v1.2+json";

holdfast::Config test_config(const holdfast::test::TempDir& dir) {
  holdfast::Config config = holdfast::default_config();
  config.state_dir = dir.sub("state");
  config.mount_root = dir.sub("mounts");
  config.socket_path = dir.sub("run/plugin.sock");
  config.default_backend = "fake";
  config.deadlines.volume_lock = 2s;
  return config;
}

std::map<std::string, std::unique_ptr<holdfast::Backend>> one_backend(FakeBackend*& out) {
  auto fake = std::make_unique<FakeBackend>();
  out = fake.get();
  std::map<std::string, std::unique_ptr<holdfast::Backend>> map;
  map.emplace("fake", std::move(fake));
  return map;
}

// One plugin server on <tmp>/run/plugin.sock, serving on its own thread.
struct PluginServer {
  holdfast::test::TempDir dir;
  holdfast::Config config = test_config(dir);
  holdfast::test::FakeMounter mounter;
  FakeBackend* fake = nullptr;
  holdfast::BackendSet backends{one_backend(fake), "fake"};
  holdfast::StateStore store{config.state_dir};
  holdfast::VolumeManager manager{backends, store, mounter, config};
  holdfast::PluginMetrics metrics;
  holdfast::PluginApi api{manager, metrics};
  std::unique_ptr<holdfast::UnixHttpServer> server;
  std::thread thread;

  PluginServer() {
    holdfast::UnixHttpServerOptions options;
    options.socket_path = config.socket_path;
    options.accept_socket_activation = false;
    options.keep_alive_timeout = 60s;
    server = std::make_unique<holdfast::UnixHttpServer>(options);
    api.install(*server);
    server->open();
    manager.start();
    thread = std::thread([this] { server->serve(); });
  }
  ~PluginServer() {
    fake->unblock(FakeOp::attach);
    server->stop_serving();
    thread.join();
  }
  const std::string& socket() const { return config.socket_path; }
};

Json body_of(const HttpReply& reply) {
  INFO("body: " << reply.body);
  REQUIRE(reply.content_type == k_type);
  Json json = Json::parse(reply.body);
  REQUIRE(json.is_object());
  REQUIRE(json.contains("Err"));
  REQUIRE(json["Err"].is_string());
  return json;
}

// A success: HTTP 200, Err "".
Json ok(const HttpReply& reply) {
  INFO("status " << reply.status << " body " << reply.body);
  CHECK(reply.status == 200);
  Json json = body_of(reply);
  CHECK(json["Err"] == "");
  return json;
}

// An error: the status and a non-empty Err.
std::string err(const HttpReply& reply, long status) {
  INFO("body " << reply.body);
  CHECK(reply.status == status);
  Json json = body_of(reply);
  std::string text = json["Err"];
  CHECK_FALSE(text.empty());
  return text;
}

}  // namespace

TEST_CASE("every endpoint answers the engine's requests", "[protocol][handlers]") {
  PluginServer s;
  SocketClient client(s.socket());

  SECTION("Activate with an empty body") {
    Json reply = ok(client.post("/Plugin.Activate", ""));
    CHECK(reply["Implements"] == Json::array({"VolumeDriver"}));
  }
  SECTION("Capabilities: local scope for a local backend") {
    Json reply = ok(client.post("/VolumeDriver.Capabilities", "{}"));
    CHECK(reply["Capabilities"]["Scope"] == "local");
  }
  SECTION("full life cycle: Create, Get, List, Mount, Path, Unmount, Remove") {
    ok(client.post("/VolumeDriver.Create", R"({"Name":"v1","Opts":{"size":"1G"}})"));
    ok(client.post("/VolumeDriver.Create", "{\"Name\":\"v2\",\"Opts\":null}\n"));
    ok(client.post("/VolumeDriver.Create", R"({"Name":"v3"})"));
    ok(client.post("/VolumeDriver.Create", R"({"Name":"v4","Opts":{}})"));

    Json get = ok(client.post("/VolumeDriver.Get", R"({"Name":"v1"})"));
    CHECK(get["Volume"]["Name"] == "v1");
    CHECK(get["Volume"]["Mountpoint"] == "");
    CHECK(get["Volume"]["Status"].is_object());
    if (get["Volume"].contains("CreatedAt")) {
      std::string created = get["Volume"]["CreatedAt"];
      CHECK_THAT(created, Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))"));
    }

    Json list = ok(client.post("/VolumeDriver.List", "{}"));
    REQUIRE(list["Volumes"].size() == 4);
    for (const auto& v : list["Volumes"]) {
      CHECK(v.contains("Name"));
      CHECK(v.contains("Mountpoint"));
    }

    Json mount = ok(client.post("/VolumeDriver.Mount", R"({"Name":"v1","ID":"aaaa"})"));
    std::string mountpoint = mount["Mountpoint"];
    CHECK_FALSE(mountpoint.empty());
    CHECK(ok(client.post("/VolumeDriver.Path", R"({"Name":"v1"})"))["Mountpoint"] == mountpoint);
    CHECK(ok(client.post("/VolumeDriver.Get", R"({"Name":"v1"})"))["Volume"]["Mountpoint"] == mountpoint);
    CHECK(s.fake->calls(FakeOp::attach) == 1);

    // Remove while mounted: refused with the manager's error as Err.
    std::string busy = err(client.post("/VolumeDriver.Remove", R"({"Name":"v1"})"), 500);
    CHECK_THAT(busy, Catch::Contains("v1"));

    ok(client.post("/VolumeDriver.Unmount", R"({"Name":"v1","ID":"aaaa"})"));
    CHECK(s.fake->calls(FakeOp::detach) == 1);
    CHECK(ok(client.post("/VolumeDriver.Path", R"({"Name":"v1"})"))["Mountpoint"] == "");
    ok(client.post("/VolumeDriver.Remove", R"({"Name":"v1"})"));
    std::string missing = err(client.post("/VolumeDriver.Get", R"({"Name":"v1"})"), 500);
    CHECK_THAT(missing, Catch::Contains("v1"));
    CHECK(ok(client.post("/VolumeDriver.List", "{}"))["Volumes"].size() == 3);
  }
  SECTION("Get echoes the requested name exactly, escapes decoded") {
    ok(client.post("/VolumeDriver.Create", R"({"Name":"data.db-1_x"})"));
    Json get = ok(client.post("/VolumeDriver.Get", R"({"Name":"data\u002edb-1_x"})"));
    CHECK(get["Volume"]["Name"] == "data.db-1_x");
  }
  SECTION("the same mount ID twice needs two Unmounts") {
    ok(client.post("/VolumeDriver.Create", R"({"Name":"v"})"));
    ok(client.post("/VolumeDriver.Mount", R"({"Name":"v","ID":"dup"})"));
    ok(client.post("/VolumeDriver.Mount", R"({"Name":"v","ID":"dup"})"));
    ok(client.post("/VolumeDriver.Unmount", R"({"Name":"v","ID":"dup"})"));
    CHECK(s.fake->calls(FakeOp::detach) == 0);
    ok(client.post("/VolumeDriver.Unmount", R"({"Name":"v","ID":"dup"})"));
    CHECK(s.fake->calls(FakeOp::detach) == 1);
    // An unknown ID unmounts successfully.
    ok(client.post("/VolumeDriver.Unmount", R"({"Name":"v","ID":"never-mounted"})"));
  }
  SECTION("backend errors become HTTP 500 with the message as Err") {
    s.fake->fail(FakeOp::provision, holdfast::unavailable("server 10.0.0.1 refused the connection"), 1);
    std::string text = err(client.post("/VolumeDriver.Create", R"({"Name":"v9"})"), 500);
    CHECK_THAT(text, Catch::Contains("v9") && Catch::Contains("refused the connection"));
    // The next call works: nothing stuck.
    ok(client.post("/VolumeDriver.Create", R"({"Name":"v9"})"));
  }
  SECTION("invalid names are refused by the manager with 500 and say why") {
    std::string text = err(client.post("/VolumeDriver.Create", R"({"Name":"../etc"})"), 500);
    CHECK_THAT(text, Catch::Contains("name"));
    err(client.post("/VolumeDriver.Create", R"({"Name":"a/b"})"), 500);
  }
  SECTION("an unknown option is refused and the accepted ones listed") {
    std::string text = err(client.post("/VolumeDriver.Create", R"({"Name":"v","Opts":{"sise":"1"}})"), 500);
    CHECK_THAT(text, Catch::Contains("sise") && Catch::Contains("size"));
  }
}

TEST_CASE("malformed requests get 400 with an Err naming the endpoint", "[protocol][handlers]") {
  PluginServer s;
  SocketClient client(s.socket());
  struct Case {
    const char* path;
    const char* body;
    const char* expect;
  };
  const Case cases[] = {
      {"/VolumeDriver.Create", "", "empty body"},
      {"/VolumeDriver.Create", "{}", "Name"},
      {"/VolumeDriver.Create", R"({"Name":""})", "Name"},
      {"/VolumeDriver.Create", R"({"Name":7})", "Name"},
      {"/VolumeDriver.Create", R"({"Name":"v","Opts":{"a":1}})", "\"a\""},
      {"/VolumeDriver.Create", R"({"Name":"v","Opts":"a=b"})", "Opts"},
      {"/VolumeDriver.Remove", "", "empty body"},
      {"/VolumeDriver.Mount", R"({"Name":"v"})", "ID"},
      {"/VolumeDriver.Unmount", R"({"ID":"x"})", "Name"},
      {"/VolumeDriver.Get", "{\"Name\":", "invalid JSON"},
      {"/VolumeDriver.Get", "[\"v1\"]", "JSON object"},
      {"/VolumeDriver.Path", "null", "JSON object"},
      {"/VolumeDriver.List", "[]", "JSON object"},
      {"/VolumeDriver.Capabilities", "nope", "invalid JSON"},
  };
  for (const auto& c : cases) {
    INFO(c.path << " " << c.body);
    std::string text = err(client.post(c.path, c.body), 400);
    CHECK_THAT(text, Catch::Contains(std::string(c.path).substr(1)) && Catch::Contains(c.expect));
  }
  // Nothing was created by any of them, and the connection still serves.
  CHECK(s.fake->calls(FakeOp::provision) == 0);
  CHECK(ok(client.post("/VolumeDriver.List", "{}"))["Volumes"].empty());
  CHECK(client.connections() == 1);
  CHECK(s.metrics.counters(holdfast::Endpoint::create).errors == 6);
}

// Regression: backends quoted a rejected option value as it came ("1\n2"),
// so a client could put line breaks and escape sequences into the Err and
// forge lines in the daemon's log.
TEST_CASE("control characters in an error never reach the Err or the log raw", "[protocol][handlers]") {
  PluginServer s;
  s.fake->set_validator([](const holdfast::Options& options) {
    throw holdfast::invalid_argument("option mode: bad value \"" + options.at("mode") + "\"");
  });
  SocketClient client(s.socket());
  std::string text = err(client.post("/VolumeDriver.Create", R"({"Name":"v","Opts":{"mode":"1\n2\u001b[31m\t"}})"), 500);
  CHECK(text.find_first_of(std::string("\n\x1b\t", 3)) == std::string::npos);
  CHECK_THAT(text, Catch::Contains(R"(1\x0a2\x1b[31m\x09)"));
}

TEST_CASE("unknown paths get 404 and other methods 405, with a JSON Err", "[protocol][handlers]") {
  PluginServer s;
  SocketClient client(s.socket());
  std::string text = err(client.post("/VolumeDriver.Snapshot", "{}"), 404);
  CHECK_THAT(text, Catch::Contains("/VolumeDriver.Snapshot"));
  err(client.post("/", ""), 404);
  err(client.post("/volumedriver.get", R"({"Name":"v"})"), 404);

  for (const char* method : {"GET", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    INFO(method);
    HttpReply reply = client.request(method, "/VolumeDriver.Get", R"({"Name":"v"})");
    std::string message = err(reply, 405);
    CHECK_THAT(message, Catch::Contains(method) && Catch::Contains("POST"));
    CHECK(reply.headers["allow"] == "POST");
  }
  err(client.request("GET", "/metrics", ""), 404);
  CHECK(s.metrics.unrouted() == 9);
  // Still serving, same connection.
  ok(client.post("/Plugin.Activate", ""));
  CHECK(client.connections() == 1);
}

TEST_CASE("Host and Content-Type are not checked", "[protocol][handlers]") {
  PluginServer s;
  // What a 20.10 engine sends: the socket path as Host, and no Content-Type.
  auto reply = holdfast::test::raw_exchange(
      s.socket(),
      "POST /VolumeDriver.Capabilities HTTP/1.1\r\nHost: %2Frun%2Fdocker%2Fplugins%2Fholdfast.sock\r\n"
      "User-Agent: Go-http-client/1.1\r\nContent-Length: 3\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n"
      "Accept-Encoding: gzip\r\n\r\n{}\n");
  REQUIRE(reply);
  ok(*reply);
  auto typed = holdfast::test::raw_exchange(s.socket(),
                                            "POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain; "
                                            "charset=latin1\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(typed);
  ok(*typed);
}

TEST_CASE("a Range header is ignored: the reply is the whole JSON document", "[protocol][handlers]") {
  PluginServer s;
  // Found by fuzz_http_request: httplib sliced the reply to the range asked.
  auto reply = holdfast::test::raw_exchange(s.socket(),
                                            "POST /VolumeDriver.List HTTP/1.1\r\nHost: plugin\r\nContent-Length: 2\r\n"
                                            "Range: bytes=0-3\r\n\r\n{}");
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(ok(*reply)["Volumes"].is_array());
}

TEST_CASE("a body over 1 MiB is refused with 413 and the server keeps serving", "[protocol][handlers]") {
  PluginServer s;
  SocketClient client(s.socket());
  std::string huge = R"({"Name":"v","Opts":{"x":")" + std::string(1U << 20U, 'a') + "\"}}";
  HttpReply reply = client.post("/VolumeDriver.Create", huge);
  CHECK(reply.status == 413);
  Json json = Json::parse(reply.body);
  CHECK_THAT(json["Err"].get<std::string>(), Catch::Contains("1 MiB"));
  CHECK(s.fake->calls(FakeOp::provision) == 0);
  SocketClient again(s.socket());
  ok(again.post("/Plugin.Activate", ""));
  // Just under the limit is accepted (and fails on content, not size).
  std::string big = R"({"Name":"v","Opts":{"x":")" + std::string(1000 * 1000, 'a') + "\"}}";
  CHECK(again.post("/VolumeDriver.Create", big).status == 500);
}

TEST_CASE("malformed HTTP gets an error reply or a closed connection, never a crash", "[protocol][handlers]") {
  PluginServer s;
  SECTION("garbage request line") {
    auto reply = holdfast::test::raw_exchange(s.socket(), "HELLO\r\n\r\n", 5s);
    if (reply) {
      CHECK(reply->status == 400);
      CHECK(Json::parse(reply->body).contains("Err"));
    }
  }
  SECTION("unknown method") {
    auto reply = holdfast::test::raw_exchange(s.socket(), "BREW /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\n\r\n", 5s);
    if (reply) {
      CHECK(reply->status >= 400);
    }
  }
  SECTION("binary noise") {
    std::string noise;
    for (int i = 0; i < 4096; ++i) {
      noise.push_back(static_cast<char>((i * 7919) & 0xff));
    }
    RawConnection connection(s.socket());
    (void)connection.send(noise);
    (void)connection.read_reply(2s);
  }
  SECTION("Content-Length larger than what is sent, then the client hangs up") {
    RawConnection connection(s.socket());
    REQUIRE(connection.send("POST /VolumeDriver.Get HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"Na"));
    connection.shutdown_write();
    CHECK(connection.closed_by_peer(10s));
  }
  SECTION("a request split into single bytes") {
    RawConnection connection(s.socket());
    std::string request = "POST /Plugin.Activate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    for (char c : request) {
      REQUIRE(connection.send(std::string_view(&c, 1)));
    }
    auto reply = connection.read_reply(5s);
    REQUIRE(reply);
    ok(*reply);
  }
  SocketClient client(s.socket());
  ok(client.post("/Plugin.Activate", ""));
}

TEST_CASE("keep-alive: many requests on one connection", "[protocol][handlers]") {
  PluginServer s;
  SocketClient client(s.socket());
  ok(client.post("/VolumeDriver.Create", R"({"Name":"k"})"));
  for (int i = 0; i < 500; ++i) {
    Json get = ok(client.post("/VolumeDriver.Get", R"({"Name":"k"})"));
    REQUIRE(get["Volume"]["Name"] == "k");
  }
  CHECK(client.connections() == 1);

  // (No pipelining test: the engine never pipelines, and httplib 0.11
  // does not answer a second request already buffered with the first.)
}

TEST_CASE("concurrent connections are served in parallel", "[protocol][handlers]") {
  PluginServer s;
  constexpr int k_threads = 16;
  constexpr int k_per_thread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      SocketClient client(s.socket());
      for (int i = 0; i < k_per_thread; ++i) {
        std::string name = "c" + std::to_string(t) + "-" + std::to_string(i);
        auto create = client.post("/VolumeDriver.Create", R"({"Name":")" + name + "\"}");
        auto mount = client.post("/VolumeDriver.Mount", R"({"Name":")" + name + R"(","ID":"m"})");
        auto get = client.post("/VolumeDriver.Get", R"({"Name":")" + name + "\"}");
        if (create.status != 200 || mount.status != 200 || get.status != 200) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(failures == 0);
  SocketClient client(s.socket());
  CHECK(ok(client.post("/VolumeDriver.List", "{}"))["Volumes"].size() == k_threads * k_per_thread);
  CHECK(s.fake->calls(FakeOp::attach) == k_threads * k_per_thread);
}

TEST_CASE("Get, List and Path answer while Mounts are stuck in the backend", "[protocol][handlers]") {
  PluginServer s;
  SocketClient setup(s.socket());
  ok(setup.post("/VolumeDriver.Create", R"({"Name":"slow"})"));
  ok(setup.post("/VolumeDriver.Create", R"({"Name":"other"})"));
  auto gate = s.fake->block(FakeOp::attach);

  // More stuck Mounts than a fixed pool of 8 or 16 threads would survive.
  constexpr int k_stuck = 20;
  std::vector<std::future<HttpReply>> mounts;
  for (int i = 0; i < k_stuck; ++i) {
    mounts.push_back(std::async(std::launch::async, [&s, i] {
      SocketClient client(s.socket());
      std::string name = i == 0 ? "slow" : "slow" + std::to_string(i);
      if (i != 0) {
        (void)client.post("/VolumeDriver.Create", R"({"Name":")" + name + "\"}");
      }
      return client.post("/VolumeDriver.Mount", R"({"Name":")" + name + R"(","ID":"m1"})");
    }));
  }
  REQUIRE(gate->wait_arrivals(k_stuck, 10s));

  SocketClient reader(s.socket(), 5s);
  Json get = ok(reader.post("/VolumeDriver.Get", R"({"Name":"slow"})"));
  CHECK(get["Volume"]["Name"] == "slow");
  CHECK(ok(reader.post("/VolumeDriver.List", "{}"))["Volumes"].size() == k_stuck + 1);
  ok(reader.post("/VolumeDriver.Path", R"({"Name":"other"})"));
  ok(reader.post("/VolumeDriver.Capabilities", "{}"));
  // They were answered while every Mount was still inside the backend.
  CHECK(s.fake->in_flight(FakeOp::attach) == k_stuck);

  gate->open();
  for (auto& mount : mounts) {
    ok(mount.get());
  }
}

TEST_CASE("every reply is a JSON object, even for httplib's own errors", "[protocol][handlers]") {
  PluginServer s;
  std::string long_uri = "POST /" + std::string(10000, 'x') + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  auto reply = holdfast::test::raw_exchange(s.socket(), long_uri, 5s);
  if (reply) {
    CHECK(reply->status >= 400);
    CHECK(Json::parse(reply->body).is_object());
  }
}

TEST_CASE("List and Mount encode unusual mountpoints as valid JSON", "[protocol][handlers]") {
  PluginServer s;
  // A backend may hand out any path: quotes, backslashes, control and
  // non-ASCII characters must survive the hand-written List encoding.
  const std::string odd = "/mnt/w\xC3\xA9ird \"quoted\" back\\slash\ttab";
  // By value: the backend keeps the function beyond this scope (`odd` dies
  // before `s`), and its worker threads must not read a dead string (TSan).
  s.fake->set_attach_path([odd](const holdfast::VolumeRecord&, const std::string&) { return odd; });
  SocketClient client(s.socket());
  ok(client.post("/VolumeDriver.Create", R"({"Name":"odd"})"));
  ok(client.post("/VolumeDriver.Create", R"({"Name":"plain"})"));
  CHECK(ok(client.post("/VolumeDriver.Mount", R"({"Name":"odd","ID":"x"})"))["Mountpoint"] == odd);
  Json list = ok(client.post("/VolumeDriver.List", "{}"));
  REQUIRE(list["Volumes"].size() == 2);
  CHECK(list["Volumes"][0]["Name"] == "odd");
  CHECK(list["Volumes"][0]["Mountpoint"] == odd);
  CHECK(list["Volumes"][1]["Name"] == "plain");
  CHECK(list["Volumes"][1]["Mountpoint"] == "");
}
