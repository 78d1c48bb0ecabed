// SPDX-License-Identifier: Apache-2.0
#include "output/metrics_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <unistd.h>

#include <charconv>
#include <cstring>

namespace mountleak {

namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kIndex =
    "mountleak trace: Prometheus metrics are at /metrics\n";

Result<uint16_t> parse_port(std::string_view text, std::string_view spec) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || port == 0 || port > 65535)
    return Error{"--metrics " + std::string(spec) + ": the port must be a number from 1 to 65535", EINVAL};
  return static_cast<uint16_t>(port);
}

MHD_Result respond(MHD_Connection* connection, unsigned status, std::string_view body, const char* type,
                   const char* allow = nullptr) {
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  // Nothing here is for a browser to run or a proxy to keep.
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
  MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r;
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                      void** /*con_cls*/) {
  auto* server = static_cast<MetricsServer*>(cls);
  const bool get = std::strcmp(method, MHD_HTTP_METHOD_GET) == 0 || std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  // A body is never read: a request with one is answered (405) at its
  // headers and the connection closed, whatever it was going to send.
  if (!get || *upload_data_size != 0)
    return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain; charset=utf-8", "GET, HEAD");
  if (std::strcmp(url, "/metrics") == 0) return respond(connection, MHD_HTTP_OK, server->page(), kContentType);
  if (std::strcmp(url, "/") == 0) return respond(connection, MHD_HTTP_OK, kIndex, "text/plain; charset=utf-8");
  return respond(connection, MHD_HTTP_NOT_FOUND, "not found: see /metrics\n", "text/plain; charset=utf-8");
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view spec) {
  ListenAddress out;
  std::string host;
  std::string_view port_text;
  if (spec.empty()) return Error{"--metrics needs ADDR:PORT or PORT", EINVAL};
  if (spec.front() == '[') {
    const size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      return Error{"--metrics " + std::string(spec) + ": an IPv6 address is written [ADDR]:PORT", EINVAL};
    host = std::string(spec.substr(1, close - 1));
    port_text = spec.substr(close + 2);
    auto port = parse_port(port_text, spec);
    if (!port) return port.error();
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(*port);
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1)
      return Error{"--metrics " + std::string(spec) + ": not a numeric IPv6 address", EINVAL};
    out.len = sizeof(sockaddr_in6);
    out.text = "[" + host + "]:" + std::to_string(*port);
    return out;
  }
  const size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) {
    port_text = spec;  // a bare port
  } else {
    host = std::string(spec.substr(0, colon));
    port_text = spec.substr(colon + 1);
  }
  if (host.empty()) host = "127.0.0.1";  // loopback unless told otherwise
  auto port = parse_port(port_text, spec);
  if (!port) return port.error();
  auto* a = reinterpret_cast<sockaddr_in*>(&out.addr);
  a->sin_family = AF_INET;
  a->sin_port = htons(*port);
  if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1)
    return Error{"--metrics " + std::string(spec) +
                     ": not a numeric IPv4 address (names are not looked up; IPv6 is [ADDR]:PORT)",
                 EINVAL};
  out.len = sizeof(sockaddr_in);
  out.text = host + ":" + std::to_string(*port);
  return out;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(const ListenAddress& address) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->address_text_ = address.text;
  const int fd = socket(address.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::from_errno("--metrics: socket for " + address.text);
  server->listen_fd_ = fd;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // a restart need not wait out TIME_WAIT
  if (address.addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.addr), address.len) != 0)
    return Error::from_errno("--metrics: cannot listen on " + address.text);
  if (::listen(fd, 16) != 0) return Error::from_errno("--metrics: cannot listen on " + address.text);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0)
    server->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                      : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return server;
}

Status MetricsServer::serve(const MetricsServerLimits& limits) {
  if (daemon_) return ok_status();
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  errno = 0;
  daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &on_request, this,
                             MHD_OPTION_LISTEN_SOCKET, listen_fd_,
                             MHD_OPTION_CONNECTION_LIMIT, limits.max_connections,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.max_connections_per_ip,
                             MHD_OPTION_CONNECTION_TIMEOUT, limits.timeout_seconds,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits.connection_memory,
                             MHD_OPTION_END);
  if (!daemon_) return Error::from_errno("--metrics: serving on " + address_text_, errno ? errno : EINVAL);
  listen_fd_ = -1;  // libmicrohttpd's now, closed by MHD_stop_daemon
  return ok_status();
}

MetricsServer::~MetricsServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

uint16_t MetricsServer::port() const { return port_; }

void MetricsServer::publish(std::string page) {
  std::lock_guard lock(mu_);
  page_ = std::move(page);
}

std::string MetricsServer::page() const {
  std::lock_guard lock(mu_);
  return page_;
}

}  // namespace mountleak
