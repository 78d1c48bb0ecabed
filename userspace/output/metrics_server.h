// SPDX-License-Identifier: Apache-2.0
#pragma once

// The pull endpoint for Prometheus, served by libmicrohttpd on a thread of
// its own. The socket is bound first (listen(): before trace loads anything,
// so a port in use stops it early), the thread started later (serve(): after
// trace has dropped its capabilities, which only a single thread can do). Every pod on the node can reach it, so it does one thing: GET
// (or HEAD) /metrics answers the page last published, / points there,
// anything else is 404 and any other method 405. Connections, their memory
// (which bounds a request's headers) and their time are bounded, and the
// tracer's loop never waits for a client: it hands over a rendered page
// under a mutex, and the server thread copies that page under the same
// mutex.

#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "util/result.h"

struct MHD_Daemon;

namespace mountleak {

// --metrics' argument: "PORT" or ":PORT" (127.0.0.1), "IPv4:PORT" or
// "[IPv6]:PORT". Only numeric addresses: no name is looked up.
struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // as shown to the operator: "127.0.0.1:9745", "[::1]:9745"
};
Result<ListenAddress> parse_listen_address(std::string_view spec);

// What the server allows; the defaults are what trace uses.
struct MetricsServerLimits {
  unsigned max_connections = 16;
  unsigned max_connections_per_ip = 4;
  unsigned timeout_seconds = 10;          // a connection idle this long is closed
  size_t connection_memory = 32 * 1024;  // headers and request line must fit
};

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> listen(const ListenAddress& address);
  // Starts answering on the socket bound by listen().
  Status serve(const MetricsServerLimits& limits = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The page GET /metrics returns from now on.
  void publish(std::string page);
  // The port listened on (the one asked for, or the kernel's pick for 0).
  uint16_t port() const;
  // A copy of the page published last (the server thread serves it).
  std::string page() const;

 private:
  MetricsServer() = default;

  int listen_fd_ = -1;  // until serve() hands it to libmicrohttpd
  std::string address_text_;
  uint16_t port_ = 0;
  MHD_Daemon* daemon_ = nullptr;
  mutable std::mutex mu_;
  std::string page_;
};

}  // namespace mountleak
